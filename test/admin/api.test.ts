import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Config } from '../../src/types.js'
import { ADMIN_TOKEN, type ConsoleRunner, parseMetrics, startConsoleRunner } from '../helpers/console.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'

/**
 * The console's JSON API against a real runner: every route, its auth
 * (none, wrong, Bearer, session cookie with and without CSRF), pagination,
 * and `/metrics` counting exactly what was delivered and how runs ended.
 */

let t: ConsoleRunner
let sink: HttpSink
/** Event ids the sink fails (500) while they are in here. */
const failing = new Set<number>()

const title = (id: number, name = `Episode ${id}`) => ({ id, name, tags: [{ name: 'Podcast', slug: 'podcast' }] })

beforeAll(async () => {
  sink = await createHttpSink()
  sink.reply((req) => (failing.has(req.json().id) ? { status: 500 } : { status: 200, body: { ok: true } }))
  const config: Config = {
    auth: { allowUnauthenticated: true },
    queue: { retry: { attempts: 1 } },
    recipes: [
      {
        name: 'hook',
        on: ['title-ready', 'title-updated'],
        do: [
          {
            action: 'http',
            with: { url: `${sink.url}/hook`, headers: { authorization: 'Bearer sink-secret-value' }, body: { id: '{{id}}' } },
          },
        ],
      },
      { name: 'trace', on: 'asset-transcoded', do: [{ action: 'log', with: { message: '{{name}}' } }] },
    ],
  }
  t = await startConsoleRunner(config)
})

afterAll(async () => {
  await t?.close()
  await sink?.close()
})

/** Delivers, waits until the engine is idle, and returns the event id. */
async function deliver(event: string, body: unknown): Promise<string> {
  const res = await t.post(event, body)
  expect(res.status).toBe(202)
  await t.runner.engine.idle()
  return res.json.id
}

