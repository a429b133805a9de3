import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Config } from '../../src/types.js'
import { startChild, writeConfig } from '../helpers/child.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { startTestRunner, tempDir, type TestRunner } from '../helpers/runner.js'
import { createSmtpSink, type SmtpSink } from '../helpers/smtp.js'

let t: TestRunner | undefined
let sink: HttpSink | undefined
let smtp: SmtpSink | undefined
afterEach(async () => {
  await t?.close()
  await sink?.close()
  await smtp?.close()
  t = sink = smtp = undefined
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const base: Config = { auth: { allowUnauthenticated: true }, queue: { concurrency: 8, retry: { attempts: 3, delay: 50 } } }

describe('debounce', () => {
  it('recipe debounce: 20 edits of one title within a second make one run, with the last payload', async () => {
    sink = await createHttpSink()
    t = await startTestRunner({
      ...base,
      recipes: [
        {
          name: 'sync',
          on: 'title-updated',
          debounce: '300ms',
          do: [{ action: 'http', with: { url: sink.url, body: { name: '{{name}}' } } }],
        },
      ],
    })
    const started = Date.now()
    for (let i = 1; i <= 20; i++) expect((await t.post('title-updated', { id: 4211, name: `edit ${i}` })).status).toBe(202)
    expect(Date.now() - started).toBeLessThan(1000)
    await t.runner.engine.idle()
    expect(sink.requests.map((r) => r.json())).toEqual([{ name: 'edit 20' }])
    const lines = t.lines()
    expect(lines.filter((l) => String(l.msg).startsWith('debounce: coalesced'))).toHaveLength(19)
    // Another title is debounced on its own.
    await t.post('title-updated', { id: 7, name: 'other' })
    await t.runner.engine.idle()
    expect(sink.requests).toHaveLength(2)
  })

  it('step debounce: 50 titles ready within a burst start exactly one build', async () => {
    sink = await createHttpSink()
    t = await startTestRunner({
      ...base,
      recipes: [
        {
          name: 'ready',
          on: 'title-ready',
          do: [
            { name: 'note', action: 'log', with: { message: '{{name}}' } },
            { name: 'rebuild', action: 'http', with: { url: `${sink.url}/build`, body: { last: '{{id}}' } }, debounce: '500ms' },
            { name: 'after', action: 'log', with: { message: 'after {{id}}' } },
          ],
        },
      ],
    })
    await Promise.all(Array.from({ length: 50 }, (_, i) => t!.post('title-ready', { id: i + 1, name: `t${i + 1}` })))
    await t.runner.engine.idle()
    expect(sink.requests.filter((r) => r.path === '/build')).toHaveLength(1)
    // Every title's later step still ran: coalescing skips the step, not the recipe.
    const events = await t.runner.store.listEvents({ limit: 100 })
    const runs = (await Promise.all(events.map((e) => t!.runner.store.runsForEvent(e.id)))).flat()
    expect(runs.filter((r) => r.stepIndex === 1 && r.state === 'done')).toHaveLength(1)
    expect(runs.filter((r) => r.stepIndex === 1 && r.state === 'skipped')).toHaveLength(49)
    expect(runs.filter((r) => r.stepIndex === 2 && r.state === 'done')).toHaveLength(50)
    expect(runs.find((r) => r.stepIndex === 1 && r.state === 'skipped')!.error).toMatch(/coalesced into run run_/)
  })

  it('maxWait: a continuous stream still builds at least once per maxWait', async () => {
    sink = await createHttpSink()
    const builds: number[] = []
    sink.reply(() => {
      builds.push(Date.now())
      return { status: 200 }
    })
    t = await startTestRunner({
      ...base,
      recipes: [
        { name: 'r', on: 'title-ready', do: [{ action: 'http', with: { url: sink.url }, debounce: { wait: '400ms', maxWait: '1s' } }] },
      ],
    })
    const start = Date.now()
    let lastPost = start
    for (let i = 0; Date.now() - start < 3000; i++) {
      await t.post('title-ready', { id: i })
      lastPost = Date.now()
      await sleep(100)
    }
    const streamEnd = Date.now()
    await t.runner.engine.idle()
    const during = builds.filter((b) => b <= streamEnd)
    expect(during.length).toBeGreaterThanOrEqual(2)
    const gaps = [start, ...during].slice(1).map((b, i) => b - [start, ...during][i]!)
    for (const gap of gaps) expect(gap).toBeLessThan(1000 + 400)
    // And a run for the last events: a build after the last one arrived.
    expect(builds.at(-1)).toBeGreaterThan(lastPost)
  })
})

describe('once', () => {
  it('once on an email step: duplicates and edits of one title send one email, also across a restart', async () => {
    smtp = await createSmtpSink()
    const dir = tempDir()
    const cfg: Config = {
      ...base,
      actions: { email: { transport: smtp.url, from: 'Releases <releases@example.com>' } },
      recipes: [
        {
          name: 'welcome',
          on: ['title-ready', 'title-updated'],
          do: [{ action: 'email', once: true, with: { to: 'jane@example.com', subject: '{{name}} is live', text: 'hi' } }],
        },
      ],
    }
    t = await startTestRunner(cfg, { dir })
    await t.post('title-ready', { id: 4211, name: 'v1' })
    await t.post('title-ready', { id: 4211, name: 'v1' })
    await t.post('title-updated', { id: 4211, name: 'v2' })
    await t.runner.engine.idle()
    expect(smtp.messages.map((m) => m.subject)).toEqual(['v1 is live'])
    await t.close()

    t = await startTestRunner(cfg, { dir })
    await t.post('title-updated', { id: 4211, name: 'v3' })
    await t.post('title-ready', { id: 99, name: 'another title' })
    await t.runner.engine.idle()
    expect(smtp.messages.map((m) => m.subject)).toEqual(['v1 is live', 'another title is live'])
    expect(t.lines().some((l) => String(l.msg).includes('skipped: once: the step already ran for key "4211"'))).toBe(true)
  })

  it('once on a recipe with a key template and a window', async () => {
    sink = await createHttpSink()
    t = await startTestRunner({
      ...base,
      recipes: [
        {
          name: 'per-creator',
          on: 'title-ready',
          once: { key: '{{creator}}', window: '1h' },
          do: [{ action: 'http', with: { url: sink.url } }, { action: 'log' }],
        },
      ],
    })
    await t.post('title-ready', { id: 1, creator: 'Jane' })
    await t.post('title-ready', { id: 2, creator: 'Jane' })
    await t.post('title-ready', { id: 3, creator: 'Ann' })
    await t.runner.engine.idle()
    expect(sink.requests).toHaveLength(2)
    const events = await t.runner.store.listEvents()
    const skipped = (await Promise.all(events.map((e) => t!.runner.store.runsForEvent(e.id)))).flat().filter((r) => r.state === 'skipped')
    expect(skipped).toHaveLength(2)
  })

  it('keeps a once key from a huge payload value at a bounded size, and still tells values apart', async () => {
    sink = await createHttpSink()
    t = await startTestRunner({
      ...base,
      server: { bodyLimit: '1mb' },
      recipes: [{ name: 'per-name', on: 'title-ready', once: '{{name}}', do: [{ action: 'http', with: { url: sink.url } }] }],
    })
    const keys: string[] = []
    const store = t.runner.store
    const claimOnce = store.claimOnce.bind(store)
    store.claimOnce = (key, ...rest) => {
      keys.push(key)
      return claimOnce(key, ...rest)
    }
    const huge = 'x'.repeat(200_000)
    await t.post('title-ready', { id: 1, name: huge })
    await t.post('title-ready', { id: 2, name: huge })
    await t.post('title-ready', { id: 3, name: `${huge}y` })
    await t.runner.engine.idle()
    expect(sink.requests).toHaveLength(2)
    expect(keys).toHaveLength(3)
    for (const key of keys) expect(key).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(new Set(keys).size).toBe(2)
  })

  it('gives the key back when the step fails for good, so a later event may try again', async () => {
    sink = await createHttpSink()
    sink.replyOnce({ status: 400 })
    t = await startTestRunner({
      ...base,
      recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'http', once: true, with: { url: sink.url } }] }],
    })
    await t.post('title-ready', { id: 1, v: 1 })
    await t.runner.engine.idle()
    await t.post('title-ready', { id: 1, v: 2 })
    await t.runner.engine.idle()
    await t.post('title-ready', { id: 1, v: 3 })
    await t.runner.engine.idle()
    expect(sink.requests.map((r) => r.path)).toHaveLength(2)
  })
})

