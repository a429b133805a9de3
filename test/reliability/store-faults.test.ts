/**
 * Store faults. The real one: the runner child's file-size limit
 * (RLIMIT_FSIZE, set with `prlimit` on its pid) is lowered below the size of
 * its SQLite files, so every write fails with EFBIG (SQLite: "disk I/O
 * error"), as on a full disk; then it is raised again. chmod cannot stand in:
 * SQLite keeps its file open, and tests may run as root. Deliveries must get
 * 503 (never a 2xx) during the fault, and the runner must recover after it.
 * An in-process variant (store methods replaced) covers machines without prlimit.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { StoreUnavailableError } from '../../src/errors.js'
import { writeConfig } from '../helpers/child.js'
import { closedPort, createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { startTestRunner, type TestRunner } from '../helpers/runner.js'
import { tempDir } from '../helpers/runner.js'
import { type Child, countBy, readStore, sleep, spawnRunner, waitUntil } from './helpers.js'
import { createReport } from './report.js'

const report = createReport()
afterAll(() => report.write())

const hasPrlimit = process.platform === 'linux' && spawnSync('prlimit', ['--version']).status === 0

let child: Child | undefined
let sink: HttpSink | undefined
let t: TestRunner | undefined
afterEach(async () => {
  await child?.kill()
  await sink?.close()
  await t?.close()
  child = undefined
  sink = undefined
  t = undefined
})

/** Every write of the process beyond 4 KB into any file fails (EFBIG) until `lift`. */
function breakWrites(pid: number): () => void {
  execFileSync('prlimit', ['--pid', String(pid), '--fsize=4096:unlimited'])
  return () => execFileSync('prlimit', ['--pid', String(pid), '--fsize=unlimited:unlimited'])
}

async function post(url: string, body: unknown): Promise<{ status: number; retryAfter: string | null; id?: string }> {
  const res = await fetch(`${url}/webhooks/title-ready`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  })
  const json = (await res.json()) as { id?: string }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), ...(json.id ? { id: json.id } : {}) }
}

async function startFaultyChild(stepDelay: number) {
  sink = await createHttpSink({ reply: { status: 200, delay: stepDelay } })
  const dir = tempDir('ar-store-')
  const db = join(dir, 'runner.db')
  writeConfig(dir, {
    auth: { allowUnauthenticated: true },
    store: { path: db },
    queue: { concurrency: 2, retry: { attempts: 5, delay: '200ms' } },
    recipes: [{ name: 'hook', on: 'title-ready', do: [{ action: 'http', with: { url: `${sink.url}/build?id={{id}}` } }] }],
  })
  const port = await closedPort()
  child = await spawnRunner(dir, { port })
  return { dir, db, port, url: child.url }
}

