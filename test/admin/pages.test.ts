import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Config } from '../../src/types.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { startTestRunner, type TestRunner } from '../helpers/runner.js'

/**
 * The dashboard's pages against a real runner, as a browser without
 * JavaScript sees them: the login flow, the session gate, forms with and
 * without their CSRF token, escaping of payload values, hashed static files
 * and the live fragments.
 */

const TOKEN = 'x'.repeat(32)
let t: TestRunner
let sink: HttpSink
let cookie: string
let csrf: string
/** Titles the sink fails (500) while they are in here. */
const failing = new Set<string>()

interface Page {
  status: number
  headers: Headers
  text: string
}

async function get(path: string, headers: Record<string, string> = { cookie }): Promise<Page> {
  const res = await fetch(`${t.url}${path}`, { redirect: 'manual', headers })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

async function post(path: string, form: Record<string, string>, headers: Record<string, string> = { cookie }): Promise<Page> {
  const res = await fetch(`${t.url}${path}`, { method: 'POST', redirect: 'manual', headers, body: new URLSearchParams(form) })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

async function deliver(body: Record<string, unknown>): Promise<string> {
  const res = await t.post('title-ready', body)
  expect(res.status).toBe(202)
  await t.runner.engine.idle()
  return res.json.id
}

beforeAll(async () => {
  sink = await createHttpSink()
  sink.reply((req) => (failing.has(req.json().name) ? { status: 500 } : { status: 200, body: { ok: true } }))
  const config: Config = {
    auth: { allowUnauthenticated: true },
    admin: { token: TOKEN },
    queue: { retry: { attempts: 1 } },
    recipes: [{ name: 'hook', on: 'title-ready', do: [{ action: 'http', with: { url: `${sink.url}/hook`, body: { name: '{{name}}' } } }] }],
  }
  t = await startTestRunner(config)
  await t.runner.console
  const login = await post('/admin/login', { token: TOKEN }, {})
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
  csrf = /name="_csrf" value="([^"]+)"/.exec((await get('/admin/events')).text)?.[1] ?? ''
  expect(csrf).not.toBe('')
})

afterAll(async () => {
  await t?.close()
  await sink?.close()
})

describe('console pages: signing in', () => {
  it('sends a page without a session to the login form, and back after signing in', async () => {
    const page = await get('/admin/events?status=dead', {})
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe(`/admin/login?next=${encodeURIComponent('/admin/events?status=dead')}`)
    const form = await get('/admin/login?next=%2Fadmin%2Fevents%3Fstatus%3Ddead', {})
    expect(form.status).toBe(200)
    expect(form.text).toContain('data-testid="login-form"')
    expect(form.text).toContain('name="next" value="/admin/events?status&#x3D;dead"')

    const wrong = await post('/admin/login', { token: 'y'.repeat(32), next: '/admin/events' }, {})
    expect(wrong.status).toBe(401)
    expect(wrong.text).toContain('That token is not right')
    expect(wrong.headers.get('set-cookie')).toBeNull()

    const right = await post('/admin/login', { token: TOKEN, next: '/admin/events?status=dead' }, {})
    expect(right.status).toBe(303)
    expect(right.headers.get('location')).toBe('/admin/events?status=dead')
    const setCookie = right.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=Strict/i)
    expect(setCookie).toMatch(/Path=\/admin/)
    const session = setCookie.split(';')[0]!
    expect((await get('/admin/events?status=dead', { cookie: session })).status).toBe(200)
  })

  it('never redirects outside the console after signing in', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/admin/../etc', '/other', 'admin']) {
      const res = await post('/admin/login', { token: TOKEN, next }, {})
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe('/admin')
    }
  })

  it('logs out only with the CSRF token, then the session cookie is cleared', async () => {
    const login = await post('/admin/login', { token: TOKEN }, {})
    const session = (login.headers.get('set-cookie') ?? '').split(';')[0]!
    const token = /name="_csrf" value="([^"]+)"/.exec((await get('/admin/', { cookie: session })).text)?.[1] ?? ''
    expect((await post('/admin/logout', {}, { cookie: session })).status).toBe(403)
    const out = await post('/admin/logout', { _csrf: token }, { cookie: session })
    expect(out.status).toBe(303)
    expect(out.headers.get('location')).toBe('/admin/login')
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/)
  })
})

