import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { ipKeyGenerator, MemoryStore } from 'express-rate-limit'
import { parse as parseCookies, serialize as serializeCookie } from 'cookie'

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
  /** Sets `req.principal` when the request carries a valid token or session; never answers. */
  identify: RequestHandler
  /** The token typed into the login form, compared in constant time. */
  checkToken(candidate: string): boolean
  /** Starts a session: sets the cookie on `res`. */
  login(req: Request, res: Response): void
  logout(req: Request, res: Response): void
  /** False for a cookie-authenticated state change without the session's CSRF token (`x-csrf-token` or a `_csrf` field). */
  csrfOk(req: Request): boolean
  /** Refuses what `csrfOk` refuses, with 403 in JSON (the API; pages answer with a page). */
  csrf: RequestHandler
  /**
   * Counts refused credentials (answers that end 401) per client address;
   * past the limit, answers 429 until the window ends, to all but a signed
   * session (which cannot be guessed, so a stranger's guessing never locks
   * out the people already signed in).
   */
  limitFailures: RequestHandler
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
  now?: () => number
}

export function createAuth({ token, cookiePath, failureLimit = 10, failureWindow = 15 * 60_000, now = Date.now }: AuthOptions): Auth {
  const tokenDigest = digest(token)
  const key = createHmac('sha256', token).update('audiorista-runner session v1').digest()
  const sign = (text: string) => createHmac('sha256', key).update(text).digest('base64url')
  const csrfOf = (session: Session) => sign(`csrf.${session.nonce}`)
  const checkToken = (candidate: string) => timingSafeEqual(digest(candidate), tokenDigest)
  // express-rate-limit's store (windows, expiry, clean-up), with our own rule for what counts.
  const failures = new MemoryStore()
  failures.init({ windowMs: failureWindow } as Parameters<MemoryStore['init']>[0])

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
    identify(req, _res, next) {
      const header = req.headers.authorization
      // Only a Bearer header is an attempt at our token: another scheme (a proxy's Basic auth) leaves the cookie in charge.
      if (header !== undefined && /^Bearer(?:\s|$)/i.test(header)) {
        const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
        if (match && checkToken(match[1]!)) req.principal = { via: 'bearer' }
        // A wrong token is not made up for by a cookie: it is a failed attempt.
        return next()
      }
      const session = readSession(req)
      if (session) req.principal = { via: 'cookie', session, csrf: csrfOf(session) }
      next()
    },
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
    async limitFailures(req, res, next) {
      // A signed session cannot be guessed: it is never refused here, nor counted.
      if (req.principal?.via === 'cookie') return next()
      const key = ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')
      const seen = await failures.get(key)
      // A valid Bearer token is refused too once the address is over the limit, or a refusal would tell a right guess from a wrong one.
      if (seen && seen.totalHits >= failureLimit) {
        const wait = Math.max(1, Math.ceil(((seen.resetTime?.getTime() ?? now()) - now()) / 1000))
        res.status(429).set('retry-after', String(wait))
        res.json({ error: { code: 'too_many_attempts', message: `too many refused tokens from this address; try again in ${wait} s` } })
        return
      }
      if (req.principal) return next()
      // Without credentials, or with wrong ones: counted now (parallel guesses cannot slip past the
      // check), and taken back when the answer is not a refusal, or never comes (a dropped request).
      await failures.increment(key)
      let settled = false
      const settle = (refused: boolean) => {
        if (settled) return
        settled = true
        if (!refused) void failures.decrement(key)
      }
      res.on('finish', () => settle(res.statusCode === 401))
      res.on('close', () => settle(false))
      next()
    },
    close: () => failures.shutdown(),
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
