import express, { type ErrorRequestHandler, type Router } from 'express'
import { describe } from './describe-error.js'
import type { Auth } from './auth.js'
import { actionRoutes } from './page-actions.js'
import { eventsRoutes } from './page-events.js'
import { loginRoutes, readableCsrf, requireSession } from './page-login.js'
import { overviewRoutes } from './page-overview.js'
import { recipesRoutes } from './page-recipes.js'
import { createRenderer, createViews, type Kit, type Renderer } from './page-render.js'
import { simulateRoutes } from './page-simulate.js'
import { createStatic } from './page-static.js'
import type { ConsoleService } from './service.js'

export interface PagesOptions {
  service: ConsoleService
  /** Checks the admin token (`auth.gate`) and counts refusals; runs after the open static files. */
  auth: Auth
  /** Where the console is mounted: `/admin`. */
  base: string
  /** Largest form body (a pasted payload on the simulate page), bytes. */
  bodyLimit: number
}

/**
 * The dashboard: server-rendered pages that work without JavaScript (forms
 * and links), made live by one small script that re-fetches marked parts of
 * the page when the event stream says something changed. Static files and
 * the login form are open; everything else needs a session (or a Bearer
 * token), and every form post from a session carries its CSRF token. Past
 * the static files, the auth gate counts refused credentials for every page,
 * the login form included: a wrong Bearer token gets 401 here too.
 */
export function createPages({ service, auth, base, bodyLimit }: PagesOptions): Router {
  const router = express.Router()
  const assets = createStatic(base)
  const render = createRenderer(createViews(), { base, assets: assets.urls })
  const parse = express.urlencoded({ extended: false, limit: bodyLimit, parameterLimit: 100 })
  const kit: Kit = { service, render, base, form: [parse, readableCsrf(auth, render)] }

  router.use(assets.router)
  router.use((req, _res, next) => (isApi(req.path) ? next('router') : next()))
  router.use(auth.gate)
  loginRoutes(router, { auth, render, base, parse })
  router.use(requireSession(base))
  overviewRoutes(router, kit)
  eventsRoutes(router, kit)
  actionRoutes(router, kit)
  recipesRoutes(router, kit)
  simulateRoutes(router, kit)
  router.use((req, res) => {
    render.page(
      req,
      res,
      'error',
      { title: 'Not found', heading: 'Not found', status: 404, message: 'There is no such page in the console.' },
      404,
    )
  })
  router.use(pageErrors(render))
  return router
}

const isApi = (path: string) => path === '/api' || path.startsWith('/api/')

/** An error on a page is a page: its status and what went wrong. */
function pageErrors(render: Renderer): ErrorRequestHandler {
  return (err, req, res, next) => {
    const { status, message, headers } = describe(err)
    const heading = HEADINGS[status] ?? 'Error'
    if (res.headersSent) res.end()
    else render.page(req, res.set(headers), 'error', { title: heading, heading, status, message }, status)
    // The app's handler logs what went wrong on our side (it sees the answer already sent and adds nothing).
    if (status >= 500) next(err)
  }
}

const HEADINGS: Record<number, string> = {
  400: 'That request does not work',
  401: 'Wrong token',
  403: 'Refused',
  404: 'Not found',
  409: 'Not possible right now',
  413: 'Too large',
  429: 'Too many refused tokens',
  500: 'Something went wrong',
  503: 'Not available right now',
}
