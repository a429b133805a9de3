import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { parse as parseCookies, serialize as serializeCookie } from 'cookie'
import type { Logger } from '../types.js'
import { type Credential, createGate } from './gate.js'

/**
 * Who may use the console: a Bearer token (API, scripts, Prometheus), or a
 * session cookie issued by the login form (the browser). The cookie is
 * signed with a key derived from the token, so it needs no server-side
 * state, every replica with the same token accepts it, and changing the
 * token ends every session. A cookie is ambient (the browser sends it on
 * its own), so every state-changing request it authenticates must also carry
 * the CSRF token bound to that session; a Bearer header is not ambient and
 * needs none.
 */

export const SESSION_COOKIE = 'audiorista_session'
const SESSION_TTL = 12 * 3_600_000

export interface Session {
  nonce: string
  issuedAt: number
}

export type Principal = { via: 'bearer' } | { via: 'cookie'; session: Session; csrf: string }

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal
  }
}

export interface Auth {
  /**
   * The one gate in front of everything that reads the admin token: pages,
   * the login form, the API and its stream, `/metrics`. Sets `req.principal`
   * for a valid token or session; refuses a wrong Bearer token with 401 on
   * every route; counts refused credentials (answers that end 401) per
   * client address, and past the limit answers 429 until the window ends, to
   * all but a signed session (which cannot be guessed, so a stranger's
   * guessing never locks out the people already signed in). Refusals go to
   * `next(err)` as `HttpError`s, so pages answer them as pages.
   */
  gate: RequestHandler
  /** The token typed into the login form, compared in constant time. */
  checkToken(candidate: string): boolean
  /** Starts a session: sets the cookie on `res`. */
  login(req: Request, res: Response): void
  logout(req: Request, res: Response): void
  /** False for a cookie-authenticated state change without the session's CSRF token (`x-csrf-token` or a `_csrf` field). */
  csrfOk(req: Request): boolean
  /** Refuses what `csrfOk` refuses, with 403 in JSON (the API; pages answer with a page). */
  csrf: RequestHandler
  /** Stops the failure counter's clean-up timer. */
  close(): void
}

export interface AuthOptions {
  token: string
  /** Path the cookie is sent to (the console's mount point). */
  cookiePath: string
  /** Refused credentials allowed per client per `failureWindow` ms (default 10 per 15 minutes). */
  failureLimit?: number
  failureWindow?: number
  /** Where a client that reaches the limit is reported, once per window. */
  log?: Pick<Logger, 'warn'>
  now?: () => number
}

export function createAuth({ token, cookiePath, failureLimit = 10, failureWindow = 15 * 60_000, log, now = Date.now }: AuthOptions): Auth {
  const tokenDigest = digest(token)
  const key = createHmac('sha256', token).update('audiorista-runner session v1').digest()
  const sign = (text: string) => createHmac('sha256', key).update(text).digest('base64url')
  const csrfOf = (session: Session) => sign(`csrf.${session.nonce}`)
  const checkToken = (candidate: string) => timingSafeEqual(digest(candidate), tokenDigest)

  function csrfOk(req: Request): boolean {
    const p = req.principal
    if (!p || p.via === 'bearer' || SAFE.has(req.method)) return true
    const sent = req.get('x-csrf-token') ?? (req.body as Record<string, unknown> | undefined)?._csrf
    return typeof sent === 'string' && same(sent, p.csrf)
  }

  function readSession(req: Request): Session | undefined {
    const value = parseCookies(req.headers.cookie ?? '')[SESSION_COOKIE]
    const match = value ? /^v1\.(\d{1,16})\.([\w-]{16,64})\.([\w-]{43})$/.exec(value) : null
    if (!match) return undefined
    const [, issued, nonce, mac] = match as unknown as [string, string, string, string]
    if (!same(mac, sign(`${issued}.${nonce}`))) return undefined
    const issuedAt = Number(issued)
    if (now() - issuedAt > SESSION_TTL || issuedAt > now() + 60_000) return undefined
    return { nonce, issuedAt }
  }

  function readCredential(req: Request): Credential {
    const header = req.headers.authorization
    // Only a Bearer header is an attempt at our token: another scheme (a proxy's Basic auth) leaves the cookie in charge.
    if (header !== undefined && /^Bearer(?:\s|$)/i.test(header)) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
      return match && checkToken(match[1]!) ? { kind: 'token' } : { kind: 'wrong-token' }
    }
    // A cookie that fails verification is no guess at the token (its MAC is HMAC-SHA256): it counts
    // like no credential, where it is answered 401 (API, metrics), not where a page sends it to the form.
    const session = readSession(req)
    return session ? { kind: 'session', principal: { via: 'cookie', session, csrf: csrfOf(session) } } : { kind: 'none' }
  }
  const gate = createGate({ read: readCredential, limit: failureLimit, window: failureWindow, log, now })

  const cookie = (req: Request, value: string, maxAge: number) =>
    serializeCookie(SESSION_COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      path: cookiePath || '/',
      maxAge,
      // Behind a TLS proxy the request arrives as http; the proxy says what the browser used.
      secure: req.secure || req.headers['x-forwarded-proto'] === 'https',
    })

  return {
    gate: gate.handler,
    checkToken,
    login(req, res) {
      const issuedAt = now()
      const nonce = randomBytes(18).toString('base64url')
      res.append('set-cookie', cookie(req, `v1.${issuedAt}.${nonce}.${sign(`${issuedAt}.${nonce}`)}`, SESSION_TTL / 1000))
    },
    logout(req, res) {
      res.append('set-cookie', cookie(req, '', 0))
    },
    csrfOk,
    csrf(req: Request, res: Response, next: NextFunction) {
      if (csrfOk(req)) return next()
      res.status(403).json({
        error: { code: 'csrf', message: 'missing or wrong CSRF token: reload the page and try again (scripts: use Authorization: Bearer)' },
      })
    },
    close: gate.close,
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** Constant-time comparison of two strings of any length. */
function same(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}
