/**
 * Replicas: two runner processes (the built CLI, `dist/cli/main.js`), each in
 * its own folder with its own config file, on one real redis-server (AOF on,
 * appendfsync always) under one prefix. What the contract promises for a
 * scaled-out deployment (SPEC §8): dedupe, `once`, `debounce` and per-action
 * concurrency hold across replicas; a replica killed with `kill -9` loses
 * nothing (its leased work returns to the other within ~1-1.5 × lease); a
 * Redis restart loses nothing acknowledged, and the replicas recover by
 * themselves. Outcomes are read from HTTP answers, the children's log lines,
 * the sink's requests, and the Backend interface on the same Redis: never
 * Redis keys.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { Backend, StepRun } from '../../src/store/backend.js'
import { runCliAsync } from '../helpers/child.js'
import { haveRedis, startRedis, type TestRedis } from '../helpers/redis.js'
import {
  createTrackingSink,
  openStore,
  type Replica,
  type ReplicaConfig,
  runningNow,
  type Snapshot,
  snapshot,
  startReplicas,
  stopReplicas,
  type TrackingSink,
} from '../helpers/replicas.js'
import { countBy, type Delivered, deliverWithRetry, pool, sleep, waitUntil } from './helpers.js'
import { createReport } from './report.js'

const report = createReport()
afterAll(() => report.write())

/** Lease of every replica: short, so a killed replica's work comes back quickly. */
const LEASE = 2000

// Everything a test starts, so afterEach cleans up even when it fails half-way.
const replicas: Replica[] = []
let redis: TestRedis | undefined
let sink: TrackingSink | undefined
let store: Backend | undefined

/** Bumped after each test: deliveries of a test that failed half-way are not started any more (the sender pools check it). */
let generation = 0
const unsent = (): Delivered => ({ attempts: 0, failures: ['test over'] })

afterEach(async () => {
  generation++
  await stopReplicas(replicas)
  await store?.close().catch(() => {})
  await sink?.close()
  await redis?.close()
  store = undefined
  sink = undefined
  redis = undefined
})

/** A fresh redis-server, two replicas on it (config per replica), and a reader on the same store. */
async function cluster(config: ReplicaConfig, { names = ['A', 'B'] }: { names?: string[] } = {}) {
  redis = await startRedis()
  const prefix = `rep-${randomUUID().slice(0, 8)}`
  const started = await startReplicas(replicas, { url: redis.url, prefix, lease: LEASE, names, config })
  store = await openStore(redis.url, prefix)
  return { replicas: started, store, prefix, redis }
}

interface Answer {
  status: number
  id?: string
  duplicate?: boolean
  retryAfter: string | null
}

