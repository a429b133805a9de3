/**
 * Property-based fuzzing (fast-check) of bodies, headers, methods and paths
 * against an in-process runner: never a 5xx (the runner is ready throughout),
 * never a crash; every JSON object with the right key is accepted (202, or
 * 200 with the first id when it comes again, whatever its key order).
 * FUZZ_SEED replays a run; FUZZ_RUNS scales it.
 */
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestRunner, type TestRunner } from '../helpers/runner.js'
import { createReport } from './report.js'

const KEY = 'fuzz-key-7f3a9c'
const report = createReport()
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined
const runs = (n: number) => Math.max(1, Math.round(n * Number(process.env.FUZZ_RUNS_SCALE ?? 1)))
const params = <T>(numRuns: number): fc.Parameters<T> => ({
  numRuns: runs(numRuns),
  ...(seed === undefined ? {} : { seed }),
  endOnFailure: true,
})

let t: TestRunner
beforeAll(async () => {
  t = await startTestRunner({
    auth: { keys: [KEY] },
    server: { bodyLimit: '64kb' },
    queue: { concurrency: 4 },
    // Accepted fuzz payloads also go through matching and rendering.
    recipes: [
      {
        name: 'trace',
        on: ['title-ready', 'title-updated', 'asset-transcoded'],
        when: { any: [{ tag: 'podcast' }, { name: { matches: '^a' } }] },
        do: [{ action: 'log', with: { message: '{{name}} {{share.url}} {{join tags "slug"}}' } }],
      },
    ],
  })
})
afterAll(async () => {
  await t?.close()
  report.write()
})
afterEach(async () => {
  // Still up and serving after every property.
  expect((await fetch(`${t.url}/healthz`)).status).toBe(200)
})

const EVENTS = ['title-updated', 'title-ready', 'asset-transcoded'] as const

