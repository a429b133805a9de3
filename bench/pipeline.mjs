/**
 * Part 3, the pipeline: a burst of 10,000 distinct events, each matching one
 * recipe with one `http` step to a sink in its own process, at
 * queue.concurrency 16. Measured from the first request to the moment the
 * store has no unfinished step left; throughput in events/s, and the
 * runner's peak RSS (VmHWM).
 *
 *   node bench/pipeline.mjs [--quick] [--profile]
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { peakRssMb, startSink, stopChild } from './lib/children.mjs'
import { load } from './lib/load.mjs'
import { fmt, say, standalone } from './lib/report.mjs'
import { DIST, startRunnerChild } from './lib/runner.mjs'

export const TARGET_EVENTS_PER_S = 3_000
export const TARGET_RSS_MB = 150
const CONCURRENCY = 16
const CONNECTIONS = 32

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export async function pipelineBench({ quick = false, profile = false } = {}) {
  const events = quick ? 1_000 : 10_000
  const deadlineMs = quick ? 30_000 : 90_000
  // The store module of the build under test, opened read-mostly beside the runner (WAL allows it).
  const { createSqliteBackend } = await import(pathToFileURL(join(DIST, 'store', 'sqlite.js')).href)
  const { listEvents } = await import(pathToFileURL(join(DIST, 'queue', 'rules.js')).href)
  const sink = await startSink()
  let runner
  let store
  try {
    runner = await startRunnerChild({ sinkUrl: sink.url, concurrency: CONCURRENCY, profile, label: 'pipeline' })
    say(`pipeline: ${fmt.int(events)} events, one http step each, concurrency ${CONCURRENCY}`)
    let t0
    const ingest = load({ url: runner.url, connections: CONNECTIONS, amount: events, onStart: () => (t0 ??= performance.now()) })
    t0 = performance.now()
    const deadline = t0 + deadlineMs
    // 1. Wait until every step has reached the sink (distinct Idempotency-Keys).
    let seen = await sink.stats()
    while (seen.distinct < events && performance.now() < deadline) {
      await sleep(50)
      seen = await sink.stats()
    }
    // 2. Then until the store has recorded all of them (no pending, running or retrying step).
    // Read through the backend interface, beside the runner (no lock taken).
    store = createSqliteBackend({ path: runner.dbPath, lock: false })
    const unfinished = async () =>
      (await listEvents(store, { limit: events + 100 })).filter((e) => e.status === 'running' || e.status === 'received')
    let open = await unfinished()
    while (open.length > 0 && performance.now() < deadline) {
      await sleep(20)
      open = await unfinished()
    }
    const elapsed = (performance.now() - t0) / 1000
    const rss = peakRssMb(runner.child.pid)
    const acked = await ingest
    if (seen.distinct < events || open.length > 0)
      throw new Error(
        `not finished after ${deadlineMs / 1000} s: ${seen.distinct}/${events} steps reached the sink, ${open.length} events still open`,
      )
    const summary = await listEvents(store, { limit: events + 100 })
    const done = summary.filter((e) => e.status === 'done').length
    if (acked.accepted !== events || done !== events)
      throw new Error(
        `expected ${events} accepted events with all steps done, got ${acked.accepted} accepted (${acked.non2xx} non-2xx, ${acked.errors} errors), ${done} done`,
      )
    const rate = events / elapsed
    return {
      title: '3. Pipeline burst',
      rows: [
        {
          measure: `${fmt.int(events)} events -> 1 http step each, concurrency ${CONCURRENCY}`,
          result: `${elapsed.toFixed(2)} s first request to last step done; acks at ${fmt.int(acked.rps)} req/s`,
          target: '',
        },
        {
          measure: 'events fully processed per second',
          result: `${fmt.int(rate)} events/s`,
          target: `>= ${fmt.int(TARGET_EVENTS_PER_S)}`,
          met: rate >= TARGET_EVENTS_PER_S,
        },
        {
          measure: 'runner peak RSS (VmHWM)',
          result: fmt.mb(rss),
          target: `< ${TARGET_RSS_MB} MB`,
          met: rss === undefined ? undefined : rss < TARGET_RSS_MB,
        },
      ],
      notes: [
        `Pipeline: the sink saw ${fmt.int(seen.count)} requests for ${fmt.int(seen.distinct)} distinct runs (Idempotency-Key); ${fmt.int(done)} of ${fmt.int(events)} events ended with status done.`,
      ],
      raw: { events, elapsed, rate, rss, acked, sink: seen },
    }
  } finally {
    await store?.close()
    await runner?.stop()
    await stopChild(sink.child)
  }
}

await standalone(import.meta.url, pipelineBench)
