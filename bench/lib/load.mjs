/**
 * The load generator: autocannon, driven from here. Every request carries the
 * seed payload (test/fixtures/title-ready.json) with its `id` changed, so no
 * two deliveries are alike and dedupe never short-cuts the store.
 */
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { BENCH_KEY } from './runner.mjs'

const FIXTURE = readFileSync(new URL('../../test/fixtures/title-ready.json', import.meta.url), 'utf8')
const ID = /"id":\s*4211/
if (!ID.test(FIXTURE)) throw new Error('test/fixtures/title-ready.json no longer has "id": 4211; update bench/lib/load.mjs')
const [HEAD, TAIL] = FIXTURE.split(ID)

// Unique across rounds and processes: a random start, then counting up.
let seq = Math.floor(Math.random() * 2 ** 40)

/** The seed payload with the next distinct id. */
export function nextBody() {
  return `${HEAD}"id": ${++seq}${TAIL}`
}

/** Size of the fixture as stored (each request differs by a few bytes of id). */
export const PAYLOAD_BYTES = Buffer.byteLength(FIXTURE)

/**
 * One autocannon run against `POST {url}/webhooks/title-ready`. `url` may be
 * a list (replicas): autocannon gives connection i the URL i % length, so
 * each gets an equal share of the connections (and of `amount`, `overallRate`). Latencies are
 * kept exactly (every response, in ms) rather than read from autocannon's
 * integer-millisecond histogram. Resolves with req/s (2xx per second), the
 * status counts and latency percentiles.
 */
export function load({ url, connections = 32, duration, amount, overallRate, onStart } = {}) {
  const latencies = []
  let startedAt
  let lastAt
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        ...(amount ? { amount } : { duration }),
        ...(overallRate ? { overallRate, ignoreCoordinatedOmission: true } : {}),
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: '/webhooks/title-ready',
            headers: { 'content-type': 'application/json', 'x-audiorista-key': BENCH_KEY },
            setupRequest: (req) => ({ ...req, body: nextBody() }),
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err)
        const ok = result['2xx']
        // autocannon's own duration is rounded up to its 1 s sampling tick; time it here instead.
        const seconds = startedAt !== undefined && lastAt !== undefined ? (lastAt - startedAt) / 1000 : result.duration
        resolve({
          rps: ok / seconds,
          ok,
          accepted: result.statusCodeStats['202']?.count ?? 0,
          duplicates: result.statusCodeStats['200']?.count ?? 0,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          duration: seconds,
          latency: percentiles(latencies),
        })
      },
    )
    instance.on('response', (_client, status, _bytes, ms) => {
      lastAt = performance.now()
      if (status >= 200 && status < 300) latencies.push(ms)
    })
    instance.once('start', () => {
      startedAt = performance.now()
      onStart?.()
    })
  })
}

/** p50/p99/p99.9/max of a list of ms. */
export function percentiles(values) {
  const sorted = Float64Array.from(values).sort()
  const at = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN)
  return { count: sorted.length, p50: at(50), p99: at(99), p99_9: at(99.9), max: sorted.length ? sorted[sorted.length - 1] : NaN }
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
