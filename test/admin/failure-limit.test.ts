import { afterEach, describe, expect, it } from 'vitest'
import { createFailureLimit } from '../../src/admin/failure-limit.js'
import type { Config } from '../../src/types.js'
import { ADMIN_TOKEN, type ApiAnswer, type ConsoleRunner, startConsoleRunner } from '../helpers/console.js'

/**
 * One limit on refused admin tokens per client, however the token is
 * presented: a Bearer header on a page, the API, its stream or /metrics, or
 * the login form. `server.trustProxy` decides who the client is.
 */

let t: ConsoleRunner | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const base: Config = { auth: { allowUnauthenticated: true } }
const WRONG = 'wrong-wrong-wrong-wrong-wrong-0'
const guess = (i: number) => `${WRONG}${i}`
const form = (token: string) => new URLSearchParams({ token, next: '/admin/' })

/** The stream's answer: its status and headers only (a 200 stays open, so it is cut at once). */
async function openStream(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Headers }> {
  const controller = new AbortController()
  const res = await fetch(`${url}/admin/api/stream`, { headers, signal: controller.signal, redirect: 'manual' })
  controller.abort()
  return { status: res.status, headers: res.headers }
}

function expectLimited(res: { status: number; headers: Headers }, what: string): void {
  expect(res.status, what).toBe(429)
  expect(Number(res.headers.get('retry-after')), what).toBeGreaterThan(0)
}

