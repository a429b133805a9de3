import { afterEach, describe, expect, it } from 'vitest'
import { httpRequest } from '../../src/actions/http-client.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'

let sink: HttpSink | undefined
afterEach(async () => {
  await sink?.close()
  sink = undefined
})

const req = (body?: string) => ({ method: 'POST', headers: new Headers({ 'content-type': 'application/json' }), signal: new AbortController().signal, limit: 10, ...(body ? { body } : {}) })

describe('httpRequest (node:http, as the http action uses it)', () => {
  it('follows a 307 with the same method and body, and a 303 as a GET without a body', async () => {
    sink = await createHttpSink()
    sink.reply((r) => (r.path === '/a' ? { status: 307, headers: { location: '/b' } } : r.path === '/b' ? { status: 303, headers: { location: '/c' } } : { status: 200, body: 'x'.repeat(100) }))
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
})
