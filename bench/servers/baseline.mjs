/**
 * The baseline: a bare `node:http` server that reads the body, parses the
 * JSON and answers 202 with a small JSON body. No store, no checks: the
 * ceiling the runner's durable ack is compared with.
 *
 * With a MODE it is a floor under that target instead: the baseline plus
 * only what the runner's B row must do per delivery, written as plainly as
 * Node allows, so the ack bench can show what each costs by itself:
 *
 * - `store`: before the 202, the body is inserted into a SQLite file (WAL,
 *   synchronous NORMAL, the runner's settings) in one transaction per tick
 *   (group commit), as the runner's durable ack does;
 * - `step`: after the 202, one POST of the body to the sink (keep-alive
 *   agent, at most 16 at once), as the runner's one `http` step per event;
 * - `both`: the two.
 *
 * No dedupe, no schedule, no retry, no record of the step: a floor, not a
 * runner.
 *
 *   node bench/servers/baseline.mjs PORT [MODE SINK_URL DB_PATH]
 */
import { Agent, createServer, request } from 'node:http'

const [port, mode = 'none', sinkUrl, dbPath] = process.argv.slice(2)
const store = mode === 'store' || mode === 'both'
const step = mode === 'step' || mode === 'both'
let seq = 0

let insert
if (store) {
  // Loaded only for a floor that stores: the baseline itself stays bare.
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(dbPath)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT NOT NULL, received_at INTEGER NOT NULL)')
  const stmt = db.prepare('INSERT INTO events (body, received_at) VALUES (?, ?)')
  const commit = db.transaction((batch) => batch.map((w) => stmt.run(w.body, w.at).lastInsertRowid))
  let pending = []
  insert = (body) =>
    new Promise((resolve) => {
      if (pending.length === 0)
        setImmediate(() => {
          const batch = pending
          pending = []
          const ids = commit(batch)
          batch.forEach((w, i) => {
            w.resolve(ids[i])
          })
        })
      pending.push({ body, at: Date.now(), resolve })
    })
}

let runStep
if (step) {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 })
  const sink = new URL(sinkUrl)
  let steps = 0
  runStep = (body) => {
    const n = ++steps
    const req = request(
      {
        agent,
        hostname: sink.hostname,
        port: sink.port,
        path: `/build?n=${n}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `floor-${n}` },
      },
      (res) => res.resume(),
    )
    req.on('error', () => {})
    req.end(body)
  }
}

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(req.url === '/readyz' ? 200 : 404, { 'content-type': 'application/json' }).end('{}')
    return
  }
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8')
    let body
    try {
      body = JSON.parse(text)
    } catch {
      res.writeHead(400).end()
      return
    }
    const accepted = (id) => {
      const answer = JSON.stringify({ accepted: true, duplicate: false, id: `evt_${id}` })
      res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) })
      res.end(answer)
      runStep?.(text)
    }
    if (store) insert(text).then(accepted)
    else accepted(typeof body === 'object' ? ++seq : 0)
  })
})
server.keepAliveTimeout = 5_000
server.listen(Number(port), '127.0.0.1')
process.on('SIGTERM', () => server.close(() => process.exit(0)))