describe('admin API: auth', () => {
  it('refuses a request without a token, with a wrong one, and says how to authenticate', async () => {
    for (const token of [null, 'wrong-token-wrong-token-wrong']) {
      const res = await t.call('/admin/api/events', { token })
      expect(res.status).toBe(401)
      expect(res.json.error.code).toBe('unauthorized')
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
      // No data, not even counts.
      expect(res.text).not.toMatch(/events"\s*:/)
    }
    expect((await t.call('/admin/api/stats', { token: null })).status).toBe(401)
    expect((await t.call('/metrics', { token: null })).status).toBe(401)
    expect((await t.call('/admin/api/events')).status).toBe(200)
  })

  it('takes a session cookie from the login form; a state change needs its CSRF token, a Bearer call does not', async () => {
    const id = await deliver('title-ready', title(100))
    const { cookie, csrf } = await t.login()
    expect((await t.call('/admin/api/events', { token: null, headers: { cookie } })).status).toBe(200)
    const replay = (headers: Record<string, string>) => t.call(`/admin/api/events/${id}/replay`, { method: 'POST', token: null, headers })
    const refused = await replay({ cookie })
    expect(refused.status).toBe(403)
    expect(refused.json.error.code).toBe('csrf')
    expect((await replay({ cookie, 'x-csrf-token': 'x'.repeat(43) })).status).toBe(403)
    expect((await replay({ cookie, 'x-csrf-token': csrf })).status).toBe(202)
    expect((await t.call(`/admin/api/events/${id}/replay`, { method: 'POST' })).status).toBe(202)
    await t.runner.engine.idle()
  })

  it('does not accept a cookie it did not sign', async () => {
    const forged = 'audiorista_session=v1.1700000000000.AAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
    expect((await t.call('/admin/api/events', { token: null, headers: { cookie: forged } })).status).toBe(401)
  })
})

describe('admin API: events', () => {
  it('pages through events newest first with an opaque cursor', async () => {
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push(await deliver('asset-transcoded', { id: 200 + i, name: `Asset ${i}` }))
    const seen: string[] = []
    let next: string | null = ''
    let pages = 0
    while (next !== null) {
      const res = await t.call(`/admin/api/events?type=asset-transcoded&limit=2${next ? `&before=${next}` : ''}`)
      expect(res.status).toBe(200)
      expect(res.json.events.length).toBeLessThanOrEqual(2)
      seen.push(...res.json.events.map((e: { id: string }) => e.id))
      next = res.json.next
      pages++
    }
    expect(seen).toEqual([...ids].reverse())
    expect(pages).toBe(3)
  })

  it('filters by status, type, recipe and title text', async () => {
    failing.add(301)
    const dead = await deliver('title-ready', title(301, 'The Failing Episode'))
    const done = await deliver('title-updated', title(302, 'A Fine Episode'))
    failing.delete(301)
    const ids = async (query: string) => {
      const res = await t.call(`/admin/api/events?${query}`)
      expect(res.status).toBe(200)
      return res.json.events.map((e: { id: string }) => e.id) as string[]
    }
    expect(await ids('status=dead')).toContain(dead)
    expect(await ids('status=dead')).not.toContain(done)
    expect(await ids('type=title-updated')).toEqual([done])
    expect(await ids('q=failing')).toEqual([dead])
    expect(await ids('q=EPISODE&recipe=hook&status=done')).toContain(done)
    expect(await ids('recipe=trace')).not.toContain(done)
    const row = (await t.call('/admin/api/events?q=failing')).json.events[0]
    expect(row).toMatchObject({ id: dead, type: 'title-ready', status: 'dead', title: 'The Failing Episode', recipes: ['hook'], runs: 1 })
  })

  it('refuses bad filters with 400 and says what is allowed', async () => {
    for (const [query, text] of [
      ['status=exploded', 'status: use one of'],
      ['type=title-deleted', 'type: use one of'],
      ['recipe=nope', 'recipe: no recipe "nope"'],
      ['limit=0', 'limit:'],
      ['limit=1000', 'limit:'],
      ['before=not-a-cursor', 'before:'],
    ] as const) {
      const res = await t.call(`/admin/api/events?${query}`)
      expect(res.status, query).toBe(400)
      expect(res.json.error.message).toContain(text)
    }
  })

  it('shows one event: payload, runs with masked input, the error; 404 for an unknown id', async () => {
    failing.add(400)
    const id = await deliver('title-ready', title(400, 'Detail'))
    failing.delete(400)
    const res = await t.call(`/admin/api/events/${id}`)
    expect(res.status).toBe(200)
    expect(res.json.event).toMatchObject({ id, type: 'title-ready', status: 'dead', title: 'Detail', payload: title(400, 'Detail') })
    const [run] = res.json.runs
    expect(run).toMatchObject({ recipe: 'hook', step: 1, action: 'http', state: 'dead', attempt: 1 })
    expect(run.error).toContain('500')
    expect(JSON.stringify(run.input)).not.toContain('sink-secret-value')
    expect(run.input.headers.authorization).toBe('[redacted]')
    const missing = await t.call('/admin/api/events/evt_nope')
    expect(missing.status).toBe(404)
    expect(missing.json.error.code).toBe('event_not_found')
  })
})

describe('admin API: retry and replay', () => {
  it('retries a dead run once the target is healthy, as the CLI would', async () => {
    failing.add(500)
    const id = await deliver('title-ready', title(500))
    const [dead] = (await t.call(`/admin/api/events/${id}`)).json.runs
    expect(dead.state).toBe('dead')
    failing.delete(500)
    const res = await t.call(`/admin/api/runs/${dead.id}/retry`, { method: 'POST' })
    expect(res.status).toBe(202)
    expect(res.json.run).toMatchObject({ id: dead.id, state: 'pending', attempt: 0 })
    await t.runner.engine.idle()
    expect((await t.call(`/admin/api/events/${id}`)).json.runs[0]).toMatchObject({ id: dead.id, state: 'done', attempt: 1 })
    const again = await t.call(`/admin/api/runs/${dead.id}/retry`, { method: 'POST' })
    expect(again.status).toBe(409)
    expect(again.json.error.code).toBe('run_not_final')
    expect((await t.call('/admin/api/runs/run_nope/retry', { method: 'POST' })).status).toBe(404)
  })

  it('replays an event as a new one that runs its recipes again', async () => {
    const id = await deliver('title-ready', title(600))
    const before = sink.requests.length
    const res = await t.call(`/admin/api/events/${id}/replay`, { method: 'POST' })
    expect(res.status).toBe(202)
    expect(res.json.event.replayOf).toBe(id)
    expect(res.json.event.id).not.toBe(id)
    await t.runner.engine.idle()
    expect((await t.call(`/admin/api/events/${res.json.event.id}`)).json.event.status).toBe('done')
    expect(sink.requests.length).toBe(before + 1)
    expect((await t.call('/admin/api/events/evt_nope/replay', { method: 'POST' })).status).toBe(404)
  })
})

describe('admin API: recipes, simulate, stats', () => {
  it('lists recipes as check prints them, with the last day of outcomes', async () => {
    const res = await t.call('/admin/api/recipes')
    expect(res.status).toBe(200)
    const hook = res.json.recipes.find((r: { name: string }) => r.name === 'hook')
    expect(hook).toMatchObject({ name: 'hook', enabled: true, events: ['title-ready', 'title-updated'], when: 'always' })
    expect(hook.steps).toEqual([{ step: 1, action: 'http', flags: [] }])
    expect(hook.last24h.done).toBeGreaterThan(0)
    expect(hook.last24h.dead).toBeGreaterThan(0)
    expect(hook.lastRun.eventId).toMatch(/^evt_/)
  })

  it('simulates a payload with the same code as the CLI, and refuses bad input', async () => {
    const res = await t.call('/admin/api/simulate', { method: 'POST', body: { event: 'title-ready', payload: title(7) } })
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ event: 'title-ready', matched: 1, total: 2 })
    const hook = res.json.recipes.find((r: { name: string }) => r.name === 'hook')
    expect(hook.steps[0].input.headers.authorization).toBe('[redacted]')
    expect(res.json.recipes.find((r: { name: string }) => r.name === 'trace')).toMatchObject({ matched: false, reason: { kind: 'event' } })
    expect((await t.call('/admin/api/simulate', { method: 'POST', body: { event: 'nope', payload: {} } })).status).toBe(400)
    expect((await t.call('/admin/api/simulate', { method: 'POST', body: { event: 'title-ready', payload: [1] } })).status).toBe(400)
    const broken = await t.call('/admin/api/simulate', {
      method: 'POST',
      body: '{"event":',
      headers: { 'content-type': 'application/json' },
    })
    expect(broken.status).toBe(400)
    expect(broken.json.error.code).toBe('invalid_json')
  })

  it('counts the last day by state and the last hour per minute', async () => {
    const res = await t.call('/admin/api/stats')
    expect(res.status).toBe(200)
    const { events, runs, queue, perMinute, perHour } = res.json
    expect(perMinute).toHaveLength(60)
    expect(perHour).toHaveLength(24)
    const listed = (await t.call('/admin/api/events?limit=200')).json.events.length
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0)
    expect(sum(events)).toBe(listed)
    expect(perHour.reduce((a: number, b: { deliveries: number }) => a + b.deliveries, 0)).toBe(listed)
    expect(runs.dead).toBeGreaterThan(0)
    expect(queue).toMatchObject({ scheduled: 0, running: 0, waiting: 0 })
  })
})

