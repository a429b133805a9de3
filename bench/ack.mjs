/**
 * Part 1, durable ack throughput: the bare node:http baseline (A) and the
 * runner (B), same payload, same 32 connections, alternated A B A B in one
 * run (plus, in full runs, C: the runner with no recipe, for diagnosis). Both
 * servers run in child processes; the runner acknowledges only
 * after its SQLite commit, and queues one http step per event to a sink in a
 * third process, as the shipped config would.
 *
 *   node bench/ack.mjs [--quick] [--profile]
 */
import { peakRssMb, startBaseline, startSink, stopChild } from './lib/children.mjs'
import { load } from './lib/load.mjs'
import { fmt, say, standalone } from './lib/report.mjs'
import { startRunnerChild } from './lib/runner.mjs'

export const TARGET_RATIO = 0.4
const CONNECTIONS = 32

export async function ackBench({ quick = false, profile = false } = {}) {
  const duration = quick ? 2 : 10
  const warmup = quick ? 1 : 2
  const rounds = quick ? 1 : 2
  const sink = await startSink()
  let baseline
  const a = []
  const b = []
  // Diagnostic (full runs only): the runner with no recipe, i.e. the receiver and the
  // store without step work. The engine still records each event as matched.
  const c = []
  try {
    baseline = await startBaseline()
    for (let round = 1; round <= rounds; round++) {
      say(`ack round ${round}/${rounds}: A baseline node:http, ${CONNECTIONS} connections, ${duration} s`)
      await load({ url: baseline.url, connections: CONNECTIONS, duration: warmup })
      a.push(await load({ url: baseline.url, connections: CONNECTIONS, duration }))
      say(`ack round ${round}/${rounds}: B runner (durable ack, fresh store), ${CONNECTIONS} connections, ${duration} s`)
      const runner = await startRunnerChild({ sinkUrl: sink.url, profile, label: 'ack' })
      try {
        await load({ url: runner.url, connections: CONNECTIONS, duration: warmup })
        const r = await load({ url: runner.url, connections: CONNECTIONS, duration })
        r.rss = peakRssMb(runner.child.pid)
        b.push(r)
      } finally {
        await runner.stop()
      }
      if (quick) continue
      say(`ack round ${round}/${rounds}: C runner with no recipe (diagnostic), ${CONNECTIONS} connections, ${duration} s`)
      const bare = await startRunnerChild({ sinkUrl: sink.url, steps: false, profile, label: 'ack-no-recipe' })
      try {
        await load({ url: bare.url, connections: CONNECTIONS, duration: warmup })
        c.push(await load({ url: bare.url, connections: CONNECTIONS, duration }))
      } finally {
        await bare.stop()
      }
    }
  } finally {
    await stopChild(baseline?.child)
    await stopChild(sink.child)
  }
  for (const r of [...a, ...b, ...c]) {
    if (r.ok === 0) throw new Error('no 2xx answers: the server under test is not answering')
  }
  const mean = (list, f) => list.reduce((s, r) => s + f(r), 0) / list.length
  const worst = (list, f) => Math.max(...list.map(f))
  const rpsA = mean(a, (r) => r.rps)
  const rpsB = mean(b, (r) => r.rps)
  const ratio = rpsB / rpsA
  const line = (list) =>
    `${fmt.int(mean(list, (r) => r.rps))} req/s (${list.map((r) => fmt.int(r.rps)).join(' / ')}), p50 ${fmt.ms(mean(list, (r) => r.latency.p50))}, p99 ${fmt.ms(worst(list, (r) => r.latency.p99))}`
  const problems = b.reduce((s, r) => s + r.non2xx + r.errors + r.duplicates, 0)
  return {
    title: '1. Durable ack throughput',
    rows: [
      { measure: `A: bare node:http, parse JSON, 202 (${CONNECTIONS} conn.)`, result: line(a) },
      {
        measure: `B: runner, SQLite group commit + 1 http step/event (${CONNECTIONS} conn.)`,
        result: `${line(b)}, peak RSS ${fmt.mb(worst(b, (r) => r.rss ?? 0))}`,
      },
      { measure: 'ratio B/A', result: fmt.ratio(ratio), target: `>= ${TARGET_RATIO}`, met: ratio >= TARGET_RATIO },
      ...(c.length
        ? [
            {
              measure: 'C: runner with no recipe (diagnostic: receiver + store, no step work)',
              result: `${line(c)}; ratio C/A ${fmt.ratio(mean(c, (r) => r.rps) / rpsA)}`,
            },
          ]
        : []),
    ],
    notes: [
      `Ack: ${rounds} round(s) of A then B${c.length ? ' then C' : ''}, ${duration} s each after a ${warmup} s warm-up, a fresh runner and store for each; every request distinct. Per-round req/s in brackets; p99 is the worst round's. The runner's steps run in the same process while it acknowledges, as in production, so B pays for them.`,
      ...(problems
        ? [`Ack: the runner answered ${problems} requests with something other than a new-delivery 202 (errors, duplicates or non-2xx).`]
        : []),
    ],
    raw: { a, b, ratio },
  }
}

await standalone(import.meta.url, ackBench)
