import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { StepRun } from '../../src/store/backend.js'
import type { Config } from '../../src/types.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { startTestRunner, tempDir, type TestRunner } from '../helpers/runner.js'

let t: TestRunner | undefined
let sink: HttpSink | undefined
afterEach(async () => {
  await t?.close()
  await sink?.close()
  t = undefined
  sink = undefined
})

const title = { id: 4211, name: 'Episode 42', tags: [{ name: 'Podcast', slug: 'podcast' }] }

function config(steps: NonNullable<Config['recipes']>[number]['do'], extra: Partial<Config> = {}): Config {
  return {
    auth: { allowUnauthenticated: true },
    queue: { concurrency: 4, timeout: '2s', retry: { attempts: 4, delay: 100, factor: 2, maxDelay: '5s' } },
    recipes: [{ name: 'r', on: 'title-ready', do: steps }],
    ...extra,
  }
}

const deliver = (runner: TestRunner, body: unknown = title): Promise<StepRun[]> => runner.deliver('title-ready', body)

describe('engine: retries, errors, timeouts, order', () => {
  it('retries a failing step with exponential backoff, then records it done', async () => {
    sink = await createHttpSink()
    sink.replyOnce({ status: 500 })
    sink.replyOnce({ status: 503 })
    sink.replyOnce({ status: 502 })
    t = await startTestRunner(config([{ action: 'http', with: { url: `${sink.url}/hook` } }]))
    const [run] = await deliver(t)
    expect(run).toMatchObject({ state: 'done', attempt: 4 })
    expect(sink.requests).toHaveLength(4)
    // Idempotency-Key is the run id, the same on every attempt.
    expect(new Set(sink.requests.map((r) => r.headers['idempotency-key']))).toEqual(new Set([run!.id]))
  })

  it('waits delay × factor^n (±20% jitter) between attempts', async () => {
    sink = await createHttpSink({ reply: { status: 500 } })
    const at: number[] = []
    sink.reply(() => {
      at.push(Date.now())
      return { status: 500 }
    })
    t = await startTestRunner(config([{ action: 'http', with: { url: sink.url } }]))
    const [run] = await deliver(t)
    expect(run).toMatchObject({ state: 'dead', attempt: 4 })
    expect(run!.error).toContain('500')
    const gaps = at.slice(1).map((x, i) => x - at[i]!)
    const expected = [100, 200, 400]
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(expected[i]! * 0.8 - 5)
      expect(gap).toBeLessThan(expected[i]! * 1.2 + 150)
    })
  })

  it('a permanent failure (404) is dead after one attempt and skips the later steps', async () => {
    sink = await createHttpSink({ reply: { status: 404 } })
    t = await startTestRunner(
      config([
        { action: 'http', with: { url: `${sink.url}/gone` } },
        { action: 'http', with: { url: `${sink.url}/never` } },
      ]),
    )
    const runs = await deliver(t)
    expect(runs.map((r) => [r.stepIndex, r.state, r.attempt])).toEqual([
      [0, 'dead', 1],
      [1, 'skipped', 0],
    ])
    expect(runs[1]!.error).toContain('step 1 failed')
    expect(sink.requests.map((r) => r.path)).toEqual(['/gone'])
  })

  it('continueOnError runs the later steps after a dead one', async () => {
    sink = await createHttpSink()
    sink.reply((r) => ({ status: r.path === '/bad' ? 400 : 200 }))
    t = await startTestRunner(
      config([
        { action: 'http', with: { url: `${sink.url}/bad` }, continueOnError: true },
        { action: 'http', with: { url: `${sink.url}/good` } },
      ]),
    )
    const runs = await deliver(t)
    expect(runs.map((r) => r.state)).toEqual(['dead', 'done'])
  })

  it('honours Retry-After from a 429 before the next attempt', async () => {
    sink = await createHttpSink()
    const at: number[] = []
    sink.reply(() => {
      at.push(Date.now())
      return at.length === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }
    })
    t = await startTestRunner(config([{ action: 'http', with: { url: sink.url } }]))
    const [run] = await deliver(t)
    expect(run).toMatchObject({ state: 'done', attempt: 2 })
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(990)
  })

  it('a step timeout aborts the attempt and retries it', async () => {
    sink = await createHttpSink()
    sink.replyOnce({ hang: true })
    t = await startTestRunner(config([{ action: 'http', with: { url: sink.url }, timeout: 300 }]))
    const [run] = await deliver(t)
    expect(run).toMatchObject({ state: 'done', attempt: 2 })
    expect(sink.count).toBe(2)
  })

  it('aborts the plugin signal on timeout and records the timeout as the error', async () => {
    const dir = tempDir()
    writeFileSync(
      join(dir, 'probe.ts'),
      `import { definePlugin } from 'audiorista-runner'
export default definePlugin({
  name: 'probe',
  async run(_input, ctx) {
    const g = globalThis as any
    g.probeSignals = [...(g.probeSignals ?? []), ctx.signal]
    await new Promise((resolve) => setTimeout(resolve, 5000))
    return { late: true }
  },
})
`,
    )
    ;(globalThis as { probeSignals?: AbortSignal[] }).probeSignals = []
    t = await startTestRunner(
      config([{ action: 'probe', timeout: 200, retry: { attempts: 2, delay: 50 } }], { plugins: [join(dir, 'probe.ts')] }),
      { dir },
    )
    const [run] = await deliver(t)
    expect(run).toMatchObject({ state: 'dead', attempt: 2 })
    expect(run!.error).toMatch(/timed out after 200 ms/)
    const signals = (globalThis as { probeSignals?: AbortSignal[] }).probeSignals!
    expect(signals).toHaveLength(2)
    expect(signals.every((s) => s.aborted)).toBe(true)
  })

  it('runs steps in order and gives later steps the results of earlier ones', async () => {
    sink = await createHttpSink()
    sink.reply((r) => ({ status: 200, body: r.path === '/first' ? { build: 'b-17' } : 'ok' }))
    t = await startTestRunner(
      config([
        { name: 'first', action: 'http', with: { url: `${sink.url}/first` } },
        { name: 'second', action: 'http', with: { url: `${sink.url}/second`, body: { prev: '{{steps.first.status}}', name: '{{name}}' } } },
      ]),
    )
    const runs = await deliver(t)
    expect(runs.map((r) => r.state)).toEqual(['done', 'done'])
    expect(sink.requests.map((r) => r.path)).toEqual(['/first', '/second'])
    // A value that is exactly one expression keeps its JSON type.
    expect(sink.requests[1]!.json()).toEqual({ prev: 200, name: 'Episode 42' })
  })

  it('skips a step whose `if` does not hold, saying why, and goes on', async () => {
    sink = await createHttpSink()
    t = await startTestRunner(
      config([
        { action: 'http', if: { 'share.url': { exists: true } }, with: { url: `${sink.url}/a` } },
        { action: 'http', with: { url: `${sink.url}/b` } },
      ]),
    )
    const runs = await deliver(t)
    expect(runs.map((r) => r.state)).toEqual(['skipped', 'done'])
    expect(runs[0]!.error).toMatch(/share\.url/)
    expect(sink.requests.map((r) => r.path)).toEqual(['/b'])
  })

  it('a step whose input renders invalid is dead at once, before any attempt, with a message naming the field once', async () => {
    t = await startTestRunner(config([{ action: 'http', with: { url: '{{share.url}}' } }]))
    const [run] = await deliver(t)
    expect(run!.state).toBe('dead')
    expect(run!.attempt).toBe(0)
    expect(run!.error).toBe('recipes[0].do[0].with.url rendered empty; it must be an absolute http(s) URL')
  })

  it('matches only recipes whose event and condition hold, and records nothing for others', async () => {
    sink = await createHttpSink()
    t = await startTestRunner({
      auth: { allowUnauthenticated: true },
      recipes: [
        { name: 'podcasts', on: 'title-ready', when: { tag: 'podcast' }, do: [{ action: 'http', with: { url: `${sink.url}/podcast` } }] },
        { name: 'books', on: 'title-ready', when: { tag: 'audiobook' }, do: [{ action: 'http', with: { url: `${sink.url}/book` } }] },
        { name: 'updates', on: 'title-updated', do: [{ action: 'http', with: { url: `${sink.url}/update` } }] },
        { name: 'off', on: 'title-ready', enabled: false, do: [{ action: 'http', with: { url: `${sink.url}/off` } }] },
      ],
    })
    const runs = await deliver(t)
    expect(runs.map((r) => r.recipe)).toEqual(['podcasts'])
    expect(sink.requests.map((r) => r.path)).toEqual(['/podcast'])
  })

  it('resumes pending and cut-off steps after a restart on the same store', async () => {
    const dir = tempDir()
    sink = await createHttpSink()
    const cfg = config([{ action: 'http', with: { url: sink.url } }])
    t = await startTestRunner(cfg, { dir })
    const { store } = t.runner
    await t.runner.engine.stop(0)
    // Record work as a crashed process would have left it: one step running, one pending.
    const a = await store.accept({
      type: 'title-ready',
      body: JSON.stringify({ id: 1 }),
      hash: 'a',
      receivedAt: Date.now(),
      dedupeWindow: 1000,
    })
    const b = await store.accept({
      type: 'title-ready',
      body: JSON.stringify({ id: 2 }),
      hash: 'b',
      receivedAt: Date.now(),
      dedupeWindow: 1000,
    })
    const match = (id: string) => ({ kind: 'match' as const, id, token: 'test' })
    const [ra] = (await store.dispatch(match(a.id), [{ recipe: 'r', stepIndex: 0, action: 'http', runAt: Date.now(), queue: true }]))!
    const [rb] = (await store.dispatch(match(b.id), [{ recipe: 'r', stepIndex: 0, action: 'http', runAt: Date.now(), queue: true }]))!
    await store.claim({ kind: 'step', id: ra!.id, token: 'test' }, Date.now())
    await t.close()

    t = await startTestRunner(cfg, { dir })
    await t.runner.engine.idle()
    expect((await t.runner.store.getRun(ra!.id))!).toMatchObject({ state: 'done', attempt: 2 })
    expect((await t.runner.store.getRun(rb!.id))!).toMatchObject({ state: 'done', attempt: 1 })
    expect(sink.requests.map((r) => r.headers['idempotency-key']).sort()).toEqual([ra!.id, rb!.id].sort())
    expect(t.lines().some((l) => l.msg === 'step was cut off (its worker died or restarted); running it again' && l.runId === ra!.id)).toBe(
      true,
    )
  })
})
