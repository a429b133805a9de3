/**
 * The container's health check (Dockerfile HEALTHCHECK, compose.yaml):
 * exits 0 when the runner in this container answers `/readyz` with 200,
 * 1 otherwise. It asks on loopback, on PORT (default 8787), over HTTP, and
 * over HTTPS when the runner terminates TLS itself (`server.tls`): the
 * certificate is for the public name, not 127.0.0.1, so it is not checked
 * here, on a connection that never leaves the container. Plain node, no
 * config loaded: it runs every 30 s and must cost nothing.
 */
import { get as httpGet, type IncomingMessage } from 'node:http'
import { get as httpsGet } from 'node:https'

const port = Number(process.env.PORT) || 8787
const options = { host: '127.0.0.1', port, path: '/readyz', timeout: 4000, rejectUnauthorized: false }

function ask(get: typeof httpGet): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(options, (res: IncomingMessage) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
  })
}

// An HTTPS listener answers plain HTTP with a closed socket or a 400, never 200: one of the two decides.
const ready = (await ask(httpGet)) || (await ask(httpsGet as typeof httpGet))
process.exit(ready ? 0 : 1)