describe('per-action limits', () => {
  it('concurrency: 1 never has two requests in flight', async () => {
    sink = await createHttpSink()
    let inFlight = 0
    let maxInFlight = 0
    sink.reply(() => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      setTimeout(() => inFlight--, 50)
      return { status: 200, delay: 50 }
    })
    t = await startTestRunner({
      ...base,
      actions: { http: { concurrency: 1 } },
      recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'http', with: { url: sink.url } }] }],
    })
    await Promise.all(Array.from({ length: 8 }, (_, i) => t!.post('title-ready', { id: i })))
    await t.runner.engine.idle()
    expect(sink.requests).toHaveLength(8)
    expect(maxInFlight).toBe(1)
    expect(t.lines().some((l) => String(l.msg).startsWith('waiting for the http limit (concurrency 1)'))).toBe(true)
  })

  it('rateLimit { limit: 2, interval: 1s } spaces requests', async () => {
    sink = await createHttpSink()
    const at: number[] = []
    sink.reply(() => {
      at.push(Date.now())
      return { status: 200 }
    })
    t = await startTestRunner({
      ...base,
      actions: { http: { rateLimit: { limit: 2, interval: '1s' } } },
      recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'http', with: { url: sink.url } }] }],
    })
    await Promise.all(Array.from({ length: 6 }, (_, i) => t!.post('title-ready', { id: i })))
    await t.runner.engine.idle()
    expect(at).toHaveLength(6)
    // Any three consecutive requests span at least one interval (as seen at the sink, give or take transit jitter).
    for (let i = 2; i < at.length; i++) expect(at[i]! - at[i - 2]!).toBeGreaterThanOrEqual(950)
    expect(at[5]! - at[0]!).toBeGreaterThanOrEqual(1950)
  })
})

describe('durable debounce', () => {
  it('fires a pending debounce once after kill -9 and restart', async () => {
    const dir = tempDir()
    sink = await createHttpSink()
    writeConfig(dir, {
      auth: { allowUnauthenticated: true },
      store: { path: join(dir, 'runner.db') },
      recipes: [
        { name: 'r', on: 'title-ready', do: [{ action: 'http', with: { url: sink.url, body: { id: '{{id}}' } }, debounce: '1s' }] },
      ],
    })
    const first = await startChild(dir)
    for (let i = 0; i < 3; i++)
      await fetch(`${first.url}/webhooks/title-ready`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: i }),
      })
    await sleep(200)
    first.proc.kill('SIGKILL')
    await first.exited
    expect(sink.count).toBe(0)
    const second = await startChild(dir)
    try {
      await sink.waitFor(1, 5000)
      await sleep(1500)
      expect(sink.requests.map((r) => r.json())).toEqual([{ id: 2 }])
    } finally {
      second.proc.kill('SIGKILL')
      await second.exited
    }
  })
})
