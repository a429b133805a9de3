/**
 * `createRunner` inside the user's own server: a real express app (with and
 * without a body parser in front), a plain `node:http` server, a reload with
 * a rotated key, and a close that keeps what was acknowledged.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { type Config, createRunner } from '../../src/index.js'
import { runCli } from '../helpers/child.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { createLogger } from '../../src/log.js'
import { tempDir } from '../helpers/runner.js'

const KEY = 'embed-key-000000000001'
const open: Array<{ close(): Promise<void> | void }> = []
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close()
})

const quiet = createLogger({ level: 'silent', pretty: false })

function config(sink: HttpSink, keys = [KEY]): Config {
  return {
    auth: { keys },
    recipes: [
      { name: 'notify', on: 'title-ready', do: [{ action: 'http', with: { url: `${sink.url}/built`, body: { title: '{{name}}' } } }] },
    ],
  }
}

async function setup(keys?: string[]) {
  const sink = await createHttpSink()
  open.push(sink)
  const dir = tempDir('ar-embed-')
  const runner = await createRunner({ config: config(sink, keys), cwd: dir, logger: quiet })
  open.push(runner)
  return { sink, dir, runner }
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  open.push({ close: () => new Promise<void>((r) => server.close(() => r())) })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const post = (url: string, body: unknown, key = KEY) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-audiorista-key': key }, body: JSON.stringify(body) })

describe('createRunner in an express app', () => {
  it.each([
    ['mounted before any body parser', false],
    ['behind express.json()', true],
  ])('acknowledges, deduplicates and runs the recipe, %s; the app keeps its other routes', async (_label, parsed) => {
    const { sink, runner } = await setup()
    const app = express()
    if (parsed) app.use(express.json())
    app.get('/hello', (_req, res) => res.send('hi'))
    app.use('/webhooks', runner.webhooks)
    const url = await listen(app)

    const first = await post(`${url}/webhooks/title-ready`, { id: 1, name: 'Ep <1>' })
    expect(first.status).toBe(202)
    const { id } = (await first.json()) as { id: string }
    const again = await post(`${url}/webhooks/title-ready`, { name: 'Ep <1>', id: 1 })
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ accepted: true, duplicate: true, id })
    const [req] = await sink.waitFor(1)
    expect(req!.json()).toEqual({ title: 'Ep <1>' })

    expect((await post(`${url}/webhooks/title-ready`, { name: 'x' }, 'wrong-key')).status).toBe(401)
    expect(await (await fetch(`${url}/hello`)).text()).toBe('hi')
    // Not an event: express's own 404, not the runner's.
    const other = await post(`${url}/webhooks/title-redy`, {})
    expect(other.status).toBe(404)
    expect(other.headers.get('content-type')).not.toContain('application/json')
    expect((await fetch(`${url}/webhooks/title-ready`)).status).toBe(405)
  })
})

describe('createRunner with node:http', () => {
  it('serves /{event} and {basePath}/{event}; anything else is a JSON 404', async () => {
    const { sink, runner } = await setup()
    const url = await listen(runner.webhooks)
    expect((await post(`${url}/title-ready`, { name: 'A' })).status).toBe(202)
    expect((await post(`${url}/webhooks/title-ready`, { name: 'B' })).status).toBe(202)
    await sink.waitFor(2)
    const missing = await fetch(`${url}/nothing/here`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found')
    const unknown = await post(`${url}/title-redy`, {})
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain('title-ready')
    const text = await fetch(`${url}/title-ready`, {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain', 'x-audiorista-key': KEY },
    })
    expect(text.status).toBe(415)
  })

  it('reloads a new config object: the key rotates without a restart; a bad one is refused and the old keeps running', async () => {
    const { sink, runner } = await setup()
    const url = await listen(runner.webhooks)
    const next = 'embed-key-000000000002'
    expect(await runner.reload(config(sink, [next]))).toEqual({ ok: true, summary: 'recipes: +0 ~0 -0; keys: rotated' })
    expect((await post(`${url}/title-ready`, { name: 'C' }, KEY)).status).toBe(401)
    expect((await post(`${url}/title-ready`, { name: 'C' }, next)).status).toBe(202)

    const refused = await runner.reload({ ...config(sink, [next]), recipes: [{ name: 'x', on: 'title-ready', do: [{ action: 'nope' }] }] })
    expect(refused.ok).toBe(false)
    expect(!refused.ok && refused.problems[0]?.path).toBe('recipes[0].do[0].action')
    expect((await post(`${url}/title-ready`, { name: 'D' }, next)).status).toBe(202)
    await sink.waitFor(2)
  })

  it('swaps at once while a step still runs: a long step never holds up a rotated key', async () => {
    const { sink, runner } = await setup()
    sink.reply({ hang: true })
    const url = await listen(runner.webhooks)
    expect((await post(`${url}/title-ready`, { name: 'slow' })).status).toBe(202)
    await sink.waitFor(1)
    const next = 'embed-key-000000000003'
    expect((await runner.reload(config(sink, [next]))).ok).toBe(true)
    // The first step is still waiting for the sink, and the new key is in effect.
    expect((await post(`${url}/title-ready`, { name: 'fast' }, next)).status).toBe(202)
    expect((await post(`${url}/title-ready`, { name: 'old' }, KEY)).status).toBe(401)
    expect(sink.count).toBeLessThanOrEqual(2)
    // The hanging step is cut off by the stop; it would run again at the next start.
    await runner.close(100)
  })

  it('close() refuses new deliveries and keeps every acknowledged one in the store', async () => {
    const { dir, runner } = await setup()
    const url = await listen(runner.webhooks)
    const { id } = (await (await post(`${url}/title-ready`, { name: 'E' })).json()) as { id: string }
    await runner.close()
    const after = await post(`${url}/title-ready`, { name: 'F' })
    expect(after.status).toBe(503)
    expect(after.headers.get('retry-after')).toBeTruthy()
    // The store is closed and its lock released: the CLI reads what was acknowledged.
    const listed = runCli(['events', '--json'], { cwd: dir })
    expect(listed.status).toBe(0)
    expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((e) => e.id)).toContain(id)
  })
})