describe.skipIf(!hasPrlimit)('store faults: a real write failure (RLIMIT_FSIZE on the runner child)', () => {
  it('deliveries get 503 + Retry-After while the store cannot write, never a 2xx; 202 again once it can, and nothing acknowledged is lost', async () => {
    const row = report.row(
      'store-fault-ingest',
      'Store fault (real: EFBIG on every SQLite write via prlimit) during deliveries; then the limit is lifted',
    )
    const { db, url } = await startFaultyChild(5)
    const before = []
    for (let i = 0; i < 5; i++) before.push(await post(url, { id: i, pad: 'x'.repeat(1000) }))
    await waitUntil(async () => (await readStore(db)).runs.filter((r) => r.state === 'done').length === 5, 5000)
    const lift = breakWrites(child!.pid)
    const during = []
    try {
      for (let i = 5; i < 25; i++) during.push(await post(url, { id: i, pad: 'x'.repeat(1000) }))
    } finally {
      lift()
    }
    const after = []
    for (let i = 5; i < 30; i++) after.push(await post(url, { id: i, pad: 'x'.repeat(1000) })) // the refused ones again, as Audiorista would, and new ones
    const settled = await waitUntil(async () => {
      const s = await readStore(db)
      return s.events.length === 30 && s.runs.length === 30 && s.runs.every((r) => r.state === 'done')
    }, 10_000)
    const final = await readStore(db)
    const acked = [...before, ...during, ...after].filter((r) => r.status === 200 || r.status === 202)
    const lost = acked.filter((r) => !final.events.some((e) => e.id === r.id))
    row.tried = `${before.length + during.length + after.length} deliveries (${during.length} during the fault)`
    row.lost = lost.length
    row.duplicated = final.events.length - 30
    row.notes = `during the fault: ${during.filter((d) => d.status === 503 && /^\d+$/.test(d.retryAfter ?? '')).length}/${during.length} × 503 + Retry-After, ${during.filter((d) => d.status < 300).length} × 2xx; after: ${after.filter((a) => a.status === 202).length}/${after.length} × 202; all ${final.runs.filter((r) => r.state === 'done').length} steps done: ${settled}`
    expect(before.every((r) => r.status === 202)).toBe(true)
    expect(during.map((d) => d.status)).toEqual(during.map(() => 503))
    for (const d of during) expect(d.retryAfter).toMatch(/^\d+$/)
    expect(after.every((r) => r.status === 202)).toBe(true)
    expect(lost).toEqual([])
    expect(settled).toBe(true)
    expect(final.events).toHaveLength(30)
    row.result = 'pass'
  }, 40_000)

  // Was a bug: a step caught by a store fault stayed stuck until a restart. The engine now tries the run
  // again with backoff, and a success that could not be recorded is retried as a write, not as an action.
  it('steps caught by the fault finish once the store can write again, without a restart', async () => {
    const row = report.row('store-fault-steps', 'Store fault (real, EFBIG) while steps run: do they resume without a restart?')
    row.result = 'known bug'
    const { db, url } = await startFaultyChild(400)
    for (let i = 0; i < 6; i++) expect((await post(url, { id: i })).status).toBe(202)
    await sink!.waitFor(2, 5000) // two steps in flight, four queued
    const lift = breakWrites(child!.pid)
    await sleep(1000) // the in-flight attempts end and cannot be recorded; the queued ones cannot be claimed
    lift()
    const resumed = await waitUntil(async () => (await readStore(db)).runs.every((r) => r.state === 'done'), 6000)
    const stuck = (await readStore(db)).runs.filter((r) => r.state !== 'done')
    row.tried = '6 steps (2 in flight, 4 queued) during a 1 s fault'
    row.lost = `${stuck.length} stuck (${
      Object.entries(Object.fromEntries(countBy(stuck, (r) => r.state)))
        .map(([s, n]) => `${n} ${s}`)
        .join(', ') || 'none'
    }) 6 s after the fault`
    row.duplicated = 0
    row.notes = `the store failure is logged and the runs are tried again with backoff; all done without a restart: ${resumed}`
    expect(stuck).toEqual([])
    expect(resumed).toBe(true)
    row.result = 'pass'
  }, 30_000)

  it('a restart after the fault finishes the stuck steps (at least once: a step whose success could not be recorded runs again)', async () => {
    const row = report.row('store-fault-restart', 'Store fault (real, EFBIG) while steps run, then a restart')
    const { db, dir, port } = await startFaultyChild(400)
    for (let i = 0; i < 6; i++) expect((await post(child!.url, { id: i })).status).toBe(202)
    await sink!.waitFor(2, 5000)
    const lift = breakWrites(child!.pid)
    await sleep(1000)
    lift()
    await sleep(500)
    await child!.kill('SIGTERM')
    child = await spawnRunner(dir, { port })
    const done = await waitUntil(async () => (await readStore(db)).runs.every((r) => r.state === 'done'), 10_000)
    const runs = (await readStore(db)).runs
    const perRun = countBy(sink!.requests, (r) => String(r.headers['idempotency-key']))
    const repeated = [...perRun.values()].filter((n) => n > 1).length
    row.tried = '6 steps (2 in flight during a 1 s fault), then SIGTERM and a new start'
    row.lost = runs.filter((r) => r.state !== 'done').length
    const extra = [...perRun.values()].reduce((sum, n) => sum + n - 1, 0)
    row.duplicated = `${repeated} of 6 steps reached the target more than once (${extra} extra calls): at-least-once, for steps whose success could not be recorded during the fault`
    row.notes = `all done after the restart: ${done}`
    expect(done).toBe(true)
    expect(perRun.size).toBe(6)
    expect(runs).toHaveLength(6)
    row.result = 'pass'
  }, 40_000)

  // Was a bug: /readyz answered 200 while every delivery got 503. The store now reports itself unready
  // after a failed write until a probe write succeeds.
  it('/readyz answers 503 while the store cannot write', async () => {
    const row = report.row('store-fault-readyz', 'Store fault (real, EFBIG): does /readyz say 503 while deliveries are refused?')
    row.result = 'known bug'
    const { url } = await startFaultyChild(5)
    const lift = breakWrites(child!.pid)
    let delivery: number
    let ready: number
    try {
      delivery = (await post(url, { id: 1 })).status
      ready = (await fetch(`${url}/readyz`)).status
    } finally {
      lift()
    }
    row.tried = '1 delivery + 1 /readyz during the fault'
    row.lost = 0
    row.duplicated = 0
    row.notes = `delivery ${delivery}, /readyz ${ready}`
    expect(delivery).toBe(503)
    expect(ready).toBe(503)
    row.result = 'pass'
  }, 30_000)
})

