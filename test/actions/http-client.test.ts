import { afterEach, describe, expect, it } from 'vitest'
import { httpRequest } from '../../src/actions/http-client.js'
import { PermanentError } from '../../src/errors.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'

let sink: HttpSink | undefined
let other: HttpSink | undefined
afterEach(async () => {
  await Promise.all([sink?.close(), other?.close()])
  sink = other = undefined
})

const req = (body?: string) => ({
  method: 'POST',
  headers: new Headers({ 'content-type': 'application/json' }),
  signal: new AbortController().signal,
  limit: 10,
  ...(body ? { body } : {}),
})

describe('httpRequest (node:http, as the http action uses it)', () => {
  it('follows a 307 with the same method and body, and a 303 as a GET without a body', async () => {
    sink = await createHttpSink()
    sink.reply((r) =>
      r.path === '/a'
        ? { status: 307, headers: { location: '/b' } }
        : r.path === '/b'
          ? { status: 303, headers: { location: '/c' } }
          : { status: 200, body: 'x'.repeat(100) },
    )
    const res = await httpRequest(`${sink.url}/a`, req('{"n":1}'))
    expect(res.status).toBe(200)
    expect(res.text).toBe('x'.repeat(10))
    expect(sink.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/a', '{"n":1}'],
      ['POST', '/b', '{"n":1}'],
      ['GET', '/c', ''],
    ])
  })

  it('rejects with the socket error code for a refused connection', async () => {
    sink = await createHttpSink()
    const { url } = sink
    await sink.close()
    sink = undefined
    await expect(httpRequest(url, req())).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })

  it('stops after 5 redirects with a permanent error instead of returning the sixth 3xx', async () => {
    sink = await createHttpSink({ reply: (r) => ({ status: 302, headers: { location: `${r.path}x` } }) })
    const err = await httpRequest(`${sink.url}/a`, req()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PermanentError)
    expect(err).toMatchObject({ code: 'redirect_limit', message: `stopped after 5 redirects (the last to ${sink.url})` })
    expect(sink.requests).toHaveLength(6)
  })

  it("with 'any', a request that went to another origin never gets its headers back, even on returning", async () => {
    sink = await createHttpSink()
    other = await createHttpSink({ reply: { status: 307, headers: { location: `${sink.url}/back` } } })
    sink.reply((r) => (r.path === '/a' ? { status: 307, headers: { location: `${other!.url}/b` } } : { status: 204 }))
    const headers = new Headers({ cookie: 'sid=1', 'x-api-key': 'k', 'content-type': 'application/json', 'user-agent': 'my-agent' })
    const res = await httpRequest(`${sink.url}/a`, { ...req('{}'), headers, followRedirects: 'any' })
    expect(res.status).toBe(204)
    const [first, back] = sink.requests
    expect(first!.headers).toMatchObject({ cookie: 'sid=1', 'x-api-key': 'k', 'user-agent': 'my-agent' })
    for (const r of [other.requests[0]!, back!]) {
      expect(r.body).toBe('{}')
      expect(r.headers).toMatchObject({ 'user-agent': 'audiorista-runner', 'content-type': 'application/json' })
      expect(r.headers).not.toHaveProperty('cookie')
      expect(r.headers).not.toHaveProperty('x-api-key')
    }
  })

  it('refuses a redirect to a URL that is not http(s), for good', async () => {
    sink = await createHttpSink({ reply: { status: 307, headers: { location: 'file:///etc/passwd' } } })
    const err = await httpRequest(sink.url, { ...req(), followRedirects: 'any' }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'redirect_invalid', message: expect.stringContaining('non-http(s)') })
  })

  it('refuses a header value node cannot send, naming the header and not the value, before anything is sent', async () => {
    sink = await createHttpSink()
    const err = await httpRequest(sink.url, { ...req(), headers: new Headers({ 'x-title': 'Episode\x01s3cr3t' }) }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PermanentError)
    const message = 'header "x-title" has a line break or a control character in its value; nothing was sent'
    expect(err).toMatchObject({ code: 'header_invalid', message })
    expect(sink.requests).toHaveLength(0)
  })
})
