/**
 * A runner with its console loaded, and a client for its admin API: Bearer
 * by default, or a browser-like session (cookie + CSRF token) after `login`.
 */
import type { Config } from '../../src/types.js'
import { jsonOr, startTestRunner, type TestRunner } from './runner.js'

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef'

export interface ApiAnswer {
  status: number
  headers: Headers
  json: any
  text: string
}

export interface ConsoleRunner extends TestRunner {
  /** A request to the runner's port; `token: null` sends no Authorization header. */
  call(path: string, init?: Omit<RequestInit, 'body'> & { token?: string | null; body?: unknown }): Promise<ApiAnswer>
  /** Logs in through the form; returns the session cookie and its CSRF token (read from a page). */
  login(): Promise<{ cookie: string; csrf: string }>
}

export async function startConsoleRunner(config: Config): Promise<ConsoleRunner> {
  const t = await startTestRunner({ admin: { token: ADMIN_TOKEN }, ...config })
  await t.runner.console
  const call: ConsoleRunner['call'] = async (path, { token = ADMIN_TOKEN, body, headers, ...init } = {}) => {
    const h = new Headers(headers)
    if (token !== null && !h.has('authorization') && !h.has('cookie')) h.set('authorization', `Bearer ${token}`)
    if (body !== undefined && typeof body !== 'string' && !(body instanceof URLSearchParams)) h.set('content-type', 'application/json')
    const res = await fetch(`${t.url}${path}`, {
      redirect: 'manual',
      ...init,
      headers: h,
      ...(body === undefined ? {} : { body: typeof body === 'string' || body instanceof URLSearchParams ? body : JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, headers: res.headers, json: jsonOr(text, undefined), text }
  }
  return {
    ...t,
    call,
    async login() {
      const res = await call('/admin/login', { method: 'POST', token: null, body: new URLSearchParams({ token: ADMIN_TOKEN }) })
      const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!
      if (res.status !== 303 || !cookie) throw new Error(`login failed: ${res.status} ${res.text.slice(0, 200)}`)
      const page = await call('/admin/events', { token: null, headers: { cookie } })
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1]
      if (!csrf) throw new Error('no CSRF token on the events page')
      return { cookie, csrf }
    },
  }
}

/** Metric samples of a Prometheus text exposition: `name{a="b"}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)$/.exec(line)
    if (match) samples.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]))
  }
  return samples
}
