import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createReceiver } from '../../src/receive/receiver.js'
import { createHttpServer } from '../../src/receive/server.js'
import { resolveConfig } from '../../src/config/resolve.js'
import { silentLogger } from '../../src/log.js'
import { createMemoryBackend } from '../../src/store/create.js'
import type { Config } from '../../src/types.js'
import { ADMIN_TOKEN, type ConsoleRunner, startConsoleRunner } from '../helpers/console.js'
import { startTestRunner, tempDir, type TestRunner } from '../helpers/runner.js'

/** What is on the runner's port besides webhooks, and who may see it, per config. */

let t: ConsoleRunner | TestRunner | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const base: Config = { auth: { allowUnauthenticated: true } }
const get = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers, redirect: 'manual' })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

describe('the admin surface', () => {
  it('answers 503 with Retry-After on console paths until the console is mounted; webhooks and health never wait for it', async () => {
    const config = resolveConfig({ auth: { allowUnauthenticated: true } }, { rootDir: tempDir(), env: {} })
    const store = createMemoryBackend()
    const receiver = createReceiver({ config, store, log: silentLogger() })
    receiver.setAccepting(true)
    const http = createHttpServer({ config, receiver, isReady: () => true, later: (p) => p === '/metrics' || p.startsWith('/admin') })
    const { server } = http
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    try {
      for (const path of ['/admin', '/admin/api/events', '/metrics']) {
        const res = await get(`${url}${path}`)
        expect(res.status, path).toBe(503)
        expect(res.headers.get('retry-after')).toBe('1')
      }
      expect((await get(`${url}/readyz`)).status).toBe(200)
      // A console that failed to load says so, instead of "starting" forever.
      http.mountFailed()
      const failed = await get(`${url}/admin`)
      expect(failed.status).toBe(503)
      expect(JSON.parse(failed.text).error.code).toBe('console_unavailable')
      const posted = await fetch(`${url}/webhooks/title-ready`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"id":1}',
      })
      expect(posted.status).toBe(202)
    } finally {
      server.close()
      await store.close()
    }
  })

  it('generates an admin token on first run into .audiorista/admin-token (0600), and keeps it', async () => {
    const dir = tempDir()
    t = await startTestRunner(base, { dir })
    await t.runner.console
    const file = join(dir, '.audiorista', 'admin-token')
    const token = readFileSync(file, 'utf8').trim()
    expect(t.runner.generatedAdminToken).toBe(token)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect((await get(`${t.url}/admin/api/stats`, { authorization: `Bearer ${token}` })).status).toBe(200)
    await t.close()
    t = await startTestRunner(base, { dir })
    expect(t.runner.generatedAdminToken).toBeUndefined()
    expect(t.runner.config.admin.token).toBe(token)
  })

  it('takes the token from AUDIORISTA_ADMIN_TOKEN and refuses one that is too short', () => {
    const rootDir = tempDir()
    expect(resolveConfig({}, { rootDir, env: { AUDIORISTA_ADMIN_TOKEN: ADMIN_TOKEN } }).admin).toEqual({
      enabled: true,
      token: ADMIN_TOKEN,
      tokenFrom: 'env',
    })
    expect(() => resolveConfig({ admin: { token: 'short' } }, { rootDir, env: {} })).toThrow(/admin\.token: must be at least 16 characters/)
  })

  it('admin.enabled: false removes the console, its API and (unless public) metrics', async () => {
    t = await startTestRunner({ ...base, admin: { enabled: false } })
    expect(await t.runner.console).toBeUndefined()
    for (const path of ['/admin', '/admin/login', '/admin/api/events', '/metrics']) {
      const res = await get(`${t.url}${path}`, { authorization: `Bearer ${ADMIN_TOKEN}` })
      expect(res.status, path).toBe(404)
    }
    expect((await get(`${t.url}/healthz`)).status).toBe(200)
  })

  it('admin.enabled: false with metrics.public keeps /metrics alone, open', async () => {
    t = await startTestRunner({ ...base, admin: { enabled: false }, metrics: { public: true } })
    await t.runner.console
    expect((await get(`${t.url}/metrics`)).status).toBe(200)
    expect((await get(`${t.url}/admin/api/stats`, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(404)
  })

  it('metrics.public opens /metrics alone', async () => {
    t = await startConsoleRunner({ ...base, metrics: { public: true } })
    const metrics = await get(`${t.url}/metrics`)
    expect(metrics.status).toBe(200)
    expect(metrics.text).toContain('audiorista_deliveries_total')
    expect((await get(`${t.url}/admin/api/stats`)).status).toBe(401)
  })

  it('serves health and readiness from the express app, and JSON 404s elsewhere', async () => {
    t = await startConsoleRunner(base)
    expect(JSON.parse((await get(`${t.url}/healthz`)).text)).toEqual({ ok: true })
    expect(JSON.parse((await get(`${t.url}/readyz`)).text)).toEqual({ ready: true })
    const posted = await fetch(`${t.url}/healthz`, { method: 'POST' })
    expect(posted.status).toBe(405)
    expect(posted.headers.get('allow')).toBe('GET, HEAD')
    const missing = await get(`${t.url}/nothing-here`)
    expect(missing.status).toBe(404)
    expect(JSON.parse(missing.text).error.code).toBe('not_found')
  })

  it('sets a strict Content-Security-Policy and no caching on the API', async () => {
    t = await startConsoleRunner(base)
    const res = await get(`${t.url}/admin/api/stats`, { authorization: `Bearer ${ADMIN_TOKEN}` })
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('x-powered-by')).toBeNull()
  })

  it('rate-limits refused tokens per client: past the limit even the right token waits', async () => {
    t = await startConsoleRunner(base)
    const wrong = { authorization: 'Bearer wrong-wrong-wrong-wrong-wrong' }
    for (let i = 0; i < 10; i++) expect((await get(`${t.url}/admin/api/stats`, wrong)).status).toBe(401)
    const limited = await get(`${t.url}/admin/api/stats`, wrong)
    expect(limited.status).toBe(429)
    expect(JSON.parse(limited.text).error.code).toBe('too_many_attempts')
    expect((await get(`${t.url}/admin/api/stats`, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(429)
  })

  it('counts parallel guesses before they are answered, and never locks out a signed-in session', async () => {
    const c = await startConsoleRunner(base)
    t = c
    const { cookie } = await c.login()
    const wrong = { authorization: 'Bearer wrong-wrong-wrong-wrong-wrong' }
    const statuses = await Promise.all(Array.from({ length: 30 }, () => get(`${c.url}/admin/api/stats`, wrong).then((r) => r.status)))
    expect(statuses.filter((s) => s === 401)).toHaveLength(10)
    expect(statuses.filter((s) => s === 429)).toHaveLength(20)
    // The people already signed in go on working; a proxy's own Authorization scheme leaves their cookie in charge.
    expect((await get(`${c.url}/admin/api/stats`, { cookie })).status).toBe(200)
    expect((await get(`${c.url}/admin/events`, { cookie, authorization: 'Basic dXNlcjpwYXNz' })).status).toBe(200)
  })
})
