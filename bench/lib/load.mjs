/**
 * The load generators, each in its own process so that it never shares the
 * measured server's event loop (the cores it shares all the same: the
 * machine notes say so):
 *
 * - load(): Debian's `wrk` (C, one thread) with bench/load/wrk.lua, as many
 *   requests as the server answers over N connections, or exactly `amount`
 *   distinct ones (a burst);
 * - paced(): bench/load/paced.mjs, evenly spaced requests at a fixed rate,
 *   each latency counted from when its request was due.
 *
 * Every request carries the seed payload (test/fixtures/title-ready.json)
 * with its `id` changed, so no two deliveries are alike and dedupe never
 * short-cuts the store. `url` may be a list (replicas): each gets an equal
 * share of the connections, of `amount` and of the rate, from its own
 * generator process, and the results are added up (latency: the worst
 * replica's percentile).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { spawnTracked } from './children.mjs'
import { byClass } from './stats.mjs'
import { BENCH_KEY } from './runner.mjs'

export const FIXTURE_PATH = fileURLToPath(new URL('../../test/fixtures/title-ready.json', import.meta.url))
const FIXTURE = readFileSync(FIXTURE_PATH, 'utf8')
if (!/"id":\s*4211/.test(FIXTURE)) throw new Error('test/fixtures/title-ready.json no longer has "id": 4211; update bench/load/*')
/** Size of the fixture as stored (each request differs by a few bytes of id). */
export const PAYLOAD_BYTES = Buffer.byteLength(FIXTURE)
const WRK_SCRIPT = fileURLToPath(new URL('../load/wrk.lua', import.meta.url))
const PACED = fileURLToPath(new URL('../load/paced.mjs', import.meta.url))
const PATH = '/webhooks/title-ready'

// Distinct ids across calls: a random start, then a block of a million per generator process.
let seq = 1_000_000 + Math.floor(Math.random() * 900_000_000)
const nextSeed = () => (seq += 1_000_000)

/** Runs a generator process to its end; resolves with its last JSON line. `onLine` sees every line. */
function runGenerator(command, args, { onLine } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    // The unfinished last line, for onLine.
    let partial = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) onLine?.(line, child)
    })
    child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk))
    void child.exited.then(({ code, signal, error }) => {
      const json = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop()
      if (error) return reject(error)
      if (!json) return reject(new Error(`${command} exited (${code ?? signal}) without a result: ${(err || out).trim().slice(-500)}`))
      resolve(JSON.parse(json))
    })
  })
}

const share = (total, parts, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0)

/**
 * wrk against `POST {url}/webhooks/title-ready` for `duration` seconds, or
 * until exactly `amount` distinct requests were answered 202 (requests sent
 * after that repeat one already stored: at most one per connection).
 * Resolves with req/s (2xx per second of the run), status counts and
 * latency percentiles in ms (wrk's histogram: microsecond resolution).
 */
export async function load({ url, connections = 32, duration, amount, onStart }) {
  const urls = Array.isArray(url) ? url : [url]
  onStart?.()
  const runs = await Promise.all(
    urls.map((u, i) => {
      const args = [
        '-t1',
        `-c${share(connections, urls.length, i)}`,
        `-d${amount ? 600 : duration}s`,
        '--timeout',
        '10s',
        '-s',
        WRK_SCRIPT,
        u,
        '--',
        FIXTURE_PATH,
        BENCH_KEY,
        PATH,
        String(nextSeed()),
        ...(amount ? [String(share(amount, urls.length, i))] : []),
      ]
      // A burst: wrk runs for its whole -d, so it is stopped once its thread says the last request was answered.
      const onLine = amount ? (line, child) => line === 'limit reached' && child.kill('SIGINT') : undefined
      return runGenerator('wrk', args, { onLine })
    }),
  )
  const ms = (us) => us / 1000
  const sum = (f) => runs.reduce((s, r) => s + f(r), 0)
  const status = (code) => sum((r) => r.statuses[code] ?? 0)
  const ok = sum((r) => byClass(r.statuses).ok)
  const seconds = Math.max(...runs.map((r) => r.duration_us)) / 1e6
  return {
    rps: ok / seconds,
    ok,
    accepted: status(202),
    duplicates: status(200),
    non2xx: sum((r) => r.errors.status),
    errors: sum((r) => r.errors.connect + r.errors.read + r.errors.write),
    timeouts: sum((r) => r.errors.timeout),
    duration: seconds,
    latency: {
      p50: Math.max(...runs.map((r) => ms(r.latency_us.p50))),
      p99: Math.max(...runs.map((r) => ms(r.latency_us.p99))),
      p99_9: Math.max(...runs.map((r) => ms(r.latency_us.p99_9))),
      max: Math.max(...runs.map((r) => ms(r.latency_us.max))),
    },
  }
}

/**
 * bench/load/paced.mjs: `rate` requests/s evenly spaced for `duration`
 * seconds after `warmup` seconds at the same rate (not counted), over at most
 * `connections` keep-alive sockets. Latencies are exact, in ms, each from
 * when its request was due.
 */
export async function paced({ url, rate, duration, warmup = 1, connections = 32 }) {
  const urls = Array.isArray(url) ? url : [url]
  const runs = await Promise.all(
    urls.map((u, i) =>
      runGenerator(process.execPath, [
        PACED,
        JSON.stringify({
          url: u,
          path: PATH,
          key: BENCH_KEY,
          rate: rate / urls.length,
          duration,
          warmup,
          connections: share(connections, urls.length, i),
          seed: nextSeed(),
        }),
      ]),
    ),
  )
  const sum = (f) => runs.reduce((s, r) => s + f(r), 0)
  const ok = sum((r) => byClass(r.statuses).ok)
  const worst = (key) => Math.max(...runs.map((r) => r.latency[key] ?? Number.NaN))
  return {
    rps: ok / duration,
    ok,
    sent: sum((r) => r.sent),
    non2xx: sum((r) => byClass(r.statuses).other),
    errors: sum((r) => r.errors),
    latency: { p50: worst('p50'), p99: worst('p99'), p99_9: worst('p99_9'), max: worst('max') },
  }
}
