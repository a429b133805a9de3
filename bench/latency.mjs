/**
 * Part 2, ack latency at 2,000 requests/s offered, evenly paced
 * (bench/load/paced.mjs in its own process: request i is due at t0 + i/rate,
 * its latency counted from then). The runner in a child process with the
 * shipped-like config, on SQLite and on Redis with one replica and two (the
 * rate and the connections split between them; skipped without
 * redis-server). The bare node:http baseline is measured the same way, for
 * reference (what the generator and loopback add), and adnanh/webhook as the
 * competitor (full runs).
 *
 *   node bench/latency.mjs [--quick] [--profile] [--no-redis]
 */
import { startBaseline, startCompetitor, startSink, stopChild } from './lib/children.mjs'
import { ensureCommand } from './lib/debian.mjs'
import { paced } from './lib/load.mjs'
import { fmt, say, standalone } from './lib/report.mjs'
import { BENCH_KEY } from './lib/runner.mjs'
import { describe, REDIS_SETUPS, redisSkipReason, SQLITE, startSetup } from './lib/stores.mjs'

export const RATE = 2_000
export const TARGET_P99_MS = 10
export const TARGET_P99_9_MS = 25
const CONNECTIONS = 32

export async function latencyBench({ quick = false, profile = false, redis = true } = {}) {
  const duration = quick ? 2 : 10
  const warmup = quick ? 1 : 3
  const skipRedis = redisSkipReason({ redis })
  const skipCompetitor = quick ? 'not in quick runs' : ensureCommand('webhook')
  const setups = [SQLITE, ...(skipRedis ? [] : REDIS_SETUPS)]
  const sink = await startSink()
  const results = {}
  /** A warm-up at the same rate (the code warms up, as a long-lived runner's has), then the measured run. */
  const measure = (url) => paced({ url, rate: RATE, duration, warmup, connections: CONNECTIONS })
  let baseline
  let competitor
  try {
    baseline = await startBaseline()
    say(`latency: baseline at ${RATE} req/s offered, ${duration} s`)
    results.baseline = await measure(baseline.url)
    await stopChild(baseline.child)
    for (const setup of setups) {
      const started = await startSetup(setup, { sinkUrl: sink.url, profile, label: 'latency' })
      try {
        say(`latency: runner on ${describe(setup)} at ${RATE} req/s offered, ${duration} s`)
        results[setup.key] = await measure(started.url)
      } finally {
        await started.stop()
      }
    }
    if (!skipCompetitor) {
      competitor = await startCompetitor(BENCH_KEY)
      say(`latency: adnanh/webhook at ${RATE} req/s offered, ${duration} s`)
      results.competitor = await measure(competitor.url)
    }
  } finally {
    await competitor?.stop()
    await stopChild(baseline?.child)
    await stopChild(sink.child)
  }
  for (const setup of setups) if (results[setup.key].ok === 0) throw new Error(`no 2xx answers from the runner on ${setup.name}`)
  const line = (x) =>
    `${fmt.int(x.ok / duration)} req/s answered; p50 ${fmt.ms(x.latency.p50)}, p99 ${fmt.ms(x.latency.p99)}, p99.9 ${fmt.ms(x.latency.p99_9)}, max ${fmt.ms(x.latency.max)}${x.non2xx + x.errors ? `; ${x.non2xx + x.errors} non-2xx or errors` : ''}`
  const target = `p99 < ${TARGET_P99_MS} ms, p99.9 < ${TARGET_P99_9_MS} ms`
  const met = (x) => (quick ? undefined : x.ok === x.sent && x.latency.p99 < TARGET_P99_MS && x.latency.p99_9 < TARGET_P99_9_MS)
  return {
    title: `2. Ack latency at ${fmt.int(RATE)} req/s, evenly paced`,
    rows: [
      { measure: 'baseline node:http (reference)', result: line(results.baseline) },
      ...setups.map((s) => ({
        measure: `runner, durable ack, on ${describe(s, s.replicas > 1 ? `${fmt.int(RATE / s.replicas)} req/s and ${CONNECTIONS / s.replicas} conn. each` : '')}`,
        result: line(results[s.key]),
        target,
        met: met(results[s.key]),
      })),
      ...(skipRedis ? [{ measure: 'runner on Redis ×1 and ×2', result: skipRedis, target }] : []),
      {
        measure: 'adnanh/webhook 2.8 (competitor; keeps nothing)',
        result: skipCompetitor ? `skipped: ${skipCompetitor}` : line(results.competitor),
      },
    ],
    notes: [
      `Latency: ${duration} s at ${fmt.int(RATE)} req/s offered after a ${warmup} s warm-up at the same rate (not counted: the code warms up, as a long-lived runner's has), over at most ${CONNECTIONS} keep-alive connections, from bench/load/paced.mjs in its own process: request i is due at t0 + i/${fmt.int(RATE)} s and its latency runs from then, so a server that falls behind has its queueing counted. Every 2xx answer's latency, exact.`,
    ],
    raw: results,
  }
}

await standalone(import.meta.url, latencyBench)
