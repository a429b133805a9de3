import { afterEach, describe, expect, it } from 'vitest'
import { StoreUnavailableError } from '../../src/errors.js'
import type { Config } from '../../src/types.js'
import { join } from 'node:path'
import { startChild, writeConfig } from '../helpers/child.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { startTestRunner, tempDir, type TestRunner } from '../helpers/runner.js'

let t: TestRunner | undefined
let sink: HttpSink | undefined
afterEach(async () => {
  await t?.close()
  await sink?.close()
  t = sink = undefined
})

const base: Config = { auth: { allowUnauthenticated: true }, queue: { retry: { attempts: 3, delay: 50 } } }

async function runsOf(runner: TestRunner) {
  const events = await runner.runner.store.listEvents({ limit: 100 })
  return (await Promise.all(events.map((e) => runner.runner.store.runsForEvent(e.id)))).flat()
}

describe('engine edge cases', () => {
  it('a claim whose answer is lost (the store failed after writing it) still runs the step once, and it ends done', async () => {
    sink = await createHttpSink()
    t = await startTestRunner({ ...base, recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'http', with: { url: sink.url } }] }] })
    const store = t.runner.store
    const claim = store.claim.bind(store)
    let failed = 0
    store.claim = async (work, now) => {
      const run = await claim(work, now)
      if (failed++ === 0) throw new StoreUnavailableError('the connection dropped before the answer')
      return run
    }
    expect((await t.post('title-ready', { id: 1 })).status).toBe(202)
    await t.runner.engine.idle()
    expect(failed).toBeGreaterThanOrEqual(2)
    expect(sink.requests).toHaveLength(1)
    expect((await runsOf(t)).map((r) => [r.state, r.attempt])).toEqual([['done', 1]])
  })

  it('a Retry-After longer than a timer can wait does not retry at once', async () => {
    sink = await createHttpSink({ reply: { status: 503, headers: { 'retry-after': String(30 * 86400) } } })
    t = await startTestRunner({ ...base, recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'http', with: { url: sink.url } }] }] })
    const res = await t.post('title-ready', { id: 1 })
    await new Promise((r) => setTimeout(r, 500))
    expect(sink.count).toBe(1)
    const [run] = await t.runner.store.runsForEvent(res.json.id)
    expect(run!.state).toBe('retrying')
    expect(run!.runAt - Date.now()).toBeGreaterThan(29 * 86_400_000)
  })

  it('a once key template that fails to render makes the step dead, clearly, instead of stuck', async () => {
    t = await startTestRunner({
      ...base,
      recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'log', once: '{{#with}}x{{/with}}' }] }],
    })
    await t.post('title-ready', { id: 1 })
    await t.runner.engine.idle()
    const [run] = await runsOf(t)
    expect(run!.state).toBe('dead')
    expect(run!.error).toBe('recipes[0].do[0].once.key did not render: #with requires exactly one argument')
  })

  it('a recipe once is not used up by a preview', async () => {
    t = await startTestRunner({
      ...base,
      recipes: [{ name: 'r', on: 'title-ready', once: true, do: [{ action: 'slack', with: { channel: '#x', text: 'hi' } }] }],
    })
    await t.post('title-ready', { id: 1, v: 1 })
    await t.runner.engine.idle()
    await t.post('title-ready', { id: 1, v: 2 })
    await t.runner.engine.idle()
    expect((await runsOf(t)).map((r) => r.state)).toEqual(['previewed', 'previewed'])
  })

  it('a once key taken by a run that is then coalesced is given back', async () => {
    sink = await createHttpSink({ reply: { status: 200, delay: 300 } })
    t = await startTestRunner({
      ...base,
      actions: { http: { concurrency: 1 } },
      recipes: [
        { name: 'busy', on: 'title-updated', do: [{ action: 'http', with: { url: `${sink.url}/busy` } }] },
        { name: 'r', on: 'title-ready', do: [{ action: 'http', debounce: '100ms', once: true, with: { url: `${sink.url}/once` } }] },
      ],
    })
    await t.post('title-updated', { id: 9 })
    await t.post('title-ready', { id: 1, v: 1 })
    await new Promise((r) => setTimeout(r, 150))
    await t.post('title-ready', { id: 1, v: 2 })
    await t.runner.engine.idle()
    expect(sink.requests.filter((r) => r.path === '/once')).toHaveLength(1)
  })

  it('does not run a different step in place of a recorded one after the config changed', async () => {
    const dir = tempDir()
    sink = await createHttpSink()
    t = await startTestRunner(
      { ...base, recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'http', with: { url: sink.url } }] }] },
      { dir },
    )
    await t.runner.engine.stop(0)
    const { id } = await t.runner.store.accept({
      type: 'title-ready',
      body: '{"id":1}',
      hash: 'h',
      receivedAt: Date.now(),
      dedupeWindow: 1000,
    })
    await t.runner.store.dispatch({ kind: 'match', id, token: 'test' }, [
      { recipe: 'r', stepIndex: 0, action: 'http', runAt: Date.now(), queue: true },
    ])
    await t.close()
    t = await startTestRunner(
      { ...base, recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'log' }, { action: 'http', with: { url: sink.url } }] }] },
      { dir },
    )
    await t.runner.engine.idle()
    const [run] = await t.runner.store.runsForEvent(id)
    expect(run!.state).toBe('skipped')
    expect(run!.error).toContain('changed to log')
    expect(sink.count).toBe(0)
  })

  it('never stores secret-looking input fields in clear', async () => {
    sink = await createHttpSink()
    t = await startTestRunner({
      ...base,
      recipes: [
        {
          name: 'r',
          on: 'title-ready',
          do: [{ action: 'http', with: { url: sink.url, headers: { Authorization: 'Bearer SECRET-123' } } }],
        },
      ],
    })
    await t.post('title-ready', { id: 1 })
    await t.runner.engine.idle()
    expect(sink.requests[0]!.headers.authorization).toBe('Bearer SECRET-123')
    const [run] = await runsOf(t)
    expect(JSON.stringify(run!.input)).not.toContain('SECRET-123')
    expect(t.logs()).not.toContain('SECRET-123')
  })

  it('refuses a second runner on the same store', async () => {
    const dir = tempDir()
    writeConfig(dir, { auth: { allowUnauthenticated: true }, store: { path: join(dir, 'runner.db') } })
    const first = await startChild(dir)
    try {
      await expect(startTestRunner(base, { dir })).rejects.toThrow(
        new RegExp(`another runner \\(pid ${first.proc.pid} on host [^,]+, since [^)]+\\) is using`),
      )
    } finally {
      first.proc.kill('SIGKILL')
      await first.exited
    }
    // Its lock is stale now: the next runner takes over.
    t = await startTestRunner(base, { dir })
  })

  it('a shutdown that cuts a step off does not use up an attempt', async () => {
    sink = await createHttpSink({ reply: { hang: true } })
    const dir = tempDir()
    const cfg: Config = {
      ...base,
      queue: { retry: { attempts: 1 } },
      recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'http', with: { url: sink.url } }] }],
    }
    t = await startTestRunner(cfg, { dir })
    await t.post('title-ready', { id: 1 })
    await sink.waitFor(1)
    await t.runner.close(100)
    const runner = t
    t = undefined
    sink.reply({ status: 200 })
    t = await startTestRunner(cfg, { dir })
    await t.runner.engine.idle()
    const [run] = await runsOf(t)
    expect(run).toMatchObject({ state: 'done', attempt: 1 })
    expect(runner.lines().some((l) => String(l.msg).includes('cut off by the shutdown'))).toBe(true)
  })
})
