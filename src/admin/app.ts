import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express'
import helmet from 'helmet'
import type { Core } from '../core.js'
import type { Engine } from '../queue/engine.js'
import { compileTrust } from '../receive/client-address.js'
import { answerHealth, notFound } from '../receive/server.js'
import type { Backend } from '../store/backend.js'
import type { Telemetry } from '../telemetry.js'
import type { Logger } from '../types.js'
import { createApi } from './api.js'
import { createAuth } from './auth.js'
import { createMetrics } from './metrics.js'
import { createPages } from './pages.js'
import { describe } from './describe-error.js'
import { createConsoleService } from './service.js'
import { createStream, type Stream } from './stream.js'

export interface AdminAppOptions {
  /** The runner: its config (with the generated key and admin token) and recipes in effect, which a reload swaps. */
  core: Pick<Core, 'config' | 'setup' | 'lastReload'>
  store: Backend
  engine: Pick<Engine, 'stats'>
  telemetry: Telemetry
  log: Logger
  isReady: () => boolean
}

export interface AdminApp {
  /** Everything on the runner's port but the webhooks: health, `/metrics`, `/admin`, 404s. */
  app: Express
  /** Ends live streams and metric collection (shutting down). */
  close(): void
}

/** Where the console lives; the session cookie is scoped to it. */
export const ADMIN_PATH = '/admin'

/**
 * The express app behind the webhook hot path. `/admin` (dashboard and JSON
 * API) and `/metrics` are behind the admin token; `admin.enabled: false`
 * leaves only health and, with `metrics.public`, metrics.
 */
export function createAdminApp({ core, store, engine, telemetry, log, isReady }: AdminAppOptions): AdminApp {
  const app = express()
  app.disable('x-powered-by')
  // Settings that need a restart: the ones the runner started with.
  const { config } = core
  // req.ip: the client the failure limit counts, as the receiver's logs name it.
  app.set('trust proxy', compileTrust(config.server.trustProxy))
  const metrics = createMetrics({
    telemetry,
    recipes: (name) => core.setup.plan.byName.has(name),
    actions: (name) => core.setup.registry.get(name) !== undefined,
    queue: () => store.stats(),
    engine: () => engine.stats(),
  })
  const token = config.admin.enabled ? config.admin.token : undefined
  const auth = token ? createAuth({ token, cookiePath: ADMIN_PATH, log }) : undefined

  // Every method: answerHealth says 405 to all but GET and HEAD, as before the app is mounted.
  app.all(['/healthz', '/readyz'], (req, res) => void answerHealth(req, res, isReady))
  if (config.metrics.public || auth) {
    const guard: RequestHandler[] = config.metrics.public || !auth ? [] : [auth.gate, requireBearerOrSession]
    app.get('/metrics', ...guard, async (_req, res) => {
      res
        .set('content-type', metrics.contentType)
        .set('cache-control', 'no-store')
        .send(await metrics.render())
    })
  }
  // The live view is the console's: with only public metrics there is none.
  let stream: Stream | undefined
  if (auth) {
    stream = createStream({ telemetry, ...(store.driver === 'sqlite' ? {} : { shared: store }) })
    const admin = express.Router()
    admin.use(securityHeaders)
    const service = createConsoleService({ store, engine, live: core })
    // The pages run the same gate after their open static files, so its refusals there are pages.
    admin.use('/api', auth.gate, requireBearerOrSession, auth.csrf, createApi({ service, stream, bodyLimit: config.server.bodyLimit }))
    admin.use(createPages({ service, auth, base: ADMIN_PATH, bodyLimit: config.server.bodyLimit }))
    app.use(ADMIN_PATH, admin)
  }
  app.use((req, res) => notFound(req, res, config.server.basePath))
  app.use(errors(log))
  return {
    app,
    close() {
      stream?.close()
      metrics.close()
      auth?.close()
    },
  }
}

/** The API and metrics answer 401 in JSON; pages redirect to the login form instead (pages.ts). */
const requireBearerOrSession: RequestHandler = (req, res, next) => {
  if (req.principal) return next()
  res
    .status(401)
    .set('www-authenticate', 'Bearer realm="audiorista-runner"')
    .json({
      error: {
        code: 'unauthorized',
        message: 'send Authorization: Bearer <admin token> (AUDIORISTA_ADMIN_TOKEN, or admin-token in the data folder)',
      },
    })
}

/**
 * A strict Content-Security-Policy: scripts and styles only from our own
 * files, nothing inline, no framing. Pages and answers hold store data, so
 * nothing is cached; hashed static files set their own caching.
 */
const securityHeaders: RequestHandler[] = [
  helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    // HSTS is the TLS proxy's to decide: this server may be reached on plain http on a private network.
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'same-origin' },
  }),
  (_req, res, next) => {
    res.set('cache-control', 'no-store')
    next()
  },
]

/** Errors in the receiver's shape: `{"error":{"code","message"}}`; unexpected ones are logged, not shown. */
function errors(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { status, code, message, headers } = describe(err)
    if (status >= 500) log.error({ err, path: req.path }, 'console request failed')
    if (res.headersSent) return void res.end()
    res.status(status).set(headers).json({ error: { code, message } })
  }
}