describe('store faults: in-process (store methods replaced), also where prlimit is missing', () => {
  it('accept failing → 503 + Retry-After, never a 2xx; recovers when accept works again', async () => {
    const row = report.row('store-fault-inprocess', 'Store fault (in-process: store.accept rejects like SQLITE_FULL) then recovers')
    t = await startTestRunner({ auth: { allowUnauthenticated: true }, recipes: [] })
    const { store } = t.runner
    const accept = store.accept
    store.accept = () =>
      Promise.reject(new StoreUnavailableError('the store failed', { cause: new Error('SQLITE_FULL: database or disk is full') }))
    const during = []
    try {
      for (let i = 0; i < 10; i++) during.push(await t.post('title-ready', { id: i }))
    } finally {
      store.accept = accept
    }
    const after = []
    for (let i = 0; i < 10; i++) after.push(await t.post('title-ready', { id: i }))
    const events = await store.listEvents({ limit: 100 })
    row.tried = `${during.length + after.length} deliveries`
    row.lost = 0
    row.duplicated = events.length - 10
    row.notes = `during: ${during.filter((d) => d.status === 503 && d.headers.get('retry-after')).length}/10 × 503 + Retry-After; after: ${after.filter((a) => a.status === 202).length}/10 × 202`
    expect(during.every((d) => d.status === 503 && /^\d+$/.test(d.headers.get('retry-after') ?? ''))).toBe(true)
    expect(after.every((a) => a.status === 202)).toBe(true)
    expect(events).toHaveLength(10)
    row.result = 'pass'
  })

  // Was a bug: a run whose claim failed was dropped until a restart. The engine now tries it again with backoff.
  it('a run whose claim fails while the store is failing is run once the store works again', async () => {
    sink = await createHttpSink()
    t = await startTestRunner({
      auth: { allowUnauthenticated: true },
      queue: { concurrency: 1, retry: { attempts: 3, delay: 50 } },
      recipes: [{ name: 'hook', on: 'title-ready', do: [{ action: 'http', with: { url: `${sink.url}/build?id={{id}}` } }] }],
    })
    const { store } = t.runner
    const claim = store.claim
    store.claim = () =>
      Promise.reject(new StoreUnavailableError('the store failed', { cause: new Error('SQLITE_IOERR_WRITE: disk I/O error') }))
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await t.post('title-ready', { id: i })).json.id)
    await sleep(300)
    store.claim = claim
    const done = await waitUntil(
      async () => (await Promise.all(ids.map((id) => store.runsForEvent(id)))).flat().every((r) => r.state === 'done'),
      3000,
    )
    // The failure is logged, and the run is tried again by itself.
    expect(
      t
        .lines()
        .filter((l) => String(l.msg).startsWith('engine error'))
        .every((l) => String(l.msg).includes('trying again')),
    ).toBe(true)
    expect(done).toBe(true)
    expect(sink.count).toBe(3)
  })
})