async function post(url: string, event: string, body: string): Promise<Answer> {
  const res = await fetch(`${url}/webhooks/${event}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  })
  const json = (await res.json().catch(() => ({}))) as { id?: string; duplicate?: boolean }
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    ...(json.id ? { id: json.id } : {}),
    ...(json.duplicate === undefined ? {} : { duplicate: json.duplicate }),
  }
}

const title = (id: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id, name: `Episode ${id}`, tags: [{ name: 'Podcast', slug: 'podcast' }], ...extra })

const acked = (d: Delivered | Answer) => d.status === 200 || d.status === 202

/** Polls the store until `done(snapshot)`; returns the last snapshot and whether it got there in time. */
async function settle(
  reader: Backend,
  done: (s: Snapshot) => boolean,
  within: number,
): Promise<{ snap: Snapshot; ok: boolean; ms: number }> {
  const start = Date.now()
  let snap: Snapshot = { events: [], runs: [] }
  for (;;) {
    // The reader reconnects by itself after a Redis restart; until then a read fails, and is tried again.
    const read = await snapshot(reader).catch(() => undefined)
    if (read) snap = read
    if (read && done(read)) return { snap, ok: true, ms: Date.now() - start }
    if (Date.now() - start > within) return { snap, ok: false, ms: Date.now() - start }
    await sleep(200)
  }
}

/** Acknowledged deliveries missing from the store under the id they were given, and bodies stored more than once. */
function checkStored(answers: Delivered[], bodies: string[], snap: Snapshot) {
  const byBody = countBy(snap.events, (e) => e.body)
  const ids = new Map(snap.events.map((e) => [e.id, e.body]))
  const lost = answers.filter((a, i) => acked(a) && ids.get(a.id!) !== bodies[i]).length
  const storedTwice = [...byBody.values()].filter((n) => n > 1).length
  return { lost, storedTwice }
}

/** A recipe on title-ready with one http step to the sink, each replica naming itself in `x-replica`; `extra` adds queue or action settings. */
const hook =
  (sinkUrl: string, extra: Record<string, unknown>): ReplicaConfig =>
  (name) => ({
    auth: { allowUnauthenticated: true },
    ...extra,
    recipes: [
      {
        name: 'hook',
        on: 'title-ready',
        do: [{ name: 'build', action: 'http', with: { url: `${sinkUrl}/build?title={{id}}`, headers: { 'x-replica': name } } }],
      },
    ],
  })

/**
 * Sends `n` deliveries, delivery i started at i × `every` ms, at most `inFlight` at once; `acked()` counts the
 * acknowledged so far. Once the test is over (a failure half-way), the deliveries not started yet are not sent.
 */
function pacedBurst(n: number, inFlight: number, every: number, deliver: (i: number) => Promise<Delivered>) {
  const t0 = Date.now()
  const gen = generation
  let ackedCount = 0
  const answers = pool(n, inFlight, async (i) => {
    await sleep(t0 + i * every - Date.now())
    if (gen !== generation) return unsent()
    const r = await deliver(i)
    if (acked(r)) ackedCount++
    return r
  })
  return { answers, acked: () => ackedCount }
}

/** Why deliveries were sent again, counted: `ECONNREFUSED ×171, 503 ×2`, or `none`. */
const failureList = (answers: Delivered[]) =>
  [
    ...countBy(
      answers.flatMap((x) => x.failures),
      (f) => f,
    ).entries(),
  ]
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ') || 'none'

const states = (runs: StepRun[]) =>
  Object.entries(Object.fromEntries(countBy(runs, (r) => r.state)))
    .map(([s, n]) => `${n} ${s}`)
    .join(', ')

describe.skipIf(!haveRedis())('replicas: two runner processes on one Redis', () => {
  it('dedupes across replicas: the same delivery to the other replica is a duplicate with the first id; of concurrent ones exactly one is new', async () => {
    const row = report.row(
      'replicas-dedupe',
      'Same delivery to replica A then B; then the same new delivery to A and B at once (10 concurrent POSTs), 2 processes on one Redis',
    )
    const {
      replicas: [a, b],
      store: reader,
    } = await cluster(() => ({ auth: { allowUnauthenticated: true }, recipes: [] }))

    const body = title(4211)
    const first = await post(a!.url, 'title-ready', body)
    const second = await post(b!.url, 'title-ready', body)
    expect(first).toMatchObject({ status: 202, duplicate: false })
    expect(second).toMatchObject({ status: 200, duplicate: true, id: first.id })

    // Both replicas at once, 5 POSTs each, interleaved.
    const body2 = title(4212)
    const together = await Promise.all(Array.from({ length: 10 }, (_, i) => post((i % 2 ? a : b)!.url, 'title-ready', body2)))
    const fresh = together.filter((r) => r.status === 202)
    const dup = together.filter((r) => r.status === 200 && r.duplicate === true)

    const snap = await snapshot(reader)
    // The `events` command (JSON) on replica A's folder sees the same two events.
    const cli = await runCliAsync(['events', '--json', '--limit', '50'], { cwd: a!.dir })
    const listed = JSON.parse(cli.stdout) as Array<{ id: string }>

    row.tried = '2 sequential + 10 concurrent deliveries (2 distinct bodies)'
    row.lost = 0
    row.duplicated = snap.events.length - 2
    row.notes = `sequential: ${first.status} then ${second.status} duplicate:${second.duplicate}, same id: ${first.id === second.id}; concurrent: ${fresh.length} × 202, ${dup.length} × 200 duplicate, ${new Set(together.map((r) => r.id)).size} distinct id(s); store (Backend.listEvents and \`events --json\`): ${snap.events.length} / ${listed.length} events`
    expect(fresh).toHaveLength(1)
    expect(dup).toHaveLength(9)
    expect(new Set(together.map((r) => r.id))).toEqual(new Set([fresh[0]!.id]))
    expect(snap.events.map((e) => e.id).sort()).toEqual([first.id, fresh[0]!.id].sort())
    expect(cli.status, cli.stderr).toBe(0)
    expect(listed.map((e) => e.id).sort()).toEqual([first.id, fresh[0]!.id].sort())
    row.result = 'pass'
  }, 30_000)

  it('debounce holds across replicas: 12 titles ready, spread over both, start exactly one site rebuild', async () => {
    const row = report.row('replicas-debounce', 'Step debounce (1.5 s) across replicas: 12 distinct title-ready deliveries alternating A/B')
    sink = await createTrackingSink(5)
    const {
      replicas: [a, b],
      store: reader,
    } = await cluster((name) => ({
      auth: { allowUnauthenticated: true },
      recipes: [
        {
          name: 'site',
          on: 'title-ready',
          do: [
            {
              name: 'rebuild',
              action: 'http',
              debounce: '1500ms',
              with: { url: `${sink!.url}/build`, headers: { 'x-replica': name }, body: { last: '{{id}}' } },
            },
          ],
        },
      ],
    }))
    const ids = Array.from({ length: 12 }, (_, i) => 100 + i)
    const answers: Answer[] = []
    for (const [i, id] of ids.entries()) answers.push(await post((i % 2 ? b : a)!.url, 'title-ready', title(id)))
    const sentAt = Date.now()

    // All 12 runs final: one done (the rebuild), eleven coalesced into it (skipped).
    const { snap, ok, ms } = await settle(
      reader,
      (s) => s.runs.length === 12 && s.runs.every((r) => r.state === 'done' || r.state === 'skipped'),
      15_000,
    )
    // Nothing more may come after the window: wait past another one.
    await sleep(2000)
    const builds = sink.calls.filter((c) => c.path === '/build')
    const done = snap.runs.filter((r) => r.state === 'done')

    row.tried = '12 deliveries (6 per replica) within ~0.2 s'
    row.lost = snap.runs.length === 12 ? 0 : 12 - snap.runs.length
    row.duplicated = Math.max(0, builds.length - 1)
    row.notes = `sink got ${builds.length} rebuild request(s) (from ${builds.map((c) => c.replica).join(', ') || 'none'}, body ${builds[0]?.request.body ?? '-'}) ${((builds[0]?.at ?? sentAt) - sentAt) / 1000} s after the last delivery; runs: ${states(snap.runs)}; settled in ${ms} ms`
    expect(answers.map((x) => x.status)).toEqual(ids.map(() => 202))
    expect(ok, states(snap.runs)).toBe(true)
    expect(builds).toHaveLength(1)
    expect(done).toHaveLength(1)
    expect(ids.map(String)).toContain(String(builds[0]!.request.json().last))
    row.result = 'pass'
  }, 40_000)

  it('once holds across replicas: the same title as 10 distinct bodies to both replicas at once has one side effect', async () => {
    const row = report.row(
      'replicas-once',
      'Step `once: true` (key {{id}}) across replicas: 10 distinct bodies of one title, 5 to each replica concurrently',
    )
    sink = await createTrackingSink(20)
    const {
      replicas: [a, b],
      store: reader,
    } = await cluster((name) => ({
      auth: { allowUnauthenticated: true },
      recipes: [
        {
          name: 'announce',
          on: 'title-updated',
          do: [
            { name: 'post', action: 'http', once: true, with: { url: `${sink!.url}/once?title={{id}}`, headers: { 'x-replica': name } } },
          ],
        },
      ],
    }))
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => post((i % 2 ? b : a)!.url, 'title-updated', title(777, { name: `Episode 777, edit ${i}` }))),
    )
    const { snap, ok, ms } = await settle(
      reader,
      (s) => s.runs.length === 10 && s.runs.every((r) => r.state === 'done' || r.state === 'skipped'),
      15_000,
    )
    await sleep(500)
    const calls = sink.calls.filter((c) => c.path.startsWith('/once'))

    row.tried = '10 deliveries (distinct bodies, one title id) at once'
    row.lost = 10 - snap.events.length
    row.duplicated = Math.max(0, calls.length - 1)
    row.notes = `${answers.filter((x) => x.status === 202).length} × 202; sink got ${calls.length} request(s) (from ${calls.map((c) => c.replica).join(', ') || 'none'}); runs: ${states(snap.runs)}; settled in ${ms} ms; replicas that ran a step: A ${a!.stepsDone().length}, B ${b!.stepsDone().length}`
    expect(answers.map((x) => x.status)).toEqual(answers.map(() => 202))
    expect(new Set(answers.map((x) => x.id)).size).toBe(10)
    expect(ok, states(snap.runs)).toBe(true)
    expect(calls).toHaveLength(1)
    expect(snap.runs.filter((r) => r.state === 'done')).toHaveLength(1)
    expect(snap.runs.filter((r) => r.state === 'skipped')).toHaveLength(9)
    row.result = 'pass'
  }, 40_000)

  it('actions.http.concurrency 1 holds across replicas: never two requests in flight at once, all steps done, both replicas ran steps', async () => {
    const row = report.row(
      'replicas-concurrency',
      '`actions.http.concurrency: 1` across 2 replicas: 20 deliveries (10 each), sink answers after 100 ms',
    )
    sink = await createTrackingSink(100)
    const {
      replicas: [a, b],
      store: reader,
    } = await cluster(hook(sink.url, { actions: { http: { concurrency: 1 } }, queue: { concurrency: 8 } }))
    const bodies = Array.from({ length: 20 }, (_, i) => title(200 + i))
    const answers = await Promise.all(bodies.map((body, i) => post((i % 2 ? b : a)!.url, 'title-ready', body)))
    const started = Date.now()
    const { snap, ok } = await settle(reader, (s) => s.runs.length === 20 && s.runs.every((r) => r.state === 'done'), 30_000)
    await sleep(300)
    const perRun = countBy(sink.calls, (c) => c.key)
    const doneA = a!.stepsDone()
    const doneB = b!.stepsDone()

    row.tried = '20 deliveries, 20 http steps'
    row.lost = 20 - snap.runs.filter((r) => r.state === 'done').length
    row.duplicated = [...perRun.values()].reduce((sum, n) => sum + n - 1, 0)
    row.notes = `max in flight at the sink: ${sink.maxInFlight}; runs: ${states(snap.runs)} after ${((Date.now() - started) / 1000).toFixed(1)} s (≥ 20 × 100 ms serial); sink requests by replica (x-replica): A ${sink.calls.filter((c) => c.replica === 'A').length}, B ${sink.calls.filter((c) => c.replica === 'B').length}; 'done' log lines: A ${doneA.length}, B ${doneB.length}`
    expect(answers.map((x) => x.status)).toEqual(bodies.map(() => 202))
    expect(ok, states(snap.runs)).toBe(true)
    expect(sink.maxInFlight).toBe(1)
    expect(sink.calls).toHaveLength(20)
    expect(perRun.size).toBe(20)
    // Both processes did work, and between them every run once.
    expect(doneA.length).toBeGreaterThan(0)
    expect(doneB.length).toBeGreaterThan(0)
    expect(new Set([...doneA, ...doneB])).toEqual(new Set(snap.runs.map((r) => r.id)))
    expect(doneA.length + doneB.length).toBe(20)
    row.result = 'pass'
  }, 45_000)

  it('kill -9 of one replica during a burst of 500: every acknowledged delivery ends done on the survivor; only its cut-off steps repeat', async () => {
    const row = report.row(
      'replicas-kill',
      'kill -9 replica A during 500 distinct deliveries spread over A and B (16 in flight; a delivery refused by the dead A is resent to B), sink 50 ms, queue.concurrency 8, lease 2 s',
    )
    const CONCURRENCY = 8
    sink = await createTrackingSink(50)
    const {
      replicas: [a, b],
      store: reader,
    } = await cluster(
      hook(sink.url, {
        queue: { concurrency: CONCURRENCY, timeout: '10s', retry: { attempts: 10, delay: '50ms', factor: 2, maxDelay: '1s' } },
      }),
    )
    const N = 500
    const bodies = Array.from({ length: N }, (_, i) => title(i))
    const targets = [a!, b!]
    const deadline = Date.now() + 40_000
    // Paced (a new delivery every 6 ms, ~3 s in all) so that deliveries keep coming after the kill.
    // Attempt n of delivery i goes to replica (i + n) % 2: a sender behind a balancer resends to the other one.
    const burst = pacedBurst(N, 16, 6, (i) => {
      let n = 0
      return deliverWithRetry(() => targets[(i + n++) % 2]!.url, 'title-ready', bodies[i]!, { deadline, pause: 20 })
    })

    // Kill A some way into the burst, while it has steps in flight at the sink.
    const inFlightOk = await waitUntil(() => burst.acked() >= 150 && sink!.inFlightFrom('A') >= 2, 20_000, 2)
    const ackedBeforeKill = burst.acked()
    const sinkInFlightA = sink.inFlightFrom('A')
    await a!.kill('SIGKILL')
    const killedAt = Date.now()
    const callsAtKill = sink.calls.length
    // Right after the kill, before any lease of A expires (≥ 1.3 s: renewed every lease/3): what A had claimed and not settled.
    const running = await runningNow(reader)
    const snapMs = Date.now() - killedAt

    const answers = await burst.answers
    const ackedAt = Date.now()
    const all = await settle(
      reader,
      (s) => s.events.length === N && s.runs.length === N && s.runs.every((r) => r.state === 'done'),
      Math.max(0, killedAt + 30_000 - Date.now()),
    )
    const finishedAfterKill = Date.now() - killedAt
    await sleep(300)
    const { snap } = all

    // Side effects by run (Idempotency-Key = run id; one step per event, so also by event).
    const byRun = new Map<string, typeof sink.calls>()
    for (const c of sink.calls) byRun.set(c.key, [...(byRun.get(c.key) ?? []), c])
    const sentByA = new Set(sink.calls.filter((c) => c.replica === 'A').map((c) => c.key))
    // A's in-flight steps at the kill: claimed by A (recorded running, not settled) and already sent to the sink by A.
    const cutOff = new Set(running.map((r) => r.id).filter((id) => sentByA.has(id)))
    const repeated = [...byRun.entries()].filter(([, calls]) => calls.length > 1)
    const extra = repeated.reduce((sum, [, calls]) => sum + calls.length - 1, 0)
    const badRepeats = repeated.filter(
      ([key, calls]) => !cutOff.has(key) || calls[0]!.replica !== 'A' || calls.slice(1).some((c) => c.replica !== 'B'),
    )
    // How soon B took A's cut-off steps over: the repeat's arrival after the kill.
    const takeover = repeated.map(([, calls]) => calls[1]!.at - killedAt)
    const { lost, storedTwice } = checkStored(answers, bodies, snap)
    const notDone = snap.runs.filter((r) => r.state !== 'done')
    const missing = snap.runs.filter((r) => !byRun.has(r.id))

    row.tried = `${N} deliveries, ${snap.runs.length} step runs; killed after ${ackedBeforeKill} acks and ${callsAtKill} sink requests`
    row.lost = `${lost} acked not stored; ${notDone.length} steps not done`
    row.duplicated = `${storedTwice} stored twice; ${extra} repeated side effects (bound: A's in-flight steps at the kill = ${cutOff.size}, ≤ its queue.concurrency ${CONCURRENCY})`
    row.notes = `A had ${sinkInFlightA} requests open at the sink and ${running.length} runs recorded running (read ${snapMs} ms after the kill); repeats arrived ${takeover.length ? `${Math.min(...takeover)}–${Math.max(...takeover)} ms` : 'never'} after the kill (lease ${LEASE} ms); ${answers.filter((x) => x.attempts > 1).length} deliveries resent (${failureList(answers)}), ${answers.filter((x) => x.duplicate).length} answered duplicate; all acked ${((ackedAt - killedAt) / 1000).toFixed(1)} s and all done ${(finishedAfterKill / 1000).toFixed(1)} s after the kill; steps done: A ${a!.stepsDone().length}, B ${b!.stepsDone().length}`
    expect(inFlightOk, 'A never had steps in flight').toBe(true)
    expect(snapMs, 'the snapshot after the kill must be read before A’s leases expire').toBeLessThan(1200)
    expect(answers.filter((x) => !acked(x))).toEqual([])
    expect(lost).toBe(0)
    expect(storedTwice).toBe(0)
    expect(all.ok, states(snap.runs)).toBe(true)
    expect(snap.events).toHaveLength(N)
    expect(notDone).toEqual([])
    expect(missing.map((r) => r.id)).toEqual([])
    // Repeats: only A's cut-off steps, first by A then once more by B, no more than A had in flight.
    expect(badRepeats.map(([key, calls]) => `${key}: ${calls.map((c) => c.replica).join(',')}`)).toEqual([])
    // The bound: A's in-flight steps at the kill as measured (runs A had sent to the sink and not recorded, read from the store
    // right after the kill); and that can be no more than A's queue.concurrency, the contract's bound per kill (as in crash-loop):
    // a run is recorded running from its claim, in one of A's slots, and its outcome is written before the slot's next run is sent.
    expect(extra).toBeLessThanOrEqual(cutOff.size)
    expect(cutOff.size).toBeLessThanOrEqual(CONCURRENCY)
    // The survivor took the cut-off steps over within ~1-1.5 × lease (3 × lease leaves room for a loaded machine).
    for (const ms of takeover) expect(ms).toBeLessThan(3 * LEASE)
    // Everything done within a few leases after the kill (the burst goes on ~2 s after it; the survivor alone needs ≥ 3 s for its share).
    expect(finishedAfterKill).toBeLessThan(6 * LEASE)
    row.result = 'pass'
  }, 60_000)

  it('a Redis restart (AOF on) during a burst to both replicas: 503 + Retry-After while down, /readyz follows, nothing acknowledged is lost, all steps done', async () => {
    const row = report.row(
      'replicas-redis-restart',
      'redis-server stopped (SIGTERM) for ~2.5 s and started again (AOF, appendfsync always) during 300 deliveries spread over 2 replicas (8 in flight, client retries 503 / connection errors)',
    )
    sink = await createTrackingSink(10)
    const {
      replicas: [a, b],
      store: reader,
      redis: server,
    } = await cluster(
      hook(sink.url, { queue: { concurrency: 4, timeout: '10s', retry: { attempts: 10, delay: '100ms', factor: 2, maxDelay: '1s' } } }),
    )
    const N = 300
    const bodies = Array.from({ length: N }, (_, i) => title(i))
    const targets = [a!, b!]
    const deadline = Date.now() + 45_000
    // Paced (one new delivery every 15 ms, ~4.5 s in all) so that the burst spans the outage.
    const burst = pacedBurst(N, 8, 15, (i) =>
      deliverWithRetry(() => targets[i % 2]!.url, 'title-ready', bodies[i]!, { deadline, pause: 50, maxAttempts: 1000 }),
    )

    await waitUntil(() => burst.acked() >= 60 && sink!.calls.length >= 40, 15_000, 5)
    const ackedBefore = burst.acked()
    await server.stop()
    const stoppedAt = Date.now()
    // Both replicas notice: /readyz 503; a delivery gets 503 with Retry-After.
    const readyz = async (r: Replica) => (await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(2000) })).status
    const downSeen = await waitUntil(async () => (await readyz(a!)) === 503 && (await readyz(b!)) === 503, 5000)
    const downMs = Date.now() - stoppedAt
    const probes = [await post(a!.url, 'title-ready', title(9001)), await post(b!.url, 'title-ready', title(9002))]
    await sleep(Math.max(0, 2500 - (Date.now() - stoppedAt)))
    const stillDown = (await readyz(a!)) === 503 && (await readyz(b!)) === 503
    await server.start()
    const startedAt = Date.now()
    const upSeen = await waitUntil(async () => (await readyz(a!)) === 200 && (await readyz(b!)) === 200, 15_000)
    const upMs = Date.now() - startedAt

    const answers = await burst.answers
    const all = await settle(
      reader,
      (s) => s.events.length === N && s.runs.length === N && s.runs.every((r) => r.state === 'done'),
      Math.max(0, startedAt + 30_000 - Date.now()),
    )
    const { snap } = all
    const { lost, storedTwice } = checkStored(answers, bodies, snap)
    const perRun = countBy(sink.calls, (c) => c.key)
    const extra = [...perRun.values()].reduce((sum, n) => sum + n - 1, 0)
    const notDone = snap.runs.filter((r) => r.state !== 'done')

    row.tried = `${N} deliveries (+2 probes during the outage), ${snap.runs.length} step runs`
    row.lost = `${lost} acked not stored; ${notDone.length} steps not done`
    row.duplicated = `${storedTwice} stored twice; ${extra} repeated side effects (at-least-once: leases ran out while Redis was down)`
    row.notes = `/readyz 503 on both ${downMs} ms after the stop, 200 on both ${upMs} ms after the start (by themselves); probes during the outage: ${probes.map((p) => `${p.status} Retry-After ${p.retryAfter}`).join(', ')}; ${answers.filter((x) => x.attempts > 1).length} deliveries retried by the client (${failureList(answers)}), ${ackedBefore} acked before the stop; all ${snap.runs.length} steps done ${all.ok ? `${((Date.now() - startedAt) / 1000).toFixed(1)} s after the start` : 'NOT within 30 s'}`
    expect(downSeen, '/readyz 503 while Redis is down').toBe(true)
    expect(stillDown, '/readyz still 503 at the end of the outage').toBe(true)
    for (const p of probes) {
      expect(p.status).toBe(503)
      expect(p.retryAfter).toMatch(/^\d+$/)
    }
    expect(
      answers.some((x) => x.failures.includes('503')),
      'deliveries were refused during the outage',
    ).toBe(true)
    expect(upSeen, '/readyz 200 again after Redis is back').toBe(true)
    expect(answers.filter((x) => !acked(x))).toEqual([])
    expect(lost).toBe(0)
    expect(storedTwice).toBe(0)
    expect(all.ok, states(snap.runs)).toBe(true)
    expect(snap.events).toHaveLength(N)
    expect(notDone).toEqual([])
    expect(perRun.size).toBe(N)
    row.result = 'pass'
  }, 60_000)
})