describe('console pages: what they show', () => {
  it('renders the overview with counts, charts with a table fallback, and dead runs to retry', async () => {
    failing.add('Overview dead')
    await deliver({ id: 1, name: 'Overview dead' })
    failing.delete('Overview dead')
    // The day's figures are read at most every 2 s (activity.ts): wait for a read that has this delivery.
    let page = await get('/admin/')
    for (let i = 0; i < 30 && !page.text.includes('class="bar bar-deliveries"'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      page = await get('/admin/')
    }
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(page.headers.get('cache-control')).toBe('no-store')
    expect(page.text).toContain('data-testid="count-dead"')
    expect(page.text).toMatch(/<svg class="chart-svg"[^>]*role="img"/)
    expect(page.text).toMatch(/<rect class="bar bar-deliveries" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+"><\/rect>/)
    expect(page.text).toContain('as a table</summary>')
    expect(page.text).toContain('Needs attention')
    expect(page.text).toMatch(/<form method="post" action="\/admin\/runs\/[^"]+\/retry">/)
    expect(page.text).not.toMatch(/style=|<style|javascript:|\son[a-z]+=/i)
  })

  it('lists events with filters, shows a readable error for a bad filter, and pages with Older', async () => {
    for (let i = 0; i < 3; i++) await deliver({ id: 100 + i, name: `Paging ${i}` })
    const page = await get('/admin/events?q=Paging&limit=2')
    expect(page.status).toBe(200)
    expect(page.text.match(/data-testid="event-row"/g)).toHaveLength(2)
    expect(page.text).toContain('data-live="/admin/events?q&#x3D;Paging&amp;limit&#x3D;2&amp;fragment&#x3D;list"')
    const older = /<a href="([^"]+)" rel="next"/.exec(page.text)?.[1]?.replaceAll('&amp;', '&').replaceAll('&#x3D;', '=')
    expect(older).toMatch(/^\/admin\/events\?q=Paging&limit=2&before=/)
    const second = await get(older!)
    expect(second.text.match(/data-testid="event-row"/g)).toHaveLength(1)
    expect(second.text).not.toContain('data-live=')

    const bad = await get('/admin/events?status=bogus')
    expect(bad.status).toBe(400)
    expect(bad.text).toContain('These filters do not work: status: use one of')
  })

  it('shows an event: header, payload tree, each step with its state, input and result', async () => {
    const id = await deliver({ id: 7, name: 'Detail title', share: { url: 'https://example.com/t/7' } })
    const page = await get(`/admin/events/${id}`)
    expect(page.status).toBe(200)
    expect(page.text).toContain('<h1>Detail title</h1>')
    expect(page.text).toContain('data-testid="replay"')
    expect(page.text).toMatch(/data-testid="run" data-run-id="[^"]+" data-state="done"/)
    expect(page.text).toContain('<details open><summary>')
    expect(page.text).toContain('<span class="j-key">share</span>')
    // A link in the payload is text, never a link.
    expect(page.text).not.toContain('href="https://example.com/t/7"')
    expect((await get('/admin/events/evt_nope')).status).toBe(404)
    expect((await get('/admin/nowhere')).text).toContain('There is no such page')
  })

  it('shows the recipes as check prints them, and simulates a payload', async () => {
    const recipes = await get('/admin/recipes')
    expect(recipes.status).toBe(200)
    expect(recipes.text).toContain('<h2>hook</h2>')
    expect(recipes.text).toContain('<code>http</code>')
    const form = await get('/admin/simulate')
    expect(form.text).toContain('Episode 42: The Long Night')
    const ok = await post('/admin/simulate', { _csrf: csrf, event: 'title-ready', payload: '{"id":1,"name":"Sim"}' })
    expect(ok.status).toBe(200)
    expect(ok.text).toContain('1 of 1 recipes match')
    expect(ok.text).toContain('Rendered input')
    const invalid = await post('/admin/simulate', { _csrf: csrf, event: 'title-ready', payload: '{"id":' })
    expect(invalid.status).toBe(400)
    expect(invalid.text).toContain('The payload is not valid JSON')
    expect(invalid.text).toContain('{&quot;id&quot;:</textarea>')
  })
})

