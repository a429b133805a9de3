/**
 * Part 2, ack latency at a fixed offered rate of 2,000 requests/s (autocannon
 * `overallRate`), runner in a child process with the shipped-like config.
 * The baseline is measured the same way, for reference: it shows what the
 * load generator and loopback add. Then the same on Redis, one replica and
 * two (the rate and the connections split between them; skipped without
 * redis-server).
 *
 *   node bench/latency.mjs [--quick] [--profile] [--no-redis]
 */
import { startBaseline, startSink, stopChild } from './lib/children.mjs'
import { load } from './lib/load.mjs'
import { fmt, say, standalone } from './lib/report.mjs'
import { startRunnerChild } from './lib/runner.mjs'
import { describe, REDIS_SETUPS, redisSkipReason, startSetup } from './lib/stores.mjs'

export const RATE = 2_000
export const TARGET_P99_MS = 10
const CONNECTIONS = 32

export async function latencyBench({ quick = false, profile = false, redis = true } = {}) {
  const duration = quick ? 2 : 10
  const skipRedis = redisSkipReason({ redis })
  const sink = await startSink()
  let baseline
  let runner
  let a
  let b
  const r = {}
  /** 1 s warm-up, then the measured run at the offered rate. */
  const measure = async (url) => {
    await load({ url, connections: CONNECTIONS, overallRate: RATE, duration: 1 })
    return load({ url, connections: CONNECTIONS, overallRate: RATE, duration })
  }
  try {
    baseline = await startBaseline()
    say(`latency: baseline at ${RATE} req/s offered, ${duration} s`)
    a = await measure(baseline.url)
    runner = await startRunnerChild({ sinkUrl: sink.url, profile, label: 'latency' })
    say(`latency: runner at ${RATE} req/s offered, ${duration} s`)
    b = await measure(runner.url)
    await runner.stop()
    runner = undefined
    for (const setup of skipRedis ? [] : REDIS_SETUPS) {
      const started = await startSetup(setup, { sinkUrl: sink.url, profile, label: 'latency' })
      try {
        say(`latency: runner on ${describe(setup)} at ${RATE} req/s offered, ${duration} s`)
        r[setup.key] = await measure(started.url)
      } finally {
        await started.stop()
      }
    }
  } finally {
    await runner?.stop()
    await stopChild(baseline?.child)
    await stopChild(sink.child)
  }
  if (b.ok === 0) throw new Error('no 2xx answers from the runner')
  for (const [key, x] of Object.entries(r)) if (x.ok === 0) throw new Error(`no 2xx answers from the runner on ${key}`)
  // Offered in per-second bursts, so answered/s is counted over the whole run, not first to last answer.
  const line = (x) =>
    `${fmt.int(x.ok / duration)} req/s answered; p50 ${fmt.ms(x.latency.p50)}, p99 ${fmt.ms(x.latency.p99)}, p99.9 ${fmt.ms(x.latency.p99_9)}, max ${fmt.ms(x.latency.max)}${x.non2xx + x.errors ? `; ${x.non2xx + x.errors} non-2xx or errors` : ''}`
  return {
    title: `2. Ack latency at ${fmt.int(RATE)} req/s`,
    rows: [
      { measure: 'baseline node:http (reference)', result: line(a) },
      { measure: 'runner, durable ack (SQLite)', result: line(b), target: `p99 < ${TARGET_P99_MS} ms`, met: b.latency.p99 < TARGET_P99_MS },
      ...(skipRedis
        ? [{ measure: 'runner on Redis ×1 and ×2', result: skipRedis }]
        : REDIS_SETUPS.map((s) => ({
            measure: `runner on ${describe(s, s.replicas > 1 ? `${fmt.int(RATE / s.replicas)} req/s and ${CONNECTIONS / s.replicas} conn. each` : '')}`,
            result: line(r[s.key]),
          }))),
    ],
    notes: [
      `Latency: ${duration} s at ${fmt.int(RATE)} req/s offered over ${CONNECTIONS} connections after a 1 s warm-up${skipRedis ? '' : ''}. autocannon releases each connection's quota at the start of every second, so the load comes in bursts of up to ${CONNECTIONS} concurrent requests: harsher than evenly spaced arrivals. Latencies are every 2xx response's, exact (not autocannon's 1 ms histogram).`,
    ],
    raw: { a, b, redis: r },
  }
}

await standalone(import.meta.url, latencyBench)
