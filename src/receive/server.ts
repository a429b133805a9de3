import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { RESERVED_PATHS, type ResolvedConfig, type ResolvedTls } from '../config/resolved.js'
import type { Receiver } from './receiver.js'
import { sendJson } from './respond.js'

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

export interface HttpServerOptions {
  config: Pick<ResolvedConfig, 'server'>
  receiver: Receiver
  /** True when the store is open and the runner accepts deliveries. */
  isReady: () => boolean
  /** Paths answered by the app mounted later (the console, metrics): until then 503 with Retry-After. */
  later?: (path: string) => boolean
}

export interface HttpServer {
  /** `node:https` when `server.tls` is set. */
  server: Server | HttpsServer
  /** From now on every request that is not a webhook goes to `app` (express): health, console, metrics, 404s. */
  mount(app: RequestHandler): void
  /** The app will not come (it failed to load): its paths say so instead of "starting". */
  mountFailed(): void
  /** Serves this certificate from the next handshake on (a reload's); connections already open keep theirs. */
  useCertificate(tls: ResolvedTls): void
}

/**
 * One `node:http` server (`node:https` with `server.tls`, on the same
 * options and handler). Webhook routes go straight to the receiver, with
 * no router in between: they are the only routes under load. Everything
 * else goes to one express app once it is mounted; express is loaded after
 * the webhook path is ready, so the console costs the cold start nothing.
 * Until then `/healthz` and `/readyz` are answered here and the console's
 * paths get 503 with Retry-After. Timeouts make sure slow or idle clients
 * cannot pin sockets.
 */
export function createHttpServer({ config, receiver, isReady, later = () => false }: HttpServerOptions): HttpServer {
  let app: RequestHandler | undefined
  let failed = false
  const early: RequestHandler = (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    if (!later(path)) {
      if (!answerHealth(req, res, isReady)) notFound(req, res, config.server.basePath)
    } else if (failed) {
      sendJson(res, 503, { error: { code: 'console_unavailable', message: 'the console failed to load; the log says why' } })
    } else {
      const error = { code: 'starting', message: 'the console is starting; try again in a moment' }
      sendJson(res, 503, { error }, { 'retry-after': '1' })
    }
  }
  // With basePath '' every path would look like a webhook: health and the console come first then.
  const reserved = config.server.basePath === '' ? (path: string) => RESERVED.test(path) : () => false
  const options = {
    requestTimeout: config.server.requestTimeout,
    headersTimeout: config.server.headersTimeout,
    keepAliveTimeout: config.server.keepAliveTimeout,
    // Check for expired header and request timeouts often, not every 30 s.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, config.server.headersTimeout / 2)),
  }
  const handler: RequestHandler = (req, res) => {
    if (reserved(req.url ?? '/') || !receiver.handle(req, res)) (app ?? early)(req, res)
  }
  const { tls } = config.server
  // The handshake comes before the headers, so it counts against their time (Node's default is 120 s).
  const https = tls && createHttpsServer({ ...options, cert: tls.cert, key: tls.key, handshakeTimeout: options.headersTimeout }, handler)
  const server = https || createServer(options, handler)
  // A socket that sends nothing at all is closed too, not only slow requests.
  server.setTimeout(config.server.requestTimeout)
  return {
    server,
    mount(handler) {
      app = handler
    },
    mountFailed() {
      failed = true
    },
    useCertificate({ cert, key }) {
      https?.setSecureContext({ cert, key })
    },
  }
}

/**
 * Connections the kernel may hold before the server accepts them (Node's
 * default is 511). A burst of 1,000 senders connects at once while the event
 * loop is busy; past the backlog the kernel drops their handshakes, and they
 * wait for a SYN resend (1 s, 3 s, ...). The kernel caps it at
 * net.core.somaxconn (4096 on current Linux).
 */
export const LISTEN_BACKLOG = 2048

const RESERVED = new RegExp(`^/(?:${RESERVED_PATHS.join('|')})(?:[/?]|$)`)

/** `/healthz` (the process is up) and `/readyz` (the store is open and deliveries are accepted); false for other paths. */
export function answerHealth(req: IncomingMessage, res: ServerResponse, isReady: () => boolean): boolean {
  const path = (req.url ?? '/').split('?')[0]!
  if (path !== '/healthz' && path !== '/readyz') return false
  if (req.method !== 'GET' && req.method !== 'HEAD')
    sendJson(res, 405, { error: { code: 'method_not_allowed', message: `use GET ${path}` } }, { allow: 'GET, HEAD' })
  else if (path === '/healthz') sendJson(res, 200, { ok: true })
  else {
    const ready = isReady()
    sendJson(res, ready ? 200 : 503, { ready }, ready ? {} : { 'retry-after': '5' })
  }
  return true
}

/** The JSON 404 of every path that is not a route. */
export function notFound(req: IncomingMessage, res: ServerResponse, basePath: string): void {
  const path = (req.url ?? '/').split('?')[0]!
  sendJson(res, 404, {
    error: { code: 'not_found', message: `nothing at ${req.method} ${path.slice(0, 100)}; webhooks go to POST ${basePath}/{event}` },
  })
}

/** The local address to reach a server listening on `host`: a wildcard host is reached on loopback. */
export function localUrl(host: string, port: number, tls = false): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  return `${tls ? 'https' : 'http'}://${shown.includes(':') ? `[${shown}]` : shown}:${port}`
}
