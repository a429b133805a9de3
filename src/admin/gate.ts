import type { Request, RequestHandler, Response } from 'express'
import { ipKeyGenerator } from 'express-rate-limit'
import { HttpError } from '../errors.js'
import type { Logger } from '../types.js'
import type { Principal } from './auth.js'
import { createFailureLimit } from './failure-limit.js'

/** What a request presents: a Bearer header decides alone (a wrong token is not made up for by a cookie). */
export type Credential =
  | { kind: 'none' }
  | { kind: 'token' }
  | { kind: 'wrong-token' }
  | { kind: 'session'; principal: Extract<Principal, { via: 'cookie' }> }

export interface GateOptions {
  /** Reads and verifies what the request presents. */
  read(req: Request): Credential
  /** Refusals allowed per client per `window` ms. */
  limit: number
  window: number
  log?: Pick<Logger, 'warn'> | undefined
  now: () => number
}

export interface Gate {
  handler: RequestHandler
  close(): void
}

/**
 * The one place the admin token is checked, whatever route it comes to: one
 * failure limit per client address (`req.ip`, which `server.trustProxy`
 * decides). See `Auth.gate`.
 */
export function createGate({ read, limit, window, log, now }: GateOptions): Gate {
  const failures = createFailureLimit({ limit, window, now })

  /** Counted now (parallel guesses cannot slip past the check); given back unless the answer is a 401. */
  function count(req: Request, res: Response, client: string): HttpError | undefined {
    const admission = failures.admit(client)
    if (admission.kind === 'over') return tooMany(admission.retryAfter)
    const { attempt } = admission
    res.on('finish', () => {
      const refused = res.statusCode === 401
      attempt.settle(refused)
      if (refused && failures.reached(client))
        log?.warn({ client: req.ip, limit, windowMs: window }, 'too many refused admin tokens from one address: 429 until the window ends')
    })
    // A dropped request was never answered: not a refusal.
    res.on('close', () => attempt.settle(false))
  }

  const handler: RequestHandler = (req, res, next) => {
    const credential = read(req)
    // A signed session cannot be guessed: it is never refused here, nor counted.
    if (credential.kind === 'session') {
      req.principal = credential.principal
      return next()
    }
    const client = ipKeyGenerator(req.ip ?? 'unknown')
    if (credential.kind === 'token') {
      // The right token is refused too once the address is over the limit, or a refusal would tell a right guess from a wrong one.
      const wait = failures.wait(client)
      if (wait > 0) return next(tooMany(wait))
      req.principal = { via: 'bearer' }
      return next()
    }
    const refused = count(req, res, client)
    next(refused ?? (credential.kind === 'wrong-token' ? wrongToken() : undefined))
  }
  return { handler, close: () => failures.close() }
}

/** A wrong Bearer token is a script's: refused on every route, pages included, never sent to the login form. */
function wrongToken(): HttpError {
  return new HttpError(
    401,
    'unauthorized',
    'the Bearer token is not the admin token: send Authorization: Bearer <admin token> (AUDIORISTA_ADMIN_TOKEN, or admin-token in the data folder)',
    { 'www-authenticate': 'Bearer realm="audiorista-runner", error="invalid_token"' },
  )
}

function tooMany(ms: number): HttpError {
  const wait = Math.max(1, Math.ceil(ms / 1000))
  return new HttpError(429, 'too_many_attempts', `too many refused tokens from this address; try again in ${wait} s`, {
    'retry-after': String(wait),
  })
}
