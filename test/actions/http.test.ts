import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { parseRetryAfter } from '../../src/actions/http-response.js'
import http from '../../src/actions/http.js'
import { classifyError, createTestContext, describePluginConformance } from '../../src/testing/index.js'
import { closedPort, createHttpSink, type HttpSink } from '../helpers/http-sink.js'

const GITHUB_TOKEN = 'ghp_conformanceSecret0123456789abcdef'

async function validInput(input: unknown) {
  const result = await http.input!['~standard'].validate(input)
  if (result.issues) throw new Error(JSON.stringify(result.issues))
  return result.value
}

async function run(input: unknown, settings: Record<string, unknown> = {}, ctx = createTestContext({ settings })) {
  return http.run(await validInput(input), ctx)
}

describePluginConformance(http, {
  async setup() {
    const sink = await createHttpSink()
    const refused = await closedPort()
    return {
      sink,
      refused,
      settings: { githubToken: GITHUB_TOKEN, apiUrl: sink.url },
      input: { url: `${sink.url}/build_hooks/5c23354f5a6b7c8d9e0f1a2b`, body: { id: 4211 } },
      sideEffects: () => sink.count,
      hang: () => sink.replyOnce({ hang: true }),
      reset: () => sink.reset(),
      secrets: [GITHUB_TOKEN],
      close: () => sink.close(),
    }
  },
  settings: { valid: [{}, { apiUrl: '' }], invalid: [{ apiUrl: 'not a url' }, { githubToken: 42 }] },
  input: {
    valid: [
      { url: '' },
      { preset: 'netlify', url: 'https://api.netlify.com/build_hooks/x' },
      { method: 'put', headers: { 'X-N': 1, 'x-tab': 'a\tb é' }, body: 'text', expect: [200, 409], timeout: '10s' },
      { followRedirects: 'any' },
      { followRedirects: 'none' },
    ],
    invalid: [
      { method: 'no such' },
      { expect: ['200'] },
      { timeout: 'soon' },
      { preset: 'github-dispatch' },
      { body: 42 },
      { preset: 'jenkins' },
      { followRedirects: 'all' },
      { headers: { 'x-title': 'a\r\nx-admin: true' } },
      { headers: { 'x-title': 'a\nb' } },
      { headers: { 'bad name': 'x' } },
      { headers: { 'x-quote': 'It’s live' } },
      { preset: 'github-dispatch', repo: 'o/r', event_type: 'x', token: 'ghp_x\nx-evil: 1' },
    ],
  },
  errors: [
    { name: '404', arrange: (e) => e.sink.replyOnce({ status: 404, body: 'Not Found' }), expect: 'permanent' },
    {
      name: '401 from GitHub',
      arrange(e) {
        e.sink.replyOnce({ status: 401, body: { message: 'Bad credentials' } })
        return { input: { preset: 'github-dispatch', repo: 'o/r', event_type: 'x' } }
      },
      expect: 'permanent',
    },
    { name: '503', arrange: (e) => e.sink.replyOnce({ status: 503 }), expect: 'retryable' },
    { name: '408', arrange: (e) => e.sink.replyOnce({ status: 408 }), expect: 'retryable' },
    {
      name: '429 with Retry-After',
      arrange: (e) => e.sink.replyOnce({ status: 429, headers: { 'retry-after': '2' } }),
      expect: 'retryable',
      retryAfter: 2000,
    },
    { name: 'a dropped connection', arrange: (e) => e.sink.replyOnce({ drop: true }), expect: 'retryable' },
    { name: 'a refused connection', arrange: (e) => ({ input: { url: `http://127.0.0.1:${e.refused}/hook` } }), expect: 'retryable' },
    { name: 'a url rendered empty', arrange: () => ({ input: { url: '  ' } }), expect: 'permanent' },
    { name: 'a url that is not http(s)', arrange: () => ({ input: { url: 'ftp://example.com/x' } }), expect: 'permanent' },
  ],
})

