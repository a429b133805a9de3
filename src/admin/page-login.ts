import type { RequestHandler, Router } from 'express'
import type { Auth } from './auth.js'
import type { Renderer } from './page-render.js'

/**
 * Signing in and out with the admin token, and the session check before
 * every other page. A token refused in the form answers 401, which the auth
 * gate in front of these routes counts against the same per-client limit as
 * a wrong Bearer token anywhere (gate.ts).
 */

export interface LoginOptions {
  auth: Auth
  render: Renderer
  base: string
  /** Form body parsing. */
  parse: RequestHandler
}

export function loginRoutes(router: Router, { auth, render, base, parse }: LoginOptions): void {
  router.get('/login', (req, res) => {
    const next = safeNext(req.query.next, base)
    if (req.principal) return res.redirect(303, next)
    render.page(req, res, 'login', { title: 'Sign in', next })
  })
  router.post('/login', parse, (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    const next = safeNext(body.next, base)
    if (typeof body.token === 'string' && auth.checkToken(body.token)) {
      auth.login(req, res)
      return res.redirect(303, next)
    }
    render.page(req, res, 'login', { title: 'Sign in', next, error: 'That token is not right' }, 401)
  })
  router.post('/logout', parse, readableCsrf(auth, render), (req, res) => {
    auth.logout(req, res)
    res.redirect(303, `${base}/login`)
  })
}

/** Pages need a session (or a Bearer token): else the login form, coming back here afterwards. */
export function requireSession(base: string): RequestHandler {
  return (req, res, next) => {
    if (req.principal) return next()
    // A form posted after the session ended cannot be repeated by a redirect: start from the overview.
    const back = req.method === 'GET' || req.method === 'HEAD' ? req.originalUrl : base
    res.redirect(303, `${base}/login?next=${encodeURIComponent(back)}`)
  }
}

const ORIGIN = 'http://console.invalid'

/** Where to go after signing in: a console page on this server, never another site (open redirect). */
export function safeNext(value: unknown, base: string): string {
  const home = base || '/'
  if (typeof value !== 'string' || value.length > 2_000 || !value.startsWith('/') || /[\\\s\p{Cc}]/u.test(value)) return home
  let url: URL
  try {
    url = new URL(value, ORIGIN)
  } catch {
    return home
  }
  const inside = url.pathname === base || url.pathname.startsWith(`${base}/`)
  if (url.origin !== ORIGIN || !inside || url.pathname.startsWith(`${base}/api/`) || url.pathname === `${base}/login`) return home
  return `${url.pathname}${url.search}`
}

/** The CSRF check of a page's form: a refusal (a tab left open across sessions) is a page, not JSON. */
export function readableCsrf(auth: Auth, render: Renderer): RequestHandler {
  return (req, res, next) => {
    if (auth.csrfOk(req)) return next()
    const message =
      'This form is out of date or did not come from this console (its CSRF token is missing or wrong). Go back, reload the page and try again.'
    render.page(req, res, 'error', { title: 'Refused', heading: 'Refused', status: 403, message }, 403)
  }
}
