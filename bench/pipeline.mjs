/**
 * Part 3, the pipeline: a burst of 10,000 distinct events, each matching one
 * recipe with one `http` step to a sink in its own process, at
 * queue.concurrency 16. Measured from the first request to the moment the
 * store has no unfinished step left; throughput in events/s, and the
 * runner's peak RSS (VmHWM). Then the same on Redis: one replica, and two on
 * one Redis and prefix with half the connections (and events) each, at
 * concurrency 16 each (skipped without redis-server).
 *
 *   node bench/pipeline.mjs [--quick] [--profile] [--no-redis]
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startSink, stopChild } from './lib/children.mjs'
import { load } from './lib/load.mjs'
import { fmt, say, standalone } from './lib/report.mjs'
import { DIST } from './lib/runner.mjs'
import { describe, openReader, REDIS_SETUPS, redisSkipReason, rssText, SQLITE, startSetup } from './lib/stores.mjs'

export const TARGET_EVENTS_PER_S = 3_000
export const TARGET_RSS_MB = 120
const CONCURRENCY = 16
const CONNECTIONS = 32

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * One burst of `events` against a fresh setup: resolves with the time from
 * the first request to the last step recorded done, the ack rate and the
 * runners' peak RSS. Completion is read through the backend interface
 * (lib/stores.mjs openReader), beside the runners.
 */
async function burst(setup, { sink, events, deadlineMs, profile }) {
  const { listEvents } = await import(pathToFileURL(join(DIST, 'queue', 'inspect.js')).href)
  const before = await sink.stats()
  let started
  let store
  try {
    started = await startSetup(setup, { sinkUrl: sink.url, concurrency: CONCURRENCY, profile, label: 'pipeline' })
    say(`pipeline: ${fmt.int(events)} events, one http step each, concurrency ${CONCURRENCY}, ${describe(setup)}`)
    let t0
    const ingest = load({ url: started.url, connections: CONNECTIONS, amount: events, onStart: () => (t0 ??= performance.now()) })
    t0 = performance.now()
    const deadline = t0 + deadlineMs
    // 1. Wait until every step has reached the sink (distinct Idempotency-Keys; the sink outlives each burst).
    let seen = await sink.stats()
    while (seen.distinct - before.distinct < events && performance.now() < deadline) {
      await sleep(50)
      seen = await sink.stats()
    }
    const sinkDone = (performance.now() - t0) / 1000
    // 2. Then until the store has recorded all of them (no pending, running or retrying step).
    store = await openReader(started.store)
    const unfinished = async () =>
      (await listEvents(store, { limit: events + 100 })).filter((e) => e.status === 'running' || e.status === 'received')
    // Redis: listing 10,000 events is one long script that would hold up the runners; the
    // schedule's counts are cheap. Nothing left in it, then the listing below confirms.
    if (setup.driver === 'redis') while ((await store.stats()).scheduled > 0 && performance.now() < deadline) await sleep(20)
    let open = await unfinished()
    while (open.length > 0 && performance.now() < deadline) {
      await sleep(20)
      open = await unfinished()
    }
    const elapsed = (performance.now() - t0) / 1000
    const rss = started.peakRss()
    const acked = await ingest
    const distinct = seen.distinct - before.distinct
    if (distinct < events || open.length > 0)
      throw new Error(
        `${setup.name}: not finished after ${deadlineMs / 1000} s: ${distinct}/${events} steps reached the sink, ${open.length} events still open`,
      )
    const summary = await listEvents(store, { limit: events + 100 })
    const done = summary.filter((e) => e.status === 'done').length
    if (acked.accepted !== events || done !== events)
      throw new Error(
        `${setup.name}: expected ${events} accepted events with all steps done, got ${acked.accepted} accepted (${acked.non2xx} non-2xx, ${acked.errors} errors), ${done} done`,
      )
    return { events, elapsed, sinkDone, rate: events / elapsed, rss, acked, done, requests: seen.count - before.count, distinct }
  } finally {
    await store?.close()
    await started?.stop()
  }
}

export async function pipelineBench({ quick = false, profile = false, redis = true } = {}) {
  const events = quick ? 1_000 : 10_000
  const deadlineMs = quick ? 30_000 : 90_000
  const skipRedis = redisSkipReason({ redis })
  const sink = await startSink()
  const r = {}
  let s
  try {
    s = await burst(SQLITE, { sink, events, deadlineMs, profile })
    for (const setup of skipRedis ? [] : REDIS_SETUPS) r[setup.key] = await burst(setup, { sink, events, deadlineMs, profile })
  } finally {
    await stopChild(sink.child)
  }
  const rss = s.rss[0]
  const judge = (ok) => (quick ? undefined : ok)
  const target = `>= ${fmt.int(TARGET_EVENTS_PER_S)} events/s, RSS < ${TARGET_RSS_MB} MB`
  const redisLine = (x) =>
    `${fmt.int(x.rate)} events/s: ${x.elapsed.toFixed(2)} s first request to last step done; acks at ${fmt.int(x.acked.rps)} req/s; peak RSS ${rssText(x.rss)}`
  const sinkNote = (name, x) =>
    `${name}: ${fmt.int(x.requests)} requests for ${fmt.int(x.distinct)} distinct runs, the last at ${x.sinkDone.toFixed(2)} s; ${fmt.int(x.done)} of ${fmt.int(x.events)} events done`
  return {
    title: '3. Pipeline burst',
    rows: [
      {
        measure: `${fmt.int(events)} events -> 1 http step each, concurrency ${CONCURRENCY} (SQLite)`,
        result: `${s.elapsed.toFixed(2)} s first request to last step done; acks at ${fmt.int(s.acked.rps)} req/s`,
        target: '',
      },
      {
        measure: 'events fully processed per second',
        result: `${fmt.int(s.rate)} events/s`,
        target: `>= ${fmt.int(TARGET_EVENTS_PER_S)}`,
        met: judge(s.rate >= TARGET_EVENTS_PER_S),
      },
      {
        measure: 'runner peak RSS (VmHWM)',
        result: fmt.mb(rss),
        target: `< ${TARGET_RSS_MB} MB`,
        met: rss === undefined ? undefined : judge(rss < TARGET_RSS_MB),
      },
      ...(skipRedis
        ? [{ measure: `${fmt.int(events)} events on Redis ×1 and ×2`, result: skipRedis, target }]
        : REDIS_SETUPS.map((setup) => ({
            measure: `${fmt.int(events)} events on ${describe(setup, `concurrency ${CONCURRENCY}${setup.replicas > 1 ? ' each' : ''}`)}`,
            result: redisLine(r[setup.key]),
            target,
            met: judge(r[setup.key].rate >= TARGET_EVENTS_PER_S && r[setup.key].rss.every((mb) => mb !== undefined && mb < TARGET_RSS_MB)),
          }))),
    ],
    notes: [
      `Pipeline, what the sink saw (distinct runs by Idempotency-Key): ${[sinkNote('SQLite', s), ...REDIS_SETUPS.filter((t) => r[t.key]).map((t) => sinkNote(t.name, r[t.key]))].join('; ')}. Completion is read through the build's backend interface beside the runners (read-only); for Redis, the schedule's job counts reach 0 and then the event listing confirms every event done.`,
    ],
    raw: { events, sqlite: s, redis: r },
  }
}

await standalone(import.meta.url, pipelineBench)
