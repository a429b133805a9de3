/**
 * Part 2, ack latency at a fixed offered rate of 2,000 requests/s (autocannon
 * `overallRate`), runner in a child process with the shipped-like config.
 * The baseline is measured the same way, for reference: it shows what the
 * load generator and loopback add.
 *
 *   node bench/latency.mjs [--quick] [--profile]
 */
import { startBaseline, startSink, stopChild } from './lib/children.mjs'
import { load } from './lib/load.mjs'
import { fmt, say, standalone } from './lib/report.mjs'
import { startRunnerChild } from './lib/runner.mjs'

export const RATE = 2_000
export const TARGET_P99_MS = 10
const CONNECTIONS = 32

export async function latencyBench({ quick = false, profile = false } = {}) {
  const duration = quick ? 2 : 10
  const sink = await startSink()
  let baseline
  let runner
  let a
  let b
  try {
    baseline = await startBaseline()
    say(`latency: baseline at ${RATE} req/s offered, ${duration} s`)
    await load({ url: baseline.url, connections: CONNECTIONS, overallRate: RATE, duration: 1 })
    a = await load({ url: baseline.url, connections: CONNECTIONS, overallRate: RATE, duration })
    runner = await startRunnerChild({ sinkUrl: sink.url, profile, label: 'latency' })
    say(`latency: runner at ${RATE} req/s offered, ${duration} s`)
    await load({ url: runner.url, connections: CONNECTIONS, overallRate: RATE, duration: 1 })
    b = await load({ url: runner.url, connections: CONNECTIONS, overallRate: RATE, duration })
  } finally {
    await runner?.stop()
    await stopChild(baseline?.child)
    await stopChild(sink.child)
  }
  if (b.ok === 0) throw new Error('no 2xx answers from the runner')
  // Offered in per-second bursts, so answered/s is counted over the whole run, not first to last answer.
  const line = (r) =>
    `${fmt.int(r.ok / duration)} req/s answered; p50 ${fmt.ms(r.latency.p50)}, p99 ${fmt.ms(r.latency.p99)}, p99.9 ${fmt.ms(r.latency.p99_9)}, max ${fmt.ms(r.latency.max)}`
  return {
    title: `2. Ack latency at ${fmt.int(RATE)} req/s`,
    rows: [
      { measure: 'baseline node:http (reference)', result: line(a) },
      { measure: 'runner, durable ack', result: line(b), target: `p99 < ${TARGET_P99_MS} ms`, met: b.latency.p99 < TARGET_P99_MS },
    ],
    notes: [
      `Latency: ${duration} s at ${fmt.int(RATE)} req/s offered over ${CONNECTIONS} connections after a 1 s warm-up. autocannon releases each connection's quota at the start of every second, so the load comes in bursts of up to ${CONNECTIONS} concurrent requests: harsher than evenly spaced arrivals. Latencies are every 2xx response's, exact (not autocannon's 1 ms histogram).`,
    ],
    raw: { a, b },
  }
}

await standalone(import.meta.url, latencyBench)