describe('the admin token failure limit', () => {
  it('counts wrong Bearer tokens on /admin/ and /admin/login: 401 up to the limit, then 429 for 50 guesses', async () => {
    const c = await startConsoleRunner(base)
    t = c
    const answers: ApiAnswer[] = []
    for (let i = 0; i < 50; i++) answers.push(await c.call(i % 2 ? '/admin/login' : '/admin/', { token: guess(i) }))
    expect(answers.map((a) => a.status)).toEqual([...Array(10).fill(401), ...Array(40).fill(429)])
    // A refusal on a page is a page, and says it is the token (not a redirect to the form).
    expect(answers[0]!.headers.get('content-type')).toMatch(/^text\/html/)
    expect(answers[0]!.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/)
    expect(answers[0]!.text).toContain('the Bearer token is not the admin token')
    expect(answers[49]!.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(answers[49]!.text).toContain('too many refused tokens')
    // Past the limit even the right token waits, or a refusal would tell a right guess from a wrong one.
    expectLimited(await c.call('/admin/api/stats'), 'the right token')
    const warned = c.lines().filter((l) => l.msg === 'too many refused admin tokens from one address: 429 until the window ends')
    expect(warned).toHaveLength(1)
    expect(warned[0]!.client).toBe('127.0.0.1')
  })

  it('shares one budget across pages, the API, its stream, /metrics and the login form', async () => {
    const c = await startConsoleRunner(base)
    t = c
    const { cookie } = await c.login()
    const refusals: Array<() => Promise<{ status: number }>> = [
      () => c.call('/admin/', { token: guess(1) }),
      () => c.call('/admin/events', { token: guess(2) }),
      () => c.call('/admin/api/stats', { token: guess(3) }),
      () => c.call('/admin/api/events', { token: null }),
      () => c.call('/metrics', { token: guess(4) }),
      () => c.call('/metrics', { token: null }),
      () => openStream(c.url, { authorization: `Bearer ${guess(5)}` }),
      () => openStream(c.url, { authorization: `Bearer ${guess(6)}` }),
      () => c.call('/admin/login', { method: 'POST', token: null, body: form(guess(7)) }),
      () => c.call('/admin/login', { method: 'POST', token: null, body: form(guess(8)) }),
    ]
    for (const refuse of refusals) expect((await refuse()).status).toBe(401)
    // The eleventh, whichever way and whatever it carries, waits.
    expectLimited(await c.call('/admin/', { token: guess(9) }), 'a page, wrong token')
    expectLimited(await c.call('/admin/events'), 'a page, right token')
    expectLimited(await c.call('/admin/login', { token: null }), 'the login page')
    expectLimited(await c.call('/admin/login', { method: 'POST', token: null, body: form(ADMIN_TOKEN) }), 'the login form, right token')
    expectLimited(await c.call('/admin/api/stats'), 'the API, right token')
    expectLimited(await c.call('/metrics'), '/metrics, right token')
    expectLimited(await openStream(c.url, { authorization: `Bearer ${ADMIN_TOKEN}` }), 'the stream, right token')
    // The people already signed in go on working.
    expect((await c.call('/admin/events', { token: null, headers: { cookie } })).status).toBe(200)
    expect((await openStream(c.url, { cookie })).status).toBe(200)
    // Open files are no guess at anything, and stay open.
    const css = /href="(\/admin\/static\/[^"]+\.css)"/.exec((await c.call('/admin/events', { token: null, headers: { cookie } })).text)?.[1]
    expect((await c.call(css!, { token: null })).status).toBe(200)
  })

  it('trustProxy off (default): a forged X-Forwarded-For is ignored, so it buys no fresh budget and is not logged', async () => {
    const c = await startConsoleRunner({ auth: { keys: ['the-webhook-key-0123456789'] } })
    t = c
    for (let i = 0; i < 10; i++) {
      const res = await c.call('/admin/', { token: guess(i), headers: { 'x-forwarded-for': `203.0.113.${i}` } })
      expect(res.status).toBe(401)
    }
    expectLimited(await c.call('/admin/', { token: guess(10), headers: { 'x-forwarded-for': '198.51.100.1' } }), 'a new forged address')
    const rejected = await c.post('title-ready', { id: 1 }, { key: 'not-the-key', headers: { 'x-forwarded-for': '198.51.100.1' } })
    expect(rejected.status).toBe(401)
    expect(c.lines().find((l) => l.msg === 'delivery rejected')?.client).toBe('127.0.0.1')
  })

  it('trustProxy on (loopback trusted): each forwarded client has its own budget, and a signed-in browser keeps working', async () => {
    const c = await startConsoleRunner({ auth: { keys: ['the-webhook-key-0123456789'] }, server: { trustProxy: 'loopback' } })
    t = c
    const from = (ip: string) => ({ 'x-forwarded-for': ip })
    const { cookie } = await c.login()
    for (let i = 0; i < 10; i++) expect((await c.call('/admin/', { token: guess(i), headers: from('203.0.113.5') })).status).toBe(401)
    expectLimited(await c.call('/admin/api/stats', { headers: from('203.0.113.5') }), 'the guesser, right token')
    // Another client behind the same proxy is not locked out with the guesser.
    expect((await c.call('/admin/', { token: guess(11), headers: from('198.51.100.7') })).status).toBe(401)
    expect((await c.call('/admin/api/stats', { headers: from('198.51.100.7') })).status).toBe(200)
    // A browser signed in from the guesser's own address is not either.
    expect((await c.call('/admin/events', { token: null, headers: { cookie, ...from('203.0.113.5') } })).status).toBe(200)
    // The proxy appends what it saw: a client's own X-Forwarded-For entry in front is not believed.
    expectLimited(await c.call('/admin/api/stats', { headers: from('198.51.100.7, 203.0.113.5') }), 'a forged entry before the guesser')
    const warned = c.lines().find((l) => l.msg === 'too many refused admin tokens from one address: 429 until the window ends')
    expect(warned?.client).toBe('203.0.113.5')
    await c.post('title-ready', { id: 1 }, { key: 'not-the-key', headers: from('192.0.2.44') })
    expect(c.lines().find((l) => l.msg === 'delivery rejected')?.client).toBe('192.0.2.44')
  })

  it('trustProxy as a hop count believes that many proxies, no more', async () => {
    const c = await startConsoleRunner({ ...base, server: { trustProxy: 1 } })
    t = c
    const headers = { 'x-forwarded-for': '192.0.2.1, 203.0.113.5' }
    for (let i = 0; i < 10; i++) expect((await c.call('/admin/', { token: guess(i), headers })).status).toBe(401)
    // One hop: the client is the last entry; changing the entries before it changes nothing.
    expectLimited(await c.call('/admin/', { token: guess(10), headers: { 'x-forwarded-for': '192.0.2.99, 203.0.113.5' } }), 'same client')
    expect((await c.call('/admin/', { token: guess(11), headers: { 'x-forwarded-for': '192.0.2.1, 198.51.100.2' } })).status).toBe(401)
  })
})

describe('the failure counter', () => {
  it('starts over after the window, and keeps at most maxClients addresses: the rest share one budget', () => {
    let clock = 0
    const limit = createFailureLimit({ limit: 2, window: 1_000, maxClients: 3, now: () => clock })
    const refuse = (client: string) => {
      const admission = limit.admit(client)
      if (admission.kind === 'counted') admission.attempt.settle(true)
      return admission.kind
    }
    expect(['a', 'a', 'a'].map(refuse)).toEqual(['counted', 'counted', 'over'])
    expect(limit.wait('a')).toBe(1_000)
    // An attempt that was not refused gives its count back.
    const kept = limit.admit('b')
    if (kept.kind === 'counted') kept.attempt.settle(false)
    expect(limit.wait('b')).toBe(0)
    // Made-up addresses: past three tracked, new ones share one budget instead of growing the map.
    expect(['c', 'd', 'e', 'f', 'g'].map(refuse)).toEqual(['counted', 'counted', 'counted', 'counted', 'over'])
    expect(refuse('a')).toBe('over')
    clock = 1_000
    expect(limit.wait('a')).toBe(0)
    expect(refuse('a')).toBe('counted')
    limit.close()
  })
})
