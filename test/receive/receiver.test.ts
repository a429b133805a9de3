import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { startTestRunner, type TestRunner } from '../helpers/runner.js'

const fixture = JSON.parse(readFileSync(new URL('../fixtures/title-ready.json', import.meta.url), 'utf8')) as Record<string, unknown>
const KEY = 'k3y-0f-the-w3bh00k-c0nfigured-in-audiorista'

let t: TestRunner | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

/** A raw request, for what fetch will not send (chunked bodies, lying lengths). */
function raw(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string | number>; chunks?: Array<string | Buffer> },
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${options.path}`, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    req.on('error', reject)
    for (const c of options.chunks ?? []) req.write(c)
    req.end()
  })
}

describe('receiver: the SPEC 4 table', () => {
  it('202 for a new delivery, stored before the answer; 200 duplicate with the first id', async () => {
    t = await startTestRunner({ auth: { keys: [KEY] } })
    const first = await t.post('title-ready', fixture, { key: KEY })
    expect(first.status).toBe(202)
    expect(first.json).toEqual({ accepted: true, duplicate: false, id: expect.stringMatching(/^evt_/) })
    const stored = await t.runner.store.getEvent(first.json.id)
    expect(stored?.type).toBe('title-ready')
    expect(JSON.parse(stored!.body)).toEqual(fixture)

    const again = await t.post('title-ready', fixture, { key: KEY })
    expect(again.status).toBe(200)
    expect(again.json).toEqual({ accepted: true, duplicate: true, id: first.json.id })
  })

  it('treats the same body with keys in another order as the same delivery, and another event type as a new one', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true } })
    const a = await t.post('title-ready', '{"id":1,"name":"x","tags":[]}')
    const b = await t.post('title-ready', '{"tags":[],"name":"x","id":1}')
    expect(b.json).toEqual({ accepted: true, duplicate: true, id: a.json.id })
    const c = await t.post('title-updated', '{"id":1,"name":"x","tags":[]}')
    expect(c.status).toBe(202)
    expect(c.json.id).not.toBe(a.json.id)
  })

  it('accepts any JSON object, keeping unknown fields, whether or not a recipe matches', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true } })
    const res = await t.post('asset-transcoded', { something: 'new', nested: { deep: [1, 2] } })
    expect(res.status).toBe(202)
    expect(JSON.parse((await t.runner.store.getEvent(res.json.id))!.body)).toEqual({ something: 'new', nested: { deep: [1, 2] } })
  })

  it('401 for a missing key, a wrong key and a wrong key of another length, never saying which key was expected', async () => {
    t = await startTestRunner({ auth: { keys: [KEY] } })
    for (const key of [undefined, 'x'.repeat(KEY.length), 'short', 'l'.repeat(5000)]) {
      const res = await t.post('title-ready', fixture, key === undefined ? {} : { key })
      expect(res.status).toBe(401)
      expect(res.json.error.code).toBe('unauthorized')
      expect(JSON.stringify(res.json)).not.toContain(KEY)
    }
    expect(await t.runner.store.listEvents()).toEqual([])
    expect(t.logs()).not.toContain(KEY)
  })

  it('accepts every key of a rotation list', async () => {
    t = await startTestRunner({ auth: { keys: ['old-key-still-valid', 'new-key-rolled-out'] } })
    expect((await t.post('title-ready', { id: 1 }, { key: 'old-key-still-valid' })).status).toBe(202)
    expect((await t.post('title-ready', { id: 2 }, { key: 'new-key-rolled-out' })).status).toBe(202)
    expect((await t.post('title-ready', { id: 3 }, { key: 'never-configured' })).status).toBe(401)
  })

  it('per-event keys: a key opens only its own event', async () => {
    t = await startTestRunner({ auth: { keys: { 'title-ready': ['ready-key'], 'asset-transcoded': 'asset-key' } } })
    expect((await t.post('title-ready', { id: 1 }, { key: 'ready-key' })).status).toBe(202)
    expect((await t.post('asset-transcoded', { id: 1 }, { key: 'asset-key' })).status).toBe(202)
    expect((await t.post('asset-transcoded', { id: 2 }, { key: 'ready-key' })).status).toBe(401)
    expect((await t.post('title-updated', { id: 1 }, { key: 'ready-key' })).status).toBe(401)
  })

  it('404 for an unknown event, listing the valid names', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true } })
    for (const name of ['title-published', '..%2F..%2Fetc', 'TITLE-READY']) {
      const res = await t.post(name, { id: 1 })
      expect(res.status).toBe(404)
      expect(res.json.error.code).toBe('unknown_event')
      expect(res.json.error.message).toContain('/webhooks/title-updated, /webhooks/title-ready, /webhooks/asset-transcoded')
    }
  })

  it('405 with Allow: POST for another method on a webhook path', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true } })
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const res = await t.post('title-ready', { id: 1 }, { method })
      expect(res.status).toBe(405)
      expect(res.headers.get('allow')).toBe('POST')
      expect(res.json.error.code).toBe('method_not_allowed')
    }
  })

  it('415 for a body that is not declared JSON', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true } })
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=klingon',
    ]) {
      const res = await t.post('title-ready', '{"id":1}', { headers: { 'content-type': type } })
      expect(res.status).toBe(415)
      expect(res.json.error.code).toMatch(/^unsupported_/)
    }
    // application/*+json and an explicit utf-8 charset are JSON.
    expect((await t.post('title-ready', '{"id":2}', { headers: { 'content-type': 'application/vnd.audiorista+json' } })).status).toBe(202)
    expect((await t.post('title-ready', '{"id":3}', { headers: { 'content-type': 'application/json; charset=UTF-8' } })).status).toBe(202)
  })

  it('400 for invalid JSON and for JSON that is not an object, storing nothing', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true } })
    const cases: Array<[string, string]> = [
      ['{"id": 1', 'invalid_json'],
      ['', 'invalid_json'],
      ['[1,2]', 'not_an_object'],
      ['"title"', 'not_an_object'],
      ['null', 'not_an_object'],
      ['42', 'not_an_object'],
    ]
    for (const [body, code] of cases) {
      const res = await t.post('title-ready', body)
      expect(res.status, body).toBe(400)
      expect(res.json.error.code).toBe(code)
    }
    expect(await t.runner.store.listEvents()).toEqual([])
  })

  it('413 for a body over server.bodyLimit, with and without Content-Length', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true }, server: { bodyLimit: '1kb' } })
    const big = JSON.stringify({ name: 'x'.repeat(2000) })
    const res = await t.post('title-ready', big)
    expect(res.status).toBe(413)
    expect(res.json.error.code).toBe('payload_too_large')
    const chunked = await raw(t.url, {
      path: '/webhooks/title-ready',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunks: [big.slice(0, 600), big.slice(600)],
    })
    expect(chunked.status).toBe(413)
    // Just under the limit is fine.
    expect((await t.post('title-ready', { name: 'x'.repeat(900) })).status).toBe(202)
    expect((await t.runner.store.listEvents()).length).toBe(1)
  })

  it('accepts a chunked body that is within the limit', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true } })
    const res = await raw(t.url, {
      path: '/webhooks/title-ready',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunks: ['{"id":', '4211}'],
    })
    expect(res.status).toBe(202)
  })

  it('503 with Retry-After while not accepting (starting or shutting down)', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true } })
    t.runner.receiver.setAccepting(false)
    const res = await t.post('title-ready', { id: 1 })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    const ready = await fetch(`${t.url}/readyz`)
    expect(ready.status).toBe(503)
    t.runner.receiver.setAccepting(true)
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200)
  })

  it('503 with Retry-After, never a 2xx, when the store cannot write', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true } })
    const { store } = t.runner
    const accept = store.accept
    store.accept = () => Promise.reject(new Error('SQLITE_FULL: database or disk is full'))
    const res = await t.post('title-ready', { id: 1 })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(res.json.error.code).toBe('store_unavailable')
    store.accept = accept
    expect((await t.post('title-ready', { id: 1 })).status).toBe(202)
  })

  it('/healthz and /readyz answer 200 when up; other paths 404 JSON', async () => {
    t = await startTestRunner({ auth: { allowUnauthenticated: true } })
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200)
    expect(await (await fetch(`${t.url}/readyz`)).json()).toEqual({ ready: true })
    const other = await fetch(`${t.url}/nope`)
    expect(other.status).toBe(404)
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('not_found')
  })

  it('logs one line per accepted, duplicate and rejected delivery, with the event id and the client', async () => {
    t = await startTestRunner({ auth: { keys: [KEY] } })
    const { json } = await t.post('title-ready', fixture, { key: KEY })
    await t.post('title-ready', fixture, { key: KEY })
    await t.post('title-ready', fixture, { key: 'wrong' })
    const lines = t.lines()
    const client = '127.0.0.1'
    expect(lines.filter((l) => l.msg === 'delivery accepted' && l.eventId === json.id && l.client === client)).toHaveLength(1)
    expect(lines.filter((l) => l.msg === 'duplicate delivery' && l.eventId === json.id && l.client === client)).toHaveLength(1)
    expect(lines.filter((l) => l.msg === 'delivery rejected' && l.status === 401 && l.client === client)).toHaveLength(1)
    expect(t.logs()).not.toContain(KEY)
  })
})
