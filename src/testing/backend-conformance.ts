import { createHash, randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { Backend, Delivery, LaneLimits, Limiter, NewRun, StepRun, Work } from '../store/backend.js'
import type { EventType } from '../types.js'

/** How the conformance suite opens the backend under test. */
export interface BackendFactory {
  /** A fresh, empty backend whose leases last `lease` ms. */
  create(options: { lease: number }): Promise<Backend>
  /** Another handle on the same data, as a second replica holds it. Omit for backends of one process per store (SQLite). */
  peer?(of: Backend, options: { lease: number }): Promise<Backend>
  /** The same data opened again after the process holding `of` died: `of` is dropped without giving anything back. */
  reopen(of: Backend, options: { lease: number }): Promise<Backend>
  /** Called after each test with every backend it opened (close them, delete files/keys). */
  cleanup?(): Promise<void>
}

// Short leases keep the suite under a minute per backend; every timing assertion below
// leaves far more slack than that, because CI runs it on two busy cores.
const LEASE = 800
/** Clock granularity and timer jitter: a backend may stamp a lease a few ms before we read the clock. */
const SLOP = 50

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) expect.fail(`${what} is missing`)
  return value
}

function delivery(overrides: Partial<Delivery> = {}): Delivery {
  // A random id in every body: a backend whose data outlives a run (Redis) must not see old duplicates.
  const name = `Title ${randomUUID().slice(0, 8)}`
  const body = overrides.body ?? JSON.stringify({ id: randomUUID(), name })
  return {
    type: 'title-updated',
    body,
    hash: createHash('sha256').update(body).digest('hex'),
    receivedAt: Date.now(),
    title: name,
    dedupeWindow: 60_000,
    ...overrides,
  }
}

function newRun(recipe: string, stepIndex: number, overrides: Partial<NewRun> = {}): NewRun {
  return { recipe, stepIndex, action: 'log', runAt: Date.now(), ...overrides }
}

function runOf(runs: StepRun[], recipe: string, stepIndex: number): StepRun {
  return must(
    runs.find((r) => r.recipe === recipe && r.stepIndex === stepIndex),
    `run ${recipe}/${stepIndex}`,
  )
}

/** A piece of work and when the `take` that returned it started (lease start is no earlier) and ended (it was due by then). */
interface Taken {
  work: Work
  start: number
  end: number
}

/** Takes repeatedly as `worker` until every id in `ids` was handed out or `within` ms passed; what else it takes stays leased. */
async function collect(backend: Backend, worker: string, ids: string[], within: number): Promise<Map<string, Taken>> {
  const found = new Map<string, Taken>()
  const deadline = Date.now() + within
  while (ids.some((id) => !found.has(id))) {
    const left = deadline - Date.now()
    if (left <= 0) break
    const start = Date.now()
    const works = await backend.take({ worker, limit: 10, wait: Math.min(200, left) })
    const end = Date.now()
    for (const work of works) if (ids.includes(work.id) && !found.has(work.id)) found.set(work.id, { work, start, end })
  }
  return found
}

async function takeId(backend: Backend, worker: string, id: string, within = 3000): Promise<Taken> {
  const found = await collect(backend, worker, [id], within)
  return must(found.get(id), `work ${id} taken by ${worker} within ${within} ms`)
}

/** Takes as `worker` for `ms` and returns whatever of `ids` it was handed (the caller expects none). */
async function takenDuring(backend: Backend, worker: string, ids: string[], ms: number): Promise<Work[]> {
  const got: Work[] = []
  const deadline = Date.now() + ms
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) return got
    for (const work of await backend.take({ worker, limit: 10, wait: Math.min(200, left) })) if (ids.includes(work.id)) got.push(work)
  }
}

/** Accepts an event, matches it as `worker` and records `runs` for it. */
async function seed(backend: Backend, runs: NewRun[], overrides: Partial<Delivery> = {}, worker = 'seeder') {
  const { id } = await backend.accept(delivery(overrides))
  const { work } = await takeId(backend, worker, id)
  const recorded = must(await backend.dispatch(work, runs), `dispatch of ${id}`)
  return { eventId: id, runs: recorded }
}

/** Retries `acquire` until a slot is taken, sleeping as long as the limiter says (within reason). */
async function acquire(limiter: Limiter, lane: string, holder: string, limits: LaneLimits, lease: number, within = 15_000) {
  const deadline = Date.now() + within
  for (;;) {
    const ms = await limiter.acquire(lane, holder, limits, lease)
    if (ms === 0) return Date.now()
    expect(ms, 'acquire resolves 0 or the ms to wait').toBeGreaterThan(0)
    if (Date.now() > deadline) expect.fail(`${holder} never got a slot of ${lane}`)
    await sleep(Math.min(ms, 50))
  }
}

/**
 * Registers vitest tests that every `Backend` passes: each guarantee written
 * in `src/store/backend.ts`, checked against real time and, where the
 * backend has replicas, against two handles on the same data.
 */