describe('http', () => {
  let sink: HttpSink
  beforeAll(async () => {
    sink = await createHttpSink()
  })
  afterAll(() => sink.close())
  beforeEach(() => sink.reset())

  it('POSTs by default and returns the status and the start of the body', async () => {
    sink.replyOnce({ status: 201, body: 'z'.repeat(5000) })
    const result = await run({ url: `${sink.url}/hook` })
    expect(result).toEqual({ status: 201, body: 'z'.repeat(2048) })
    expect(sink.requests[0]).toMatchObject({ method: 'POST', path: '/hook', body: '' })
  })

  it('sends Idempotency-Key: the run id, the same on every attempt', async () => {
    const runId = 'run_01J0000000000000000000000'
    sink.replyOnce({ status: 500 })
    await expect(run({ url: sink.url }, {}, createTestContext({ runId, attempt: 1 }))).rejects.toThrow(/500/)
    await run({ url: sink.url }, {}, createTestContext({ runId, attempt: 2 }))
    expect(sink.requests.map((r) => r.headers['idempotency-key'])).toEqual([runId, runId])
  })

  it('sends an object body as JSON and a string body as it is', async () => {
    await run({ url: sink.url, method: 'put', body: { name: 'Episode "42" </script>', n: 1 }, headers: { 'X-Trace': 'a' } })
    await run({ url: sink.url, body: 'plain', headers: { 'content-type': 'text/csv' } })
    const [json, text] = sink.requests
    expect(json).toMatchObject({ method: 'PUT', headers: { 'content-type': 'application/json', 'x-trace': 'a' } })
    expect(json!.json()).toEqual({ name: 'Episode "42" </script>', n: 1 })
    expect(text).toMatchObject({ body: 'plain', headers: { 'content-type': 'text/csv' } })
  })

  it('counts the statuses in expect as success, and only those', async () => {
    sink.replyOnce({ status: 409 })
    await expect(run({ url: sink.url, expect: [200, 409] })).resolves.toMatchObject({ status: 409 })
    sink.replyOnce({ status: 201 })
    await expect(run({ url: sink.url, expect: [200] })).rejects.toThrow(/answered 201/)
  })

  it('sends the GitHub repository_dispatch the docs describe', async () => {
    sink.replyOnce({ status: 204 })
    const result = await run(
      { preset: 'github-dispatch', repo: 'audiorista/site', event_type: 'title-ready', client_payload: { id: 4211, name: 'Episode 42' } },
      { githubToken: GITHUB_TOKEN, apiUrl: `${sink.url}/` },
    )
    expect(result).toEqual({ status: 204, body: '' })
    const [req] = sink.requests
    expect(req).toMatchObject({
      method: 'POST',
      path: '/repos/audiorista/site/dispatches',
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${GITHUB_TOKEN}`,
        'x-github-api-version': '2022-11-28',
        'content-type': 'application/json',
      },
    })
    expect(req!.headers['user-agent']).toMatch(/audiorista-runner/)
    expect(req!.json()).toEqual({ event_type: 'title-ready', client_payload: { id: 4211, name: 'Episode 42' } })
  })

  it("prefers the step's token, and refuses github-dispatch without any token", async () => {
    sink.replyOnce({ status: 204 })
    await run(
      { preset: 'github-dispatch', repo: 'o/r', event_type: 'x', token: 'step-token' },
      { githubToken: GITHUB_TOKEN, apiUrl: sink.url },
    )
    expect(sink.requests[0]!.headers.authorization).toBe('Bearer step-token')
    const err = await run({ preset: 'github-dispatch', repo: 'o/r', event_type: 'x' }, { apiUrl: sink.url }).catch((e: Error) => e)
    expect(classifyError(err).kind).toBe('permanent')
    expect((err as Error).message).toMatch(/githubToken/)
  })

  it('treats a rate-limited GitHub 403 as retryable', async () => {
    const reset = Math.floor(Date.now() / 1000) + 60
    sink.replyOnce({ status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) } })
    const err = await run(
      { preset: 'github-dispatch', repo: 'o/r', event_type: 'x' },
      { githubToken: GITHUB_TOKEN, apiUrl: sink.url },
    ).catch((e: unknown) => e)
    const { kind, retryAfter } = classifyError(err)
    expect(kind).toBe('retryable')
    expect(retryAfter).toBeGreaterThan(50_000)
    expect(retryAfter).toBeLessThanOrEqual(60_000)
  })

  it('honours Retry-After as an HTTP date', async () => {
    sink.replyOnce({ status: 429, headers: { 'retry-after': new Date(Date.now() + 30_000).toUTCString() } })
    const { retryAfter } = classifyError(await run({ url: sink.url }).catch((e: unknown) => e))
    expect(retryAfter).toBeGreaterThan(25_000)
    expect(retryAfter).toBeLessThanOrEqual(30_000)
  })

  it('parses Retry-After seconds and dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000)
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })

  it('gives up after its own timeout, retryably', async () => {
    sink.replyOnce({ hang: true })
    const started = Date.now()
    const err = await run({ url: sink.url, timeout: '200ms' }).catch((e: Error) => e)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(classifyError(err).kind).toBe('retryable')
    expect((err as Error).message).toMatch(/timed out after 200ms/)
  })

  it('stops when the step is aborted, retryably', async () => {
    sink.replyOnce({ hang: true })
    const ctx = createTestContext()
    setTimeout(() => ctx.abort(), 50)
    const err = await run({ url: sink.url }, {}, ctx).catch((e: Error) => e)
    expect(classifyError(err).kind).toBe('retryable')
    expect((err as Error).message).toMatch(/aborted/)
  })

  it('says "url rendered empty" when the url is missing', async () => {
    await expect(run({})).rejects.toThrow('url rendered empty')
    await expect(run({ url: '' })).rejects.toThrow('url rendered empty')
  })

  it('names the header whose rendered value has a line break, and sends nothing', async () => {
    const result = await http.input!['~standard'].validate({ url: sink.url, headers: { 'x-title': 'Episode\r\nx-admin: true' } })
    expect(result.issues?.map((i) => [i.path, i.message])).toEqual([
      [['headers', 'x-title'], expect.stringMatching(/^header "x-title" has a line break/)],
    ])
    expect(sink.requests).toHaveLength(0)
  })

  it("fails for good, without repeating it, when the settings' githubToken cannot be a header", async () => {
    const token = 'ghp_s3cr3t\nx-evil: 1'
    const err = await run({ preset: 'github-dispatch', repo: 'o/r', event_type: 'x' }, { githubToken: token, apiUrl: sink.url }).catch(
      (e: Error) => e,
    )
    expect(classifyError(err).kind).toBe('permanent')
    expect((err as Error).message).toMatch(/line break/)
    expect((err as Error).message).not.toContain('s3cr3t')
    expect(sink.requests).toHaveLength(0)
  })

  it('keeps build hook secrets out of errors and previews', async () => {
    sink.replyOnce({ status: 404 })
    const url = `${sink.url}/build_hooks/5c23354f5a6b7c8d9e0f1a2b?token=s3cr3t`
    const err = await run({ url }).catch((e: Error) => e)
    expect((err as Error).message).toBe(`http: POST ${sink.url}/build_hooks/5c23…?token=… answered 404`)
    const preview = http.preview!(await validInput({ url, body: { id: 1 } }), createTestContext())
    expect(preview).toBe(`POST ${sink.url}/build_hooks/5c23…?token=… (json body 8 bytes)\n{"id":1}`)
  })
})