describe('admin API: live stream', () => {
  it('sends new deliveries and run state changes as server-sent events', async () => {
    const controller = new AbortController()
    const res = await fetch(`${t.url}/admin/api/stream`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: controller.signal })
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = res.body!.getReader()
    let text = ''
    const read = (async () => {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        text += new TextDecoder().decode(value)
        if (/event: run\n[^\n]*"state":"done"/.test(text)) return
      }
    })()
    const id = await deliver('title-ready', title(700))
    await read
    controller.abort()
    expect(text).toContain(`event: delivery\ndata: {"id":"${id}","event":"title-ready","duplicate":false}`)
    expect(text).toMatch(
      new RegExp(`event: run\\ndata: \\{"id":"run_[^"]+","eventId":"${id}","recipe":"hook","action":"http","state":"done"\\}`),
    )
  })
})

describe('/metrics', () => {
  it('counts deliveries and run outcomes exactly', async () => {
    const scrape = async () => {
      const res = await t.call('/metrics')
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      return parseMetrics(res.text)
    }
    const before = await scrape()
    const n = 6
    const m = 2
    for (let i = 0; i < n; i++) {
      if (i < m) failing.add(800 + i)
      await deliver('title-updated', title(800 + i))
    }
    expect((await t.post('title-updated', title(800))).status).toBe(200) // a duplicate
    expect((await t.post('title-nope', title(800))).status).toBe(404)
    const after = await scrape()
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0)
    expect(delta('audiorista_deliveries_total{event="title-updated",outcome="accepted",status="202"}')).toBe(n)
    expect(delta('audiorista_deliveries_total{event="title-updated",outcome="duplicate",status="200"}')).toBe(1)
    expect(delta('audiorista_deliveries_total{event="unknown",outcome="rejected",status="404"}')).toBe(1)
    expect(delta('audiorista_runs_finished_total{recipe="hook",action="http",state="done"}')).toBe(n - m)
    expect(delta('audiorista_runs_finished_total{recipe="hook",action="http",state="dead"}')).toBe(m)
    expect(delta('audiorista_step_duration_seconds_count{action="http"}')).toBe(n)
    expect(after.get('audiorista_queue_scheduled')).toBe(0)
    expect([...after.keys()].every((name) => name.startsWith('audiorista_'))).toBe(true)
  })
})
