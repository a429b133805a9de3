/**
 * The paced load generator, in its own process (bench/lib/load.mjs starts
 * it): POSTs the fixture with a distinct `id` at an even rate, request i due
 * at t0 + i / rate, over at most `connections` keep-alive sockets. wrk has no
 * pacing and autocannon releases a second's quota at once, so neither gives
 * evenly spaced arrivals. Each latency runs from when the request was due,
 * not from when a socket was free to send it: a server that falls behind
 * sees its queueing counted (no coordinated omission).
 *
 *   node bench/load/paced.mjs '{"url","path","key","rate","duration","warmup","connections","seed"}'
 * The first `warmup` seconds are sent at the same rate and not counted (the
 * sockets open, both sides' code warms up). Prints one line of JSON: the
 * measured requests' statuses, errors and exact latency percentiles (ms).
 */
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { percentiles } from '../lib/stats.mjs'

const { url, path, key, rate, duration, warmup = 0, connections, seed } = JSON.parse(process.argv[2])
const fixture = readFileSync(new URL('../../test/fixtures/title-ready.json', import.meta.url), 'utf8')
const [head, tail] = fixture.split(/"id":\s*4211/)
const agent = new Agent({ keepAlive: true, maxSockets: connections })
const { hostname, port } = new URL(url)

const skip = Math.round(rate * warmup)
const total = skip + Math.round(rate * duration)
const latencies = new Float64Array(total - skip)
const statuses = {}
let errors = 0
let sent = 0
let answered = 0
let lastAt = 0

function send(i, dueAt) {
  const body = `${head}"id": ${seed + i}${tail}`
  const req = request(
    {
      agent,
      hostname,
      port,
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-audiorista-key': key },
    },
    (res) => {
      res.resume()
      res.on('end', () => {
        const now = performance.now()
        if (i >= skip) {
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
          if (res.statusCode >= 200 && res.statusCode < 300) latencies[answered++] = now - dueAt
          lastAt = now
        }
        finish()
      })
    },
  )
  req.on('error', () => {
    if (i >= skip) errors++
    finish()
  })
  req.end(body)
}

let settled = 0
function finish() {
  if (++settled < total) return
  const { p50, p99, p99_9, max } = percentiles(latencies.subarray(0, answered))
  const seconds = (lastAt - (t0 + skip * interval)) / 1000
  // No answer at all: the percentiles are NaN, which JSON writes as null.
  process.stdout.write(`${JSON.stringify({ sent: sent - skip, answered, statuses, errors, seconds, latency: { p50, p99, p99_9, max } })}\n`)
  agent.destroy()
}

// Timers fire about every millisecond; each tick sends every request due by then, at its own due time.
const t0 = performance.now()
const interval = 1000 / rate
function tick() {
  const now = performance.now()
  while (sent < total && t0 + sent * interval <= now) {
    send(sent, t0 + sent * interval)
    sent++
  }
  if (sent < total) setTimeout(tick, Math.max(0, t0 + sent * interval - performance.now()))
}
tick()
