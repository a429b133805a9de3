/**
 * The baseline: a bare `node:http` server that reads the body, parses the
 * JSON and answers 202 with a small JSON body. No store, no checks: the
 * ceiling the runner's durable ack is compared with.
 *
 *   node bench/servers/baseline.mjs PORT
 */
import { createServer } from 'node:http'

const port = Number(process.argv[2] ?? 0)
let seq = 0

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(req.url === '/readyz' ? 200 : 404, { 'content-type': 'application/json' }).end('{}')
    return
  }
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    let body
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      res.writeHead(400).end()
      return
    }
    const text = JSON.stringify({ accepted: true, duplicate: false, id: `evt_${typeof body === 'object' ? ++seq : 0}` })
    res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  })
})
server.keepAliveTimeout = 5_000
server.listen(port, '127.0.0.1')
process.on('SIGTERM', () => server.close(() => process.exit(0)))
