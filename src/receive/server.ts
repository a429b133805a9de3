import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { ResolvedConfig } from '../config/resolved.js'
import type { Receiver } from './receiver.js'
import { sendJson } from './respond.js'

export interface HttpServerOptions {
  config: Pick<ResolvedConfig, 'server'>
  receiver: Receiver
  /** True when the store is open and the runner accepts deliveries. */
  isReady: () => boolean
}

/**
 * One `node:http` server: webhook routes go to the receiver; `/healthz`,
 * `/readyz` and 404s are answered here. Three fixed routes need no router,
 * and leaving one out keeps it off the start-up path (see BENCHMARKS.md).
 * Timeouts make sure slow or idle clients cannot pin sockets.
 */
export function createHttpServer({ config, receiver, isReady }: HttpServerOptions): Server {
  const other = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!
    if (path === '/healthz' || path === '/readyz') {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendJson(res, 405, { error: { code: 'method_not_allowed', message: `use GET ${path}` } }, { allow: 'GET, HEAD' })
      if (path === '/healthz') return sendJson(res, 200, { ok: true })
      const ready = isReady()
      return sendJson(res, ready ? 200 : 503, { ready }, ready ? {} : { 'retry-after': '5' })
    }
    sendJson(res, 404, {
      error: {
        code: 'not_found',
        message: `nothing at ${req.method} ${path.slice(0, 100)}; webhooks go to POST ${config.server.basePath}/{event}`,
      },
    })
  }

  const server = createServer(
    {
      requestTimeout: config.server.requestTimeout,
      headersTimeout: config.server.headersTimeout,
      keepAliveTimeout: config.server.keepAliveTimeout,
      // Check for expired header and request timeouts often, not every 30 s.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, config.server.headersTimeout / 2)),
    },
    (req, res) => {
      if (!receiver.handle(req, res)) other(req, res)
    },
  )
  // A socket that sends nothing at all is closed too, not only slow requests.
  server.setTimeout(config.server.requestTimeout)
  return server
}

/** The local address to reach a server listening on `host`: a wildcard host is reached on loopback. */
export function localUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`
}
