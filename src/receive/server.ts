import { createServer, type Server } from 'node:http'
import express from 'express'
import type { ResolvedConfig } from '../types.js'
import type { Receiver } from './receiver.js'

export interface HttpServerOptions {
  config: Pick<ResolvedConfig, 'server'>
  receiver: Receiver
  /** True when the store is open and the runner accepts deliveries. */
  isReady: () => boolean
}

/**
 * One `node:http` server: webhook routes go straight to the receiver, the
 * rest (health, readiness, 404s) through express. Timeouts make sure slow or
 * idle clients cannot pin sockets.
 */
export function createHttpServer({ config, receiver, isReady }: HttpServerOptions): Server {
  const app = express()
  app.disable('x-powered-by')
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true })
  })
  app.get('/readyz', (_req, res) => {
    const ready = isReady()
    if (!ready) res.set('retry-after', '5')
    res.status(ready ? 200 : 503).json({ ready })
  })
  app.use((req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: `nothing at ${req.method} ${req.path.slice(0, 100)}; webhooks go to POST ${config.server.basePath}/{event}` } })
  })

  const server = createServer(
    {
      requestTimeout: config.server.requestTimeout,
      headersTimeout: config.server.headersTimeout,
      keepAliveTimeout: config.server.keepAliveTimeout,
      // Check for expired header and request timeouts often, not every 30 s.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, config.server.headersTimeout / 2)),
    },
    (req, res) => {
      if (!receiver.handle(req, res)) app(req, res)
    },
  )
  // A socket that sends nothing at all is closed too, not only slow requests.
  server.setTimeout(config.server.requestTimeout)
  return server
}