export function describeBackendConformance(name: string, factory: BackendFactory): void {
  describe(`backend conformance: ${name}`, { timeout: 20_000 }, () => {
    const opened: Backend[] = []

    const create = async (lease = LEASE) => {
      const backend = await factory.create({ lease })
      opened.push(backend)
      return backend
    }
    const reopen = async (of: Backend, lease = LEASE) => {
      const backend = await factory.reopen(of, { lease })
      opened.push(backend)
      return backend
    }
    /** Worker A's handle and worker B's: a peer when the backend has replicas, else the same handle. */
    const pair = async (lease = LEASE) => {
      const a = await create(lease)
      if (!factory.peer) return { a, b: a }
      const b = await factory.peer(a, { lease })
      opened.push(b)
      return { a, b }
    }

    afterEach(async () => {
      const backends = opened.splice(0)
      if (factory.cleanup) await factory.cleanup()
      else for (const backend of backends) await backend.close().catch(() => {})
    })

    describe('accept', () => {
      it('deduplicates the same type and hash within the window', async () => {
        const { a, b } = await pair()
        const d = delivery()
        const first = await a.accept(d)
        expect(first.duplicate).toBe(false)
        const again = await b.accept({ ...d, receivedAt: Date.now() })
        expect(again).toEqual({ id: first.id, duplicate: true })
        const otherType = await a.accept({ ...d, type: 'title-ready', receivedAt: Date.now() })
        expect(otherType.duplicate).toBe(false)
        expect(otherType.id).not.toBe(first.id)
        const event = must(await b.getEvent(first.id), 'the accepted event')
        expect(event).toMatchObject({ id: first.id, type: d.type, body: d.body, hash: d.hash, receivedAt: d.receivedAt })
        expect(event.dispatchedAt).toBeUndefined()
        expect(await a.getEvent('evt_00000000000000000000000000')).toBeUndefined()
      })

      it('takes the same delivery as new after its window', async () => {
        const a = await create()
        const d = delivery({ dedupeWindow: 300 })
        const first = await a.accept(d)
        await sleep(450)
        const later = await a.accept({ ...d, receivedAt: Date.now() })
        expect(later.duplicate).toBe(false)
        expect(later.id).not.toBe(first.id)
      })

      it('makes exactly one of 20 concurrent identical deliveries new', async () => {
        const { a, b } = await pair()
        const d = delivery()
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? b : a).accept(d)))
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1)
        expect(new Set(results.map((r) => r.id)).size).toBe(1)
        expect((await a.listEvents({ limit: 100 })).map((e) => e.id)).toEqual([must(results[0], 'a result').id])
      })
    })

    describe('matching', () => {
      it('hands a new event out for matching, to one worker, and dispatch records its runs once', async () => {
        const { a, b } = await pair()
        const { id } = await a.accept(delivery())
        const { work } = await takeId(a, 'A', id)
        expect(work.kind).toBe('match')
        expect(await takenDuring(b, 'B', [id], 300), 'leased to A, so not handed to B').toEqual([])

        const now = Date.now()
        const runs = must(
          await a.dispatch(work, [
            newRun('one', 0, { queue: true, runAt: now }),
            newRun('one', 1, { runAt: now }),
            newRun('two', 0, { queue: true, runAt: now, stepName: 'first', action: 'http' }),
          ]),
          'dispatched runs',
        )
        expect(runs).toHaveLength(3)
        for (const run of runs) {
          expect(run.id).toMatch(/^run_/)
          expect(run).toMatchObject({ eventId: id, state: 'pending', attempt: 0, runAt: now })
        }
        expect(runOf(runs, 'two', 0)).toMatchObject({ stepName: 'first', action: 'http' })
        expect(new Set(runs.map((r) => r.id)).size).toBe(3)
        expect(
          (await b.runsForEvent(id)).map((r) => [r.recipe, r.stepIndex]),
          'by recipe then step',
        ).toEqual([
          ['one', 0],
          ['one', 1],
          ['two', 0],
        ])
        expect(must(await b.getEvent(id), 'event').dispatchedAt).toEqual(expect.any(Number))
        expect(await b.getRun(runOf(runs, 'one', 1).id)).toMatchObject({ state: 'pending', attempt: 0 })

        expect(await a.dispatch(work, [newRun('three', 0, { queue: true })]), 'matched already').toBeUndefined()
        expect(await a.runsForEvent(id)).toHaveLength(3)

        const queued = [runOf(runs, 'one', 0).id, runOf(runs, 'two', 0).id]
        const found = await collect(b, 'B', queued, 3000)
        expect([...found.keys()].sort()).toEqual([...queued].sort())
        for (const taken of found.values()) expect(taken.work.kind).toBe('step')
        // Past two leases: the ended match work and the unqueued step never come (back).
        expect(await takenDuring(b, 'B', [id, runOf(runs, 'one', 1).id], 2 * LEASE + 300)).toEqual([])
      })

      it('hands out at most `limit` pieces, and no piece to two workers', async () => {
        // A long lease: work handed out twice only because a lease ran out would prove nothing.
        const { a, b } = await pair(10_000)
        const ids: string[] = []
        for (let i = 0; i < 10; i++) ids.push((await a.accept(delivery())).id)
        const few = await a.take({ worker: 'A', limit: 2, wait: 1000 })
        expect(few.length).toBeGreaterThan(0)
        expect(few.length).toBeLessThanOrEqual(2)
        const rest = await Promise.all([
          collect(a, 'A', ids, 1500).then((m) => [...m.values()].map((t) => t.work)),
          collect(b, 'B', ids, 1500).then((m) => [...m.values()].map((t) => t.work)),
        ])
        const all = [...few, ...rest.flat()].map((w) => w.id)
        expect(all.sort(), 'each event handed out exactly once').toEqual([...ids].sort())
      })

      it('waits up to `wait` when nothing is due', async () => {
        const a = await create()
        const start = Date.now()
        expect(await a.take({ worker: 'A', limit: 10, wait: 300 })).toEqual([])
        const took = Date.now() - start
        expect(took).toBeGreaterThanOrEqual(200)
        expect(took).toBeLessThan(3000)
      })

      /** A take waiting on `taker` is woken, well before its wait, by work `acceptor` accepts. */
      async function expectWoken(taker: Backend, acceptor: Backend): Promise<void> {
        const start = Date.now()
        const waiting = taker.take({ worker: 'A', limit: 10, wait: 5000 })
        await sleep(100)
        const { id } = await acceptor.accept(delivery())
        const works = await waiting
        expect(Date.now() - start).toBeLessThan(2000)
        expect(works.map((w) => w.id)).toEqual([id])
      }

      it('wakes a waiting take when work is accepted', async () => {
        const a = await create()
        await expectWoken(a, a)
      })

      it.skipIf(!factory.peer)('wakes a waiting take when another replica accepts work', async () => {
        const { a, b } = await pair()
        await expectWoken(a, b)
      })
    })

    describe('runs', () => {
      it('claims a pending run once, and retries it at the scheduled time', async () => {
        const { a, b } = await pair()
        const { runs } = await seed(a, [newRun('r', 0, { queue: true })])
        const runId = runOf(runs, 'r', 0).id
        const { work } = await takeId(a, 'A', runId)
        expect(work).toMatchObject({ kind: 'step', id: runId })

        const claimed = must(await a.claim(work, Date.now()), 'first claim')
        expect(claimed).toMatchObject({ id: runId, state: 'running', attempt: 1 })
        expect(await b.getRun(runId)).toMatchObject({ state: 'running', attempt: 1 })
        // The first answer was lost on the way: the same lease claims again, and nothing more is counted.
        expect(await a.claim(work, Date.now()), 'claimed again under the same lease').toMatchObject({ state: 'running', attempt: 1 })
        expect(await b.claim({ ...work, token: `${work.token}-other` }, Date.now()), 'a run claimed under another lease').toBeUndefined()
        expect(await b.getRun(runId)).toMatchObject({ state: 'running', attempt: 1 })

        const at = Date.now() + 400
        await a.settle(work, { patch: { state: 'retrying', error: 'boom' }, schedule: [{ runId, at }] })
        expect(await b.getRun(runId)).toMatchObject({ state: 'retrying', error: 'boom', attempt: 1 })
        const retry = await takeId(b, 'B', runId, 5000)
        expect(retry.end, 'not before the retry is due').toBeGreaterThanOrEqual(at - SLOP)
        expect(retry.end - at).toBeLessThan(3000)
        expect(await b.claim(retry.work, Date.now())).toMatchObject({ state: 'running', attempt: 2 })
      })

      it('hands out due steps before due events to match, whichever was due first', async () => {
        const { a, b } = await pair()
        const { runs } = await seed(a, [newRun('r', 0, { queue: true, runAt: Date.now() + 300 })])
        const runId = runOf(runs, 'r', 0).id
        const { id: eventId } = await a.accept(delivery())
        await sleep(300 + SLOP)
        const [first] = await b.take({ worker: 'B', limit: 1, wait: 1000 })
        expect(first, 'the step, due later than the event').toMatchObject({ kind: 'step', id: runId })
        const [second] = await b.take({ worker: 'B', limit: 1, wait: 1000 })
        expect(second).toMatchObject({ kind: 'match', id: eventId })
      })

      it('settles a step and schedules the next; the finished run is not handed out again', async () => {
        const { a, b } = await pair()
        const { runs } = await seed(a, [newRun('r', 0, { queue: true }), newRun('r', 1)])
        const [first, second] = [runOf(runs, 'r', 0).id, runOf(runs, 'r', 1).id]
        const { work } = await takeId(a, 'A', first)
        await a.claim(work, Date.now())
        await a.settle(work, {
          patch: { state: 'done', input: { text: 'hi' }, result: { ok: true } },
          schedule: [{ runId: second, at: Date.now() }],
        })
        expect(await b.getRun(first)).toMatchObject({ state: 'done', input: { text: 'hi' }, result: { ok: true } })
        expect(
          (await a.extend([work])).map((w) => w.id),
          'an ended lease is lost',
        ).toEqual([first])
        const next = await takeId(b, 'B', second)
        expect(next.work.kind).toBe('step')
        expect(await takenDuring(b, 'B', [first], 2 * LEASE + 300)).toEqual([])
      })

      it('skips the pending later steps of the same recipe with skipLater', async () => {
        const { a, b } = await pair()
        const { eventId, runs } = await seed(a, [
          newRun('a', 0),
          newRun('a', 1, { queue: true }),
          newRun('a', 2),
          newRun('a', 3),
          newRun('b', 0),
          newRun('b', 1),
        ])
        const failing = runOf(runs, 'a', 1).id
        const { work } = await takeId(a, 'A', failing)
        await a.claim(work, Date.now())
        const reason = 'step 1 of recipe a failed'
        await a.settle(work, { patch: { state: 'dead', error: 'boom', skipLater: reason } })
        const after = await b.runsForEvent(eventId)
        expect(runOf(after, 'a', 1)).toMatchObject({ state: 'dead', error: 'boom' })
        for (const step of [2, 3]) {
          const run = runOf(after, 'a', step)
          expect(run.state).toBe('skipped')
          expect(run.error, 'the reason is recorded').toContain(reason)
        }
        expect(runOf(after, 'a', 0).state, 'an earlier step').toBe('pending')
        expect(runOf(after, 'b', 0).state, 'another recipe').toBe('pending')
        expect(runOf(after, 'b', 1).state, 'another recipe').toBe('pending')
      })

      it('writes a patch with expect only while the run is as expected, in updateRun and in settle', async () => {
        const { a, b } = await pair()
        const { eventId, runs } = await seed(a, [newRun('r', 0, { queue: true }), newRun('r', 1), newRun('s', 0)])
        const [runId, other] = [runOf(runs, 'r', 0).id, runOf(runs, 's', 0).id]
        const { work } = await takeId(a, 'A', runId)
        await a.claim(work, Date.now())
        // B read the run as pending: its decision is stale now that A claimed it.
        const stale = { state: 'pending', attempt: 0 } as const
        expect(await b.updateRun(runId, { state: 'dead', error: 'stale', skipLater: 'stale', expect: stale })).toBe(false)
        expect(await b.getRun(runId)).toMatchObject({ state: 'running', attempt: 1 })
        expect((await b.getRun(runId))?.error).toBeUndefined()
        expect(runOf(await b.runsForEvent(eventId), 'r', 1).state, 'skipLater of a patch not written').toBe('pending')
        expect(await b.updateRun(runId, { state: 'retrying', runAt: Date.now(), expect: { state: 'running', attempt: 1 } })).toBe(true)
        expect(await b.getRun(runId)).toMatchObject({ state: 'retrying', attempt: 1 })

        // In settle, a stale patch is not written, but the work ends and its schedule applies.
        await a.settle(work, {
          patch: { state: 'done', expect: { state: 'running', attempt: 1 } },
          schedule: [{ runId: other, at: Date.now() }],
        })
        expect(await b.getRun(runId)).toMatchObject({ state: 'retrying' })
        await takeId(b, 'B', other)
        expect(runOf(await b.runsForEvent(eventId), 'r', 1).state).toBe('pending')
      })

      it('updates a run without scheduling it; schedule puts it in', async () => {
        const { a, b } = await pair()
        const { runs } = await seed(a, [newRun('r', 0)])
        const runId = runOf(runs, 'r', 0).id
        await a.updateRun(runId, { state: 'retrying', error: 'cut off', attempt: 3, runAt: 123 })
        expect(await b.getRun(runId)).toMatchObject({ state: 'retrying', error: 'cut off', attempt: 3, runAt: 123 })
        await a.updateRun(runId, { state: 'pending', error: null, attempt: 0 })
        const run = must(await b.getRun(runId), 'run')
        expect(run).toMatchObject({ state: 'pending', attempt: 0 })
        expect(run.error, 'null clears it').toBeUndefined()
        expect(await takenDuring(b, 'B', [runId], 500), 'updateRun schedules nothing').toEqual([])
        await a.schedule([{ runId, at: Date.now() }])
        await takeId(b, 'B', runId)
        expect(await a.getRun('run_00000000000000000000000000')).toBeUndefined()
      })
    })

    describe('leases', () => {
      it('lets another worker take work whose lease expired; the old holder has lost it', async () => {
        const { a, b } = await pair()
        const { runs } = await seed(a, [newRun('r', 0, { queue: true })])
        const runId = runOf(runs, 'r', 0).id
        const held = await takeId(a, 'A', runId)
        expect(await takenDuring(b, 'B', [runId], LEASE / 2), 'before the lease expires').toEqual([])
        const taken = await takeId(b, 'B', runId, LEASE + 5000)
        expect(taken.end - held.start, 'not before the lease expired').toBeGreaterThanOrEqual(LEASE - SLOP)
        expect((await a.extend([held.work])).map((w) => w.id)).toEqual([runId])
        // A's late write is applied: B finds the run done and does not start it.
        await a.settle(held.work, { patch: { state: 'done' } })
        expect(await b.getRun(runId)).toMatchObject({ state: 'done' })
        expect(await b.claim(taken.work, Date.now())).toBeUndefined()
      })

      it('keeps work leased while it is extended', async () => {
        const { a, b } = await pair()
        const { runs } = await seed(a, [newRun('r', 0, { queue: true })])
        const runId = runOf(runs, 'r', 0).id
        const held = await takeId(a, 'A', runId)
        const extensions: Promise<Work[]>[] = []
        const timer = setInterval(() => extensions.push(a.extend([held.work])), LEASE / 3)
        let during: Work[]
        try {
          during = await takenDuring(b, 'B', [runId], 3 * LEASE)
        } finally {
          clearInterval(timer)
        }
        expect(during).toEqual([])
        expect(extensions.length).toBeGreaterThanOrEqual(3)
        for (const lost of await Promise.all(extensions)) expect(lost).toEqual([])
        // Once A stops extending, the lease runs out like any other.
        await takeId(b, 'B', runId, LEASE + 5000)
      })

      it('makes released work due at once', async () => {
        // A long lease: work that came back only by expiring would fail the timing.
        const { a, b } = await pair(10_000)
        const { id } = await a.accept(delivery())
        const match = await takeId(a, 'A', id)
        await a.release([match.work])
        const start = Date.now()
        const again = await takeId(b, 'B', id, 3000)
        expect(again.end - start).toBeLessThan(2000)
        expect(again.work.kind).toBe('match')

        const runs = must(await b.dispatch(again.work, [newRun('r', 0, { queue: true })]), 'runs')
        const runId = runOf(runs, 'r', 0).id
        const step = await takeId(a, 'A', runId)
        await a.release([step.work])
        const released = Date.now()
        const stepAgain = await takeId(b, 'B', runId, 3000)
        expect(stepAgain.end - released).toBeLessThan(2000)
        expect(await b.getRun(runId), 'released unstarted').toMatchObject({ state: 'pending', attempt: 0 })
      })
    })

    describe('recovery', () => {
      it('hands work back after the process holding it died, and keeps what is scheduled', async () => {
        const a = await create()
        const { eventId, runs } = await seed(a, [
          newRun('x', 0, { queue: true }),
          newRun('y', 0, { queue: true, runAt: Date.now() + 2500 }),
          newRun('z', 0, { queue: true }),
        ])
        const [x, y, z] = [runOf(runs, 'x', 0), runOf(runs, 'y', 0), runOf(runs, 'z', 0)]
        const steps = await collect(a, 'A', [x.id, z.id], 3000)
        const xWork = must(steps.get(x.id), 'x taken').work
        const zWork = must(steps.get(z.id), 'z taken').work
        await a.claim(xWork, Date.now())
        await a.claim(zWork, Date.now())
        const retryAt = Date.now() + 2500
        await a.settle(zWork, { patch: { state: 'retrying', error: 'boom' }, schedule: [{ runId: z.id, at: retryAt }] })
        const leasedEvent = (await a.accept(delivery())).id
        await takeId(a, 'A', leasedEvent)
        const dueEvent = (await a.accept(delivery())).id
        const duplicateOf = must(await a.getEvent(eventId), 'event')

        const c = await reopen(a)
        expect(c.isReady()).toBe(true)
        const found = await collect(c, 'C', [x.id, leasedEvent, dueEvent, y.id, z.id], LEASE + 8000)
        expect([...found.keys()].sort()).toEqual([x.id, leasedEvent, dueEvent, y.id, z.id].sort())
        expect(must(found.get(y.id), 'y').end, 'scheduled work keeps its time').toBeGreaterThanOrEqual(y.runAt - SLOP)
        expect(must(found.get(z.id), 'z').end, 'a delayed retry keeps its time').toBeGreaterThanOrEqual(retryAt - SLOP)
        expect(await c.getRun(x.id), 'as the dead process left it').toMatchObject({ state: 'running', attempt: 1 })
        expect(await c.getRun(z.id)).toMatchObject({ state: 'retrying', attempt: 1, error: 'boom' })
        const again = await c.accept({
          type: duplicateOf.type,
          body: duplicateOf.body,
          hash: duplicateOf.hash,
          receivedAt: Date.now(),
          dedupeWindow: 60_000,
        })
        expect(again, 'the dedupe key is durable').toEqual({ id: eventId, duplicate: true })
      })
    })

    describe('once', () => {
      it('gives a key to exactly one of many concurrent runs', async () => {
        const { a, b } = await pair()
        const key = `once:${randomUUID()}`
        const now = Date.now()
        const runIds = Array.from({ length: 8 }, (_, i) => `run_once_${i}`)
        const got = await Promise.all(runIds.map((runId, i) => (i % 2 ? b : a).claimOnce(key, runId, now, null)))
        expect(got.filter(Boolean)).toHaveLength(1)
        const holder = must(runIds[got.indexOf(true)], 'holder')
        const others = runIds.filter((r) => r !== holder)
        const [loser, another] = [must(others[0], 'a loser'), must(others[1], 'another loser')]
        expect(await b.claimOnce(key, holder, Date.now(), null), 'the holder again').toBe(true)
        expect(await a.claimOnce(key, loser, Date.now(), null)).toBe(false)

        await a.releaseOnce(key, loser)
        expect(await b.claimOnce(key, another, Date.now(), null), 'released by a run that does not hold it').toBe(false)
        await b.releaseOnce(key, holder)
        expect(await a.claimOnce(key, another, Date.now(), null), 'released by the holder').toBe(true)
      })

      it('frees a key whose expiry passed', async () => {
        const { a, b } = await pair()
        const key = `once:${randomUUID()}`
        expect(await a.claimOnce(key, 'run_once_a', Date.now(), Date.now() + 300)).toBe(true)
        expect(await b.claimOnce(key, 'run_once_b', Date.now(), null)).toBe(false)
        await sleep(450)
        expect(await b.claimOnce(key, 'run_once_b', Date.now(), null)).toBe(true)
        expect(await a.claimOnce(key, 'run_once_a', Date.now(), null)).toBe(false)
      })
    })

    describe('debounce', () => {
      const pendingRun = async (backend: Backend, recipe = 'd') => runOf((await seed(backend, [newRun(recipe, 0)])).runs, recipe, 0)

      it('lets the latest run win and skips the one it replaces', async () => {
        const { a, b } = await pair()
        const key = `debounce:${randomUUID()}`
        const [r1, r2, r3] = [await pendingRun(a), await pendingRun(a), await pendingRun(a)]
        const t = Date.now()
        const first = await a.debounce({ key, runId: r1.id, now: t, wait: 1000, scope: 'run', reason: 'coalesced' })
        expect(first).toEqual({ dueAt: t + 1000, replaced: [] })
        expect(await b.getRun(r1.id), 'runAt is set to dueAt').toMatchObject({ state: 'pending', runAt: t + 1000 })
        expect(await b.debounce({ key, runId: r1.id, now: t + 50, wait: 1000, scope: 'run', reason: 'coalesced' }), 'asked again').toEqual({
          dueAt: t + 1000,
          replaced: [],
        })
        expect(await a.claimOnce('once-of-r1', r1.id, t, null)).toBe(true)

        const second = await b.debounce({ key, runId: r2.id, now: t + 100, wait: 1000, scope: 'run', reason: 'coalesced' })
        expect(second.dueAt).toBe(t + 1100)
        expect(second.replaced.map((r) => r.id)).toEqual([r1.id])
        expect(await a.getRun(r1.id)).toMatchObject({ state: 'skipped' })
        expect(await a.getRun(r2.id)).toMatchObject({ state: 'pending', runAt: t + 1100 })
        expect(await a.claimOnce('once-of-r1', 'run_someone_else', t + 100, null), 'a replaced run gives its once keys back').toBe(true)

        await a.releaseDebounce(key, r2.id)
        const third = await b.debounce({ key, runId: r3.id, now: t + 200, wait: 1000, scope: 'run', reason: 'coalesced' })
        expect(third, 'a new window').toEqual({ dueAt: t + 1200, replaced: [] })
        expect(await a.getRun(r2.id), 'the fired run is not replaced').toMatchObject({ state: 'pending' })
      })

      it('schedules the step after a run a step debounce replaced, in the same write; asking again replaces nothing', async () => {
        const { a, b } = await pair()
        const first = await seed(a, [newRun('d', 0), newRun('d', 1), newRun('d', 2)])
        const second = await seed(a, [newRun('d', 0), newRun('d', 1)])
        const key = `k-${randomUUID()}`
        const t = Date.now()
        const [a0, a1, b0] = [runOf(first.runs, 'd', 0).id, runOf(first.runs, 'd', 1).id, runOf(second.runs, 'd', 0).id]
        await a.debounce({ key, runId: a0, now: t, wait: 1000, scope: 'run', reason: 'coalesced' })
        const answer = await b.debounce({ key, runId: b0, now: t + 5, wait: 1000, scope: 'run', reason: 'coalesced into b' })
        expect(answer.replaced.map((r) => r.id)).toEqual([a0])
        expect(await a.getRun(a0)).toMatchObject({ state: 'skipped', error: 'coalesced into b' })
        // Its recipe goes on with the next step, even if this answer never reached the caller.
        await takeId(b, 'B', a1)
        expect(runOf(await a.runsForEvent(first.eventId), 'd', 2).state).toBe('pending')
        const again = await b.debounce({ key, runId: b0, now: t + 10, wait: 1000, scope: 'run', reason: 'coalesced into b' })
        expect(again).toEqual({ dueAt: answer.dueAt, replaced: [] })
      })

      it('caps the delay at maxWait from the first arrival', async () => {
        const a = await create()
        const key = `debounce:${randomUUID()}`
        const runs = [await pendingRun(a), await pendingRun(a), await pendingRun(a)]
        const t = Date.now()
        const ask = (i: number, now: number) =>
          a.debounce({ key, runId: must(runs[i], 'run').id, now, wait: 1000, maxWait: 1500, scope: 'run', reason: 'coalesced' })
        expect((await ask(0, t)).dueAt).toBe(t + 1000)
        expect((await ask(1, t + 800)).dueAt).toBe(t + 1500)
        expect((await ask(2, t + 1400)).dueAt).toBe(t + 1500)
        expect(await a.getRun(must(runs[2], 'run').id)).toMatchObject({ runAt: t + 1500 })
      })

      it("skips every pending run of the replaced run's job with scope 'job'", async () => {
        const { a, b } = await pair()
        const key = `debounce:${randomUUID()}`
        const old = await seed(a, [newRun('j', 0), newRun('j', 1), newRun('j', 2), newRun('other', 0)])
        const latest = await pendingRun(a, 'j')
        const t = Date.now()
        await a.debounce({ key, runId: runOf(old.runs, 'j', 0).id, now: t, wait: 1000, scope: 'job', reason: 'coalesced' })
        const { replaced } = await b.debounce({ key, runId: latest.id, now: t + 10, wait: 1000, scope: 'job', reason: 'coalesced' })
        const job = [0, 1, 2].map((i) => runOf(old.runs, 'j', i).id)
        expect(replaced.map((r) => r.id).sort()).toEqual([...job].sort())
        const after = await a.runsForEvent(old.eventId)
        for (const i of [0, 1, 2]) expect(runOf(after, 'j', i).state).toBe('skipped')
        expect(runOf(after, 'other', 0).state, 'another recipe of the event').toBe('pending')
        expect(await a.getRun(latest.id)).toMatchObject({ state: 'pending' })
      })

      it('leaves exactly one run pending of concurrent requests on one key', async () => {
        const { a, b } = await pair()
        const key = `debounce:${randomUUID()}`
        const runs: StepRun[] = []
        for (let i = 0; i < 6; i++) runs.push(await pendingRun(a))
        const t = Date.now()
        const answers = await Promise.all(
          runs.map((run, i) => (i % 2 ? b : a).debounce({ key, runId: run.id, now: t + i, wait: 1000, scope: 'run', reason: 'coalesced' })),
        )
        const states = await Promise.all(runs.map(async (run) => must(await a.getRun(run.id), 'run').state))
        expect(states.filter((s) => s === 'pending')).toHaveLength(1)
        expect(states.filter((s) => s === 'skipped')).toHaveLength(5)
        const replaced = answers.flatMap((r) => r.replaced.map((run) => run.id))
        expect(replaced, 'each loser replaced exactly once').toHaveLength(5)
        expect(new Set(replaced).size).toBe(5)
        const survivor = must(runs[states.indexOf('pending')], 'survivor')
        const again = await b.debounce({ key, runId: survivor.id, now: t + 100, wait: 1000, scope: 'run', reason: 'coalesced' })
        expect(again.replaced).toEqual([])
        expect(again.dueAt).toBe(must(await a.getRun(survivor.id), 'survivor').runAt)
      })
    })

    describe('limiter', () => {
      it('holds a lane to its concurrency across workers', async ({ skip }) => {
        const { a, b } = await pair()
        if (!a.limiter) return skip()
        const limiters = [a.limiter, b.limiter ?? a.limiter]
        const lane = `lane:${randomUUID()}`
        const spans: Array<[number, number]> = []
        await Promise.all(
          Array.from({ length: 10 }, async (_, i) => {
            const limiter = must(limiters[i % 2], 'limiter')
            const start = await acquire(limiter, lane, `h${i}`, { concurrency: 1 }, 10_000)
            await sleep(30)
            spans.push([start, Date.now()])
            await limiter.release(lane, `h${i}`)
          }),
        )
        spans.sort((x, y) => x[0] - y[0])
        expect(spans).toHaveLength(10)
        for (let i = 1; i < spans.length; i++) {
          const [prev, next] = [must(spans[i - 1], 'span'), must(spans[i], 'span')]
          expect(next[0], 'a holder started before the last one released').toBeGreaterThanOrEqual(prev[1])
        }
      })

      it('lets the next holder in on release, or when a slot expires', async ({ skip }) => {
        const { a, b } = await pair()
        if (!a.limiter) return skip()
        const [la, lb] = [a.limiter, b.limiter ?? a.limiter]
        const lane = `lane:${randomUUID()}`
        expect(await la.acquire(lane, 'h1', { concurrency: 1 }, 10_000)).toBe(0)
        expect(await lb.acquire(lane, 'h2', { concurrency: 1 }, 10_000)).toBeGreaterThan(0)
        await la.release(lane, 'h1')
        expect(await lb.acquire(lane, 'h2', { concurrency: 1 }, 500), 'released').toBe(0)
        const start = Date.now()
        expect(await la.acquire(lane, 'h3', { concurrency: 1 }, 500)).toBeGreaterThan(0)
        const got = await acquire(la, lane, 'h3', { concurrency: 1 }, 500, 5000)
        // h2's slot was taken before `start`, so it can expire a little less than 500 ms after it.
        expect(got - start).toBeGreaterThanOrEqual(300)
        expect(got - start).toBeLessThan(5000)
      })

      it('holds a lane to its rate across workers', async ({ skip }) => {
        const { a, b } = await pair()
        if (!a.limiter) return skip()
        const limiters = [a.limiter, b.limiter ?? a.limiter]
        const lane = `lane:${randomUUID()}`
        const rate = { limit: 2, interval: 500 }
        const starts = await Promise.all(
          Array.from({ length: 5 }, async (_, i) => {
            const limiter = must(limiters[i % 2], 'limiter')
            const at = await acquire(limiter, lane, `h${i}`, { rate }, 10_000)
            await limiter.release(lane, `h${i}`)
            return at
          }),
        )
        starts.sort((x, y) => x - y)
        // We see a start a little after the backend counted it, hence the margin.
        for (let i = 0; i + 2 < starts.length; i++)
          expect(must(starts[i + 2], 'start') - must(starts[i], 'start'), `three starts within ${rate.interval} ms`).toBeGreaterThanOrEqual(
            rate.interval - 100,
          )
      })
    })

    describe('listing and upkeep', () => {
      it('lists events newest first, pages by cursor, filters by type, with a brief of each run', async () => {
        const a = await create()
        const types: EventType[] = ['title-updated', 'title-ready', 'asset-transcoded']
        const base = Date.now()
        const accepted: Array<{ id: string; type: EventType; receivedAt: number; title: string }> = []
        for (let i = 0; i < 25; i++) {
          // Groups of three share a received time, so the id decides between them.
          const d = delivery({ type: must(types[i % 3], 'type'), receivedAt: base - 1000 + Math.floor(i / 3) * 10 })
          accepted.push({ id: (await a.accept(d)).id, type: d.type, receivedAt: d.receivedAt, title: must(d.title, 'title') })
        }
        const order = [...accepted].sort((x, y) => y.receivedAt - x.receivedAt || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0))

        const pages: string[][] = []
        let before: { receivedAt: number; id: string } | undefined
        for (let i = 0; i < 5; i++) {
          const page = await a.listEvents(before ? { limit: 10, before } : { limit: 10 })
          if (page.length === 0) break
          pages.push(page.map((e) => e.id))
          const last = must(page.at(-1), 'last of page')
          before = { receivedAt: last.receivedAt, id: last.id }
        }
        expect(pages.map((p) => p.length)).toEqual([10, 10, 5])
        expect(pages.flat()).toEqual(order.map((e) => e.id))
        expect(await a.listEvents(), 'default limit').toHaveLength(20)
        expect((await a.listEvents({ type: 'title-ready', limit: 100 })).map((e) => e.id)).toEqual(
          order.filter((e) => e.type === 'title-ready').map((e) => e.id),
        )

        const picked = must(accepted[4], 'an event')
        const { work } = await takeId(a, 'A', picked.id)
        // A comma and a quote in the recipe's name: it comes from the config, and the listing must carry it whole.
        const recipe = 'podcast, "ready"'
        const runs = must(await a.dispatch(work, [newRun(recipe, 0), newRun(recipe, 1, { action: 'email' })]), 'runs')
        await sleep(5)
        await a.updateRun(runOf(runs, recipe, 0).id, { state: 'done' })
        const listed = await a.listEvents({ limit: 100 })
        const record = must(
          listed.find((e) => e.id === picked.id),
          'the dispatched event',
        )
        expect(record).toMatchObject({ type: picked.type, receivedAt: picked.receivedAt, dispatched: true, title: picked.title })
        const briefs = [...record.runs].sort((x, y) => (x.action < y.action ? -1 : 1))
        const [email, log] = [
          must(await a.getRun(runOf(runs, recipe, 1).id), 'run 1'),
          must(await a.getRun(runOf(runs, recipe, 0).id), 'run 0'),
        ]
        expect(briefs).toEqual([
          { recipe, action: 'email', state: 'pending', updatedAt: email.updatedAt },
          { recipe, action: 'log', state: 'done', updatedAt: log.updatedAt },
        ])
        for (const brief of briefs) expect(typeof brief.updatedAt).toBe('number')
        expect(log.updatedAt, 'changed after dispatch, so a brief cannot pass with its creation time').toBeGreaterThan(email.updatedAt)
        const untouched = must(
          listed.find((e) => e.id !== picked.id),
          'another event',
        )
        expect(untouched).toMatchObject({ dispatched: false, runs: [] })

        const now = Date.now()
        const copy = must(await a.replayEvent(picked.id, now), 'replayed id')
        expect(copy).not.toBe(picked.id)
        const original = must(await a.getEvent(picked.id), 'original')
        const replayed = must(await a.getEvent(copy), 'copy')
        expect(replayed).toMatchObject({ type: original.type, body: original.body, receivedAt: now })
        expect(replayed.dispatchedAt).toBeUndefined()
        expect((await takeId(a, 'A', copy)).work.kind).toBe('match')
        expect(await a.replayEvent('evt_00000000000000000000000000', now)).toBeUndefined()
      })

      it('prunes finished events with their runs, keeps unfinished ones, and expired dedupe keys', async () => {
        const a = await create()
        const done = await seed(a, [newRun('p', 0)])
        await a.updateRun(runOf(done.runs, 'p', 0).id, { state: 'done' })
        const unmatched = await seed(a, [])
        const open = await seed(a, [newRun('p', 0), newRun('q', 0)])
        await a.updateRun(runOf(open.runs, 'q', 0).id, { state: 'dead' })
        const openDelivery = delivery()
        const received = (await a.accept(openDelivery)).id
        const short = delivery({ dedupeWindow: 200 })
        const shortId = (await a.accept(short)).id

        const none = await a.prune(Date.now(), Date.now() - 60_000)
        expect(none.events, 'nothing was received that long ago').toBe(0)
        expect(none.runs).toBe(0)
        expect(await a.getEvent(done.eventId)).toBeDefined()

        await sleep(350)
        const pruned = await a.prune(Date.now(), Date.now() + 1000)
        expect(pruned.events).toBeGreaterThanOrEqual(2)
        expect(pruned.runs).toBeGreaterThanOrEqual(1)
        expect(await a.getEvent(done.eventId)).toBeUndefined()
        expect(await a.getRun(runOf(done.runs, 'p', 0).id)).toBeUndefined()
        expect(await a.getEvent(unmatched.eventId)).toBeUndefined()
        expect(await a.getEvent(open.eventId), 'an event with an open run').toBeDefined()
        expect(await a.getRun(runOf(open.runs, 'p', 0).id)).toMatchObject({ state: 'pending' })
        expect((await a.runsForEvent(open.eventId)).map((r) => r.state).sort(), 'an unfinished event keeps all its runs').toEqual([
          'dead',
          'pending',
        ])
        expect(await a.getEvent(received), 'an event not matched yet').toBeDefined()
        expect((await a.listEvents({ limit: 100 })).map((e) => e.id).sort()).toEqual([open.eventId, received, shortId].sort())

        expect((await a.accept({ ...short, receivedAt: Date.now() })).duplicate, 'its dedupe key expired').toBe(false)
        expect(await a.accept({ ...openDelivery, receivedAt: Date.now() }), 'a live dedupe key').toEqual({ id: received, duplicate: true })
      })

      it('counts the schedule as work is accepted, taken and settled', async () => {
        const a = await create()
        expect(await a.stats()).toMatchObject({ scheduled: 0, due: 0, leased: 0 })
        const { id } = await a.accept(delivery())
        expect(await a.stats()).toMatchObject({ scheduled: 1, due: 1, leased: 0 })
        const match = await takeId(a, 'A', id)
        expect(await a.stats()).toMatchObject({ scheduled: 1, due: 0, leased: 1 })
        const now = Date.now()
        const runs = must(
          await a.dispatch(match.work, [
            newRun('s', 0, { queue: true, runAt: now }),
            newRun('s', 1, { queue: true, runAt: now + 60_000 }),
            newRun('s', 2),
          ]),
          'runs',
        )
        expect(await a.stats()).toMatchObject({ scheduled: 2, due: 1, leased: 0 })
        const step = await takeId(a, 'A', runOf(runs, 's', 0).id)
        expect(await a.stats()).toMatchObject({ scheduled: 2, due: 0, leased: 1 })
        await a.settle(step.work, { patch: { state: 'done' } })
        expect(await a.stats()).toMatchObject({ scheduled: 1, due: 0, leased: 0 })
      })

      it('tells the earliest due time of the work that is due and not leased', async () => {
        const a = await create()
        expect((await a.stats()).oldestDueAt, 'nothing in the schedule').toBeUndefined()
        const now = Date.now()
        const { runs } = await seed(a, [newRun('o', 0), newRun('p', 0), newRun('q', 0)])
        const [early, late, later] = [runOf(runs, 'o', 0).id, runOf(runs, 'p', 0).id, runOf(runs, 'q', 0).id]
        await a.schedule([{ runId: later, at: now + 60_000 }])
        expect((await a.stats()).oldestDueAt, 'work due later is not due').toBeUndefined()
        // The later due time first: the order of scheduling must not decide.
        await a.schedule([{ runId: late, at: now - 1000 }])
        await a.schedule([{ runId: early, at: now - 5000 }])
        expect(await a.stats()).toMatchObject({ due: 2, oldestDueAt: now - 5000 })

        const [taken] = await a.take({ worker: 'A', limit: 1, wait: 0 })
        const held = must(taken, 'a due run taken')
        const other = held.id === early ? late : early
        expect((await a.stats()).oldestDueAt, 'leased work does not count').toBe(other === early ? now - 5000 : now - 1000)
        await a.release([held])
        expect((await a.stats()).oldestDueAt, 'work given back is due since it was due').toBe(now - 5000)
        await a.take({ worker: 'A', limit: 10, wait: 0 })
        expect(await a.stats()).toMatchObject({ due: 0, leased: 2 })
        expect((await a.stats()).oldestDueAt).toBeUndefined()
      })

      it('ends match work settled without a dispatch', async () => {
        const { a, b } = await pair()
        const { id } = await a.accept(delivery())
        const match = await takeId(a, 'A', id)
        await a.settle(match.work, {})
        expect(await a.stats()).toMatchObject({ scheduled: 0, leased: 0 })
        expect(await takenDuring(b, 'B', [id], 2 * LEASE + 300)).toEqual([])
      })

      it('is ready while open and rejects writes once closed', async () => {
        const a = await create()
        expect(a.isReady()).toBe(true)
        expect(typeof a.driver).toBe('string')
        expect(a.lease).toBe(LEASE)
        await a.close()
        expect(a.isReady()).toBe(false)
        await expect(a.accept(delivery())).rejects.toThrow()
      })
    })
  })
}