/** JSON text with object keys in reverse order at every level: the same delivery to the dedupe. */
function reversed(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(reversed).join(',')}]`
  const keys = Object.keys(value).reverse()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reversed((value as Record<string, unknown>)[k])}`).join(',')}}`
}

async function send(path: string, init: { method: string; headers: Record<string, string>; body?: Uint8Array | string }) {
  const res = await fetch(`${t.url}${path}`, {
    method: init.method,
    headers: init.headers,
    ...(init.body === undefined ? {} : { body: init.body }),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, json, text }
}

const headerValue = fc.string({
  unit: fc.constantFrom(..." !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~".split('')),
  maxLength: 60,
})
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=UTF-8',
    'application/vnd.audiorista+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json; charset=latin1',
    'application/json; charset=utf-16le',
    'application/json; charset=nope',
    '*/*',
    'application/*',
    '',
  ),
  headerValue,
)
const jsonObject = fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 12 })

describe('fuzzing the receiver (fast-check, in-process runner)', () => {
  it('never answers 5xx nor crashes, whatever the method, path, headers and body', async () => {
    const row = report.row('fuzz-any', 'Fuzz: random method, path, Content-Type, key, extra headers and body bytes')
    const seen = new Map<number, number>()
    let tried = 0
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ arbitrary: fc.constant('POST'), weight: 12 }, fc.constantFrom('PUT', 'PATCH', 'DELETE', 'GET')),
        fc.oneof(
          { arbitrary: fc.constantFrom(...EVENTS.map((e) => `/webhooks/${e}`)), weight: 12 },
          fc.string({ maxLength: 30 }).map((s) => `/webhooks/${encodeURIComponent(s)}`),
          fc.constantFrom('/webhooks/', '/webhooks/title-ready/', '/webhooks/title-ready?x=1', '/healthz', '/'),
        ),
        fc.oneof(
          { arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8'), weight: 6 },
          contentType,
          fc.constant(undefined),
        ),
        fc.oneof({ arbitrary: fc.constant(KEY), weight: 8 }, headerValue, fc.constant(undefined)),
        fc.dictionary(
          fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).map((n) => `x-f-${n}`),
          headerValue,
          { maxKeys: 5 },
        ),
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v) ?? 'null'),
          jsonObject.map((o) => JSON.stringify(o)),
          jsonObject.map((o) => JSON.stringify(o)).chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))), // truncated
          fc.constantFrom('', ' ', '{', '}', '[]', '{}', 'null', '{"a":1}{"b":2}', '\u0000', '\ufeff{}', `{"pad":"${'x'.repeat(70_000)}"}`),
        ),
        async (method, path, type, key, extra, body) => {
          tried++
          const headers: Record<string, string> = { ...extra }
          if (type !== undefined) headers['content-type'] = type
          if (key !== undefined) headers['x-audiorista-key'] = key
          const res = await send(path, { method, headers, ...(method === 'GET' ? {} : { body }) })
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1)
          expect(res.status, `${method} ${path} → ${res.text.slice(0, 200)}`).toBeLessThan(500)
          expect([200, 202, 400, 401, 404, 405, 413, 415]).toContain(res.status)
          // Every answer is JSON: an acceptance or an error with a code.
          if (res.status >= 400) expect(typeof res.json?.error?.code).toBe('string')
          else if (path.startsWith('/webhooks/')) expect(res.json).toMatchObject({ accepted: true, id: expect.stringMatching(/^evt_/) })
          else expect(res.json).toEqual({ ok: true }) // GET /healthz
        },
      ),
      params(800),
    )
    await t.runner.engine.idle()
    const errors = t.lines().filter((l) => (l.level as number) >= 50)
    row.tried = `${tried} requests`
    row.lost = 0
    row.duplicated = 0
    row.notes = `statuses: ${[...seen]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s} ×${n}`)
      .join(', ')}; error-level log lines: ${errors.length}`
    expect(errors).toEqual([])
    row.result = 'pass'
  }, 60_000)

  it('accepts every JSON object with the right key (202), and the same object again in another key order as a duplicate (200, first id)', async () => {
    const row = report.row(
      'fuzz-objects',
      'Fuzz: random JSON objects (any keys incl. __proto__, unicode, nesting), sent twice with keys reordered',
    )
    let tried = 0
    let nonce = 0
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...EVENTS),
        jsonObject,
        fc.dictionary(
          fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).map((n) => `x-f-${n}`),
          headerValue,
          { maxKeys: 3 },
        ),
        async (event, object, extra) => {
          tried++
          // A fresh field per case: fast-check may generate the same object twice.
          const body = { ...object, fuzzCase: ++nonce }
          const headers = { ...extra, 'content-type': 'application/json', 'x-audiorista-key': KEY }
          const first = await send(`/webhooks/${event}`, { method: 'POST', headers, body: JSON.stringify(body) })
          expect(first.status, first.text).toBe(202)
          expect(first.json).toEqual({ accepted: true, duplicate: false, id: expect.stringMatching(/^evt_/) })
          const again = await send(`/webhooks/${event}`, { method: 'POST', headers, body: reversed(body) })
          expect(again.status, again.text).toBe(200)
          expect(again.json).toEqual({ accepted: true, duplicate: true, id: first.json.id })
          // Stored as received: parsing the stored body gives the object back.
          const stored = await t.runner.store.getEvent(first.json.id)
          expect(stored?.type).toBe(event)
          expect(JSON.parse(stored!.body)).toEqual(JSON.parse(JSON.stringify(body)))
        },
      ),
      params(250),
    )
    row.tried = `${tried} objects × 2 deliveries`
    row.lost = 0
    row.duplicated = 0
    row.notes = 'every object 202 then 200 duplicate with the first id; stored body parses back to the object'
    row.result = 'pass'
  }, 60_000)

  it('while not accepting (starting, shutting down) every delivery gets 503 with Retry-After, whatever it is', async () => {
    const row = report.row('fuzz-not-ready', 'Fuzz: random deliveries while the receiver is not accepting')
    let tried = 0
    t.runner.receiver.setAccepting(false)
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...EVENTS),
          fc.oneof(fc.constant(KEY), headerValue),
          fc.oneof(
            jsonObject.map((o) => JSON.stringify(o)),
            fc.string({ maxLength: 100 }),
          ),
          async (event, key, body) => {
            tried++
            const res = await fetch(`${t.url}/webhooks/${event}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-audiorista-key': key },
              body,
            })
            await res.text()
            expect(res.status).toBe(503)
            expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
          },
        ),
        params(100),
      )
      expect((await fetch(`${t.url}/readyz`)).status).toBe(503)
    } finally {
      t.runner.receiver.setAccepting(true)
    }
    row.tried = `${tried} deliveries`
    row.lost = 0
    row.duplicated = 0
    row.notes = 'all 503 + Retry-After; /readyz 503'
    row.result = 'pass'
  })

  it('refuses every JSON value that is not an object with 400, storing nothing', async () => {
    const row = report.row('fuzz-non-objects', 'Fuzz: random JSON arrays, strings, numbers, booleans, null as the body')
    const before = (await t.runner.store.listEvents({ limit: 100_000 })).length
    let tried = 0
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ maxDepth: 4 }).filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
        async (value) => {
          tried++
          const res = await send('/webhooks/title-ready', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-audiorista-key': KEY },
            body: JSON.stringify(value) ?? 'null',
          })
          expect(res.status).toBe(400)
          expect(res.json.error.code).toBe('not_an_object')
        },
      ),
      params(200),
    )
    const after = (await t.runner.store.listEvents({ limit: 100_000 })).length
    row.tried = `${tried} bodies`
    row.lost = 0
    row.duplicated = after - before
    row.notes = 'all 400 not_an_object; store unchanged'
    expect(after).toBe(before)
    row.result = 'pass'
  }, 60_000)
})