describe('console pages: retry and replay', () => {
  it('refuses a retry without the CSRF token, retries with it, and shows a refusal on the page', async () => {
    failing.add('Retry me')
    const id = await deliver({ id: 2, name: 'Retry me' })
    failing.delete('Retry me')
    const [run] = await t.runner.store.runsForEvent(id)
    expect(run?.state).toBe('dead')
    expect((await post(`/admin/runs/${run!.id}/retry`, { event: id })).status).toBe(403)
    const retried = await post(`/admin/runs/${run!.id}/retry`, { _csrf: csrf, event: id })
    expect(retried.status).toBe(303)
    expect(retried.headers.get('location')).toBe(`/admin/events/${id}?notice=retried`)
    await t.runner.engine.idle()
    const page = await get(`/admin/events/${id}?notice=retried`)
    expect(page.text).toContain('Retry scheduled')
    expect(page.text).toMatch(/data-state="done"/)
    const again = await post(`/admin/runs/${run!.id}/retry`, { _csrf: csrf, event: id })
    expect(again.status).toBe(409)
    expect(again.text).toContain('Not retried: run')
    expect(again.text).toContain('<h1>Retry me</h1>')
  })

  it('replays an event into a new one', async () => {
    const id = await deliver({ id: 3, name: 'Replay me' })
    const res = await post(`/admin/events/${id}/replay`, { _csrf: csrf })
    expect(res.status).toBe(303)
    const location = res.headers.get('location') ?? ''
    expect(location).toMatch(/^\/admin\/events\/[^/?]+\?notice=replayed$/)
    expect(location).not.toContain(id)
    expect((await get(location)).text).toContain('<h1>Replay me</h1>')
    expect((await post('/admin/events/evt_nope/replay', { _csrf: csrf })).status).toBe(404)
  })
})

describe('console pages: safety, static files and fragments', () => {
  it('escapes payload values everywhere they are shown', async () => {
    const script = '<script>alert(1)</script>'
    const attr = '"><img src=x onerror=alert(1)>'
    const a = await deliver({ id: 4, name: script, [attr]: attr })
    const b = await deliver({ id: 5, name: attr })
    for (const path of [`/admin/events/${a}`, `/admin/events/${b}`, '/admin/events', '/admin/events?fragment=list']) {
      const page = await get(path)
      expect(page.text).not.toContain(script)
      expect(page.text).not.toContain('<img src=x')
      expect(page.text).not.toContain('<img src="x"')
    }
    expect((await get(`/admin/events/${a}`)).text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect((await get(`/admin/events/${b}`)).text).toContain('&quot;&gt;&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;')
  })

  it('serves the static files by content hash, cached for good, without a session; any other hash is 404', async () => {
    const login = await get('/admin/login', {})
    const css = /<link rel="stylesheet" href="(\/admin\/static\/[0-9a-f]+\/console\.css)">/.exec(login.text)?.[1]
    const js = /<script src="(\/admin\/static\/[0-9a-f]+\/console\.js)" defer>/.exec(login.text)?.[1]
    expect(css).toBeDefined()
    const file = await get(css!, {})
    expect(file.status).toBe(200)
    expect(file.headers.get('content-type')).toMatch(/^text\/css/)
    expect(file.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect((await get(js!, {})).headers.get('content-type')).toMatch(/^text\/javascript/)
    expect((await get('/admin/static/0123456789abcdef/console.css', {})).status).toBe(404)
    expect((await get(css!.replace('console.css', 'other.css'), {})).status).toBe(404)
  })

  it('serves live fragments as bare HTML, and not without a session', async () => {
    const id = await deliver({ id: 6, name: 'Fragment title' })
    const rows = await get('/admin/events?fragment=list')
    expect(rows.status).toBe(200)
    expect(rows.headers.get('content-type')).toMatch(/^text\/html/)
    expect(rows.text.trim()).toMatch(/^<div class="table-wrap">/)
    expect(rows.text).toMatch(/<tr data-testid="event-row"/)
    expect(rows.text).toContain('Fragment title')
    expect(rows.text).not.toContain('<html')
    const overview = await get('/admin/?fragment=overview')
    expect(overview.text).toContain('data-testid="count-done"')
    expect(overview.text).not.toContain('<html')
    const live = await get(`/admin/events/${id}?fragment=live`)
    expect(live.text).toContain('data-testid="run"')
    expect(live.text).not.toContain('<html')
    expect((await get('/admin/events?fragment=list', {})).status).toBe(303)
  })

  it('leaves the JSON API its own answers', async () => {
    const res = await get('/admin/api/nothing-here', { authorization: `Bearer ${TOKEN}` })
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toMatch(/json/)
  })
})
