/**
 * Bad input corpus: what real senders, broken proxies and attackers send.
 * Every request goes over a raw socket (exact bytes: lying lengths, bytes
 * fetch refuses, literal `..` in paths) to a child runner, repeated, while
 * its RSS is watched. Each gets its documented status (SPEC 4, README
 * "Receiving webhooks"), rejected ones store nothing, and the process stays up.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { writeConfig } from '../helpers/child.js'
import { startTestRunner, tempDir, type TestRunner } from '../helpers/runner.js'
import { readStore, rssOf, sleep, spawnRunner, waitUntil, killRunnersAfterEach } from './helpers.js'
import { type RawPart, rawHttp, rawPost } from './raw-http.js'
import { createReport } from './report.js'

const KEY = 'bad-input-corpus-key-0123456789abcdef'
const report = createReport()
afterAll(() => report.write())

killRunnersAfterEach()

/** Node answers these itself (no JSON body): bad framing, bad header bytes, header overflow. */
const NODE = 'node'
/** Either Node or the receiver answers first, depending on timing. */
const ANY = 'any'

interface Case {
  name: string
  parts: RawPart[]
  /** Expected status; several when the framing allows either (documented in the case name). */
  status: number | number[]
  /** A valid delivery (hostile but legal): stored exactly once, 202 then 200 duplicate. */
  accepted?: boolean
  /** Who answers: our receiver (JSON error body) or Node's HTTP parser. Default: ours. */
  by?: typeof NODE | typeof ANY
  /** Slow (waits for a timeout): run in the first pass only. */
  once?: boolean
  end?: boolean
  noBody?: boolean
  timeout?: number
  /** The answer (or the close) must come within this many ms. */
  within?: number
}

const P = '/webhooks/title-ready'
const K = { 'x-audiorista-key': KEY }
const post = (body: string | Buffer, headers: Record<string, string | number | null> = {}, path = P) =>
  rawPost(path, body, { ...K, ...headers })
const request = (method: string, path: string, headers: Record<string, string | number> = {}, body: string | Buffer = '') => {
  const h = { host: '127.0.0.1', ...K, ...headers }
  const head = Object.entries(h)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')
  return Buffer.concat([
    Buffer.from(`${method} ${path} HTTP/1.1\r\n${head}\r\n\r\n`, 'latin1'),
    typeof body === 'string' ? Buffer.from(body) : body,
  ])
}
const chunked = (...chunks: string[]) => `${chunks.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('')}0\r\n\r\n`
const gzipChunked = (text: string) => {
  const gz = gzipSync(text)
  return Buffer.concat([Buffer.from(`${gz.length.toString(16)}\r\n`), gz, Buffer.from('\r\n0\r\n\r\n')])
}
const nest = (open: string, close: string, n: number, inner = '1') => open.repeat(n) + inner + close.repeat(n)
const utf16le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')])
const utf16be = (s: string) => {
  const le = Buffer.from(s, 'utf16le')
  const be = Buffer.alloc(le.length)
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1]!
    be[i + 1] = le[i]!
  }
  return Buffer.concat([Buffer.from([0xfe, 0xff]), be])
}
const manyKeys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"${i.toString(36)}":${i % 10}`).join(',')}}`
const MB = 1024 * 1024
const GC_PRELOAD = fileURLToPath(new URL('./gc-on-signal.cjs', import.meta.url))

function corpus(): Case[] {
  const ok = (name: string) => `{"case":${JSON.stringify(name)},"id":1}`
  return [
    // ------------------------------------------------ not JSON, or not an object: 400
    { name: 'empty body, Content-Length: 0', parts: [post('')], status: 400 },
    { name: 'whitespace only', parts: [post(' \r\n\t ')], status: 400 },
    { name: 'a lone {', parts: [post('{')], status: 400 },
    { name: 'truncated object', parts: [post('{"id": 4211, "name": "Episode')], status: 400 },
    { name: 'trailing comma', parts: [post('{"id": 1,}')], status: 400 },
    { name: 'single quotes', parts: [post("{'id': 1}")], status: 400 },
    { name: 'unquoted keys', parts: [post('{id: 1}')], status: 400 },
    { name: 'NaN literal', parts: [post('{"id": NaN}')], status: 400 },
    { name: 'two objects', parts: [post('{"a":1}{"b":2}')], status: 400 },
    { name: 'object then garbage', parts: [post('{"a":1} trailing')], status: 400 },
    { name: 'array body', parts: [post('[]')], status: 400 },
    { name: 'array of objects', parts: [post('[{"id":1},{"id":2}]')], status: 400 },
    { name: 'string body', parts: [post('"title-ready"')], status: 400 },
    { name: 'number body', parts: [post('42')], status: 400 },
    { name: 'huge number body', parts: [post('1e999')], status: 400 },
    { name: 'true body', parts: [post('true')], status: 400 },
    { name: 'null body', parts: [post('null')], status: 400 },
    { name: 'raw control byte in a string', parts: [post('{"a":"\u0001"}')], status: 400 },
    { name: 'raw NUL byte in a string', parts: [post(Buffer.from('{"a":"\u0000"}', 'latin1'))], status: 400 },
    { name: 'NUL bytes only', parts: [post(Buffer.alloc(64))], status: 400 },
    { name: 'form body without Content-Type', parts: [rawPost(P, 'id=1&name=x', { ...K, 'content-type': null })], status: 400 },
    { name: '10,000 levels of [', parts: [post(nest('[', ']', 10_000))], status: 400 },
    { name: '10,000 levels of {"a":', parts: [post(nest('{"a":', '}', 10_000))], status: 400 },
    { name: '170,000 levels of {"a": (just under 1 MB)', parts: [post(nest('{"a":', '}', 170_000))], status: 400 },
    { name: '250 levels of objects (README: > 200 refused)', parts: [post(nest('{"a":', '}', 250))], status: 400 },
    { name: 'arrays 250 deep inside an object', parts: [post(`{"a":${nest('[', ']', 250)}}`)], status: 400 },
    // ------------------------------------------------ bad text encoding: 400; unknown charset: 415
    {
      name: 'invalid UTF-8 (C3 28)',
      parts: [post(Buffer.from([...Buffer.from('{"name":"'), 0xc3, 0x28, ...Buffer.from('"}')]))],
      status: 400,
    },
    {
      name: 'overlong UTF-8 (C0 AF)',
      parts: [post(Buffer.from([...Buffer.from('{"name":"'), 0xc0, 0xaf, ...Buffer.from('"}')]))],
      status: 400,
    },
    {
      name: 'UTF-8 encoded surrogate (ED A0 80)',
      parts: [post(Buffer.from([...Buffer.from('{"name":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]))],
      status: 400,
    },
    { name: 'latin1 bytes sent as UTF-8', parts: [post(Buffer.from('{"name":"caf\u00e9"}', 'latin1'))], status: 400 },
    { name: 'UTF-16 without a charset', parts: [post(utf16le('{"id":1}'))], status: 400 },
    {
      name: 'UTF-16BE BOM declared as utf-16 (little-endian)',
      parts: [post(utf16be('{"id":1}'), { 'content-type': 'application/json; charset=utf-16' })],
      status: 400,
    },
    { name: 'charset=klingon', parts: [post('{"id":1}', { 'content-type': 'application/json; charset=klingon' })], status: 415 },
    {
      name: 'charset=utf-32 (not supported)',
      parts: [post('{"id":1}', { 'content-type': 'application/json; charset=utf-32' })],
      status: 415,
    },
    // ------------------------------------------------ not JSON by Content-Type: 415
    { name: 'text/plain', parts: [post('{"id":1}', { 'content-type': 'text/plain' })], status: 415 },
    { name: 'form-urlencoded', parts: [post('id=1', { 'content-type': 'application/x-www-form-urlencoded' })], status: 415 },
    {
      name: 'multipart',
      parts: [post('--x\r\n\r\n{"id":1}\r\n--x--', { 'content-type': 'multipart/form-data; boundary=x' })],
      status: 415,
    },
    { name: 'malformed Content-Type', parts: [post('{"id":1}', { 'content-type': 'application/json;;;=' })], status: 415 },
    { name: 'latin1 bytes in Content-Type', parts: [post('{"id":1}', { 'content-type': 'application/j\u00e9son' })], status: 415 },
    // ------------------------------------------------ too large: 413
    // The 413 goes out before the rest of the body is read, then the socket is closed with that body
    // unread: the kernel sends a reset, which now and then (about 1 in 100 here) destroys the 413 at
    // the client before it is read. Allowed here; reported (no lingering close on early rejections).
    { name: 'over 1 MB with Content-Length (413, rarely a reset)', parts: [post(`{"pad":"${'x'.repeat(MB)}"}`)], status: [413, 0] },
    {
      name: 'over 1 MB chunked, no Content-Length (413, rarely a reset)',
      parts: [post(chunked(`{"pad":"${'x'.repeat(MB / 2)}`, `${'y'.repeat(MB / 2)}"}`), { 'transfer-encoding': 'chunked' })],
      status: [413, 0],
    },
    { name: 'Content-Length 2 MB announced, 8 bytes sent', parts: [post('{"id":1}', { 'content-length': 2 * MB })], status: 413 },
    { name: 'Content-Length 10 GB announced', parts: [post('{"id":1}', { 'content-length': 10 * 1024 * MB })], status: 413 },
    {
      name: 'Expect: 100-continue with a 2 MB Content-Length',
      parts: [post('', { expect: '100-continue', 'content-length': 2 * MB })],
      status: 413,
    },
    // ------------------------------------------------ lying or broken framing
    {
      name: 'Content-Length larger than the body, client half-closes (400 or a close)',
      parts: [post('{"id":1}', { 'content-length': 100 })],
      status: [400, 0],
      end: true,
      by: NODE,
    },
    {
      name: 'Content-Length larger than the body, client waits (cut at requestTimeout 3s: 408 or a close)',
      parts: [post('{"id":1}', { 'content-length': 100 })],
      status: [408, 0],
      once: true,
      by: NODE,
      timeout: 8000,
      within: 5000,
    },
    // The rest of the body is parsed as a next request: Node's 400 for that garbage may go out first.
    {
      name: 'Content-Length smaller than the body (the rest is garbage)',
      parts: [post('{"name":"x"}', { 'content-length': 5 })],
      status: 400,
      by: ANY,
    },
    { name: 'Content-Length not a number', parts: [post('{"id":1}', { 'content-length': 'abc' })], status: 400, by: NODE },
    { name: 'Content-Length negative', parts: [post('{"id":1}', { 'content-length': -1 })], status: 400, by: NODE },
    {
      name: 'two different Content-Length headers',
      parts: [request('POST', P, { 'content-type': 'application/json', 'content-length': 8, 'Content-Length': 9 }, '{"id":1}')],
      status: 400,
      by: NODE,
    },
    {
      name: 'Transfer-Encoding chunked plus Content-Length (smuggling)',
      parts: [post(chunked('{"id":1}'), { 'transfer-encoding': 'chunked', 'content-length': 5 })],
      status: 400,
      by: NODE,
    },
    { name: 'bad chunk size', parts: [post('zz\r\n{"id":1}\r\n0\r\n\r\n', { 'transfer-encoding': 'chunked' })], status: 400, by: NODE },
    {
      name: 'Transfer-Encoding: gzip, chunked with a gzipped body (not decoded)',
      parts: [post(gzipChunked('{"id":1}'), { 'transfer-encoding': 'gzip, chunked' })],
      status: [400, 415],
    },
    {
      name: 'Content-Encoding: gzip (not decoded)',
      parts: [post(gzipSync('{"id":1}'), { 'content-encoding': 'gzip' })],
      status: [400, 415],
    },
    // ------------------------------------------------ headers
    { name: '20 KB header', parts: [post('{"id":1}', { 'x-pad': 'p'.repeat(20 * 1024) })], status: 431, by: NODE },
    { name: '20 KB X-Audiorista-Key', parts: [post('{"id":1}', { 'x-audiorista-key': 'k'.repeat(20 * 1024) })], status: 431, by: NODE },
    {
      name: '3,000 small headers (over 16 KB)',
      parts: [
        request(
          'POST',
          P,
          {
            'content-type': 'application/json',
            'content-length': 8,
            ...Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`x${i}`, 'v'])),
          },
          '{"id":1}',
        ),
      ],
      status: 431,
      by: NODE,
    },
    { name: 'NUL byte in a header value', parts: [post('{"id":1}', { 'x-note': 'a\u0000b' })], status: 400, by: NODE },
    {
      name: 'header without a colon',
      parts: [
        Buffer.from(`POST ${P} HTTP/1.1\r\nhost: x\r\nx-audiorista-key: ${KEY}\r\nbroken header\r\ncontent-length: 8\r\n\r\n{"id":1}`),
      ],
      status: 400,
      by: NODE,
    },
    {
      name: 'space in a header name',
      parts: [Buffer.from(`POST ${P} HTTP/1.1\r\nhost: x\r\nx-audiorista-key: ${KEY}\r\nbad name: 1\r\ncontent-length: 8\r\n\r\n{"id":1}`)],
      status: 400,
      by: NODE,
    },
    {
      name: 'obsolete line folding',
      parts: [
        Buffer.from(`POST ${P} HTTP/1.1\r\nhost: x\r\nx-audiorista-key: ${KEY}\r\nx-fold: a\r\n b\r\ncontent-length: 8\r\n\r\n{"id":1}`),
      ],
      status: 400,
      by: NODE,
    },
    {
      name: 'HTTP/1.1 without Host',
      parts: [
        Buffer.from(
          `POST ${P} HTTP/1.1\r\nx-audiorista-key: ${KEY}\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{"id":1}`,
        ),
      ],
      status: 400,
      by: NODE,
    },
    {
      name: 'request line is garbage',
      parts: [Buffer.from('\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003 TLS hello\r\n\r\n', 'latin1')],
      status: [400, 0],
      by: NODE,
    },
    // ------------------------------------------------ keys: 401
    { name: 'no key', parts: [rawPost(P, '{"id":1}')], status: 401 },
    { name: 'empty key', parts: [post('{"id":1}', { 'x-audiorista-key': '' })], status: 401 },
    { name: 'key of 1 character', parts: [post('{"id":1}', { 'x-audiorista-key': 'k' })], status: 401 },
    { name: 'key of 64 characters', parts: [post('{"id":1}', { 'x-audiorista-key': 'k'.repeat(64) })], status: 401 },
    { name: 'key of 10 KB', parts: [post('{"id":1}', { 'x-audiorista-key': 'k'.repeat(10 * 1024) })], status: 401 },
    { name: 'the key with one character changed', parts: [post('{"id":1}', { 'x-audiorista-key': `${KEY.slice(0, -1)}X` })], status: 401 },
    { name: 'the key as a prefix of the sent value', parts: [post('{"id":1}', { 'x-audiorista-key': `${KEY}${KEY}` })], status: 401 },
    { name: 'latin1 bytes in the key', parts: [post('{"id":1}', { 'x-audiorista-key': `${KEY}\u00e9` })], status: 401 },
    {
      name: 'two X-Audiorista-Key headers, both the right key',
      parts: [request('POST', P, { 'content-type': 'application/json', 'content-length': 8, 'X-Audiorista-Key': KEY }, '{"id":1}')],
      status: 401,
    },
    {
      name: 'two X-Audiorista-Key headers, wrong then right',
      parts: [rawPost(P, '{"id":1}', { 'x-audiorista-key': 'wrong', 'X-Audiorista-Key': KEY })],
      status: 401,
    },
    { name: 'key in the query string instead of the header', parts: [rawPost(`${P}?key=${KEY}`, '{"id":1}')], status: 401 },
    // ------------------------------------------------ methods: 405; unknown events and odd paths: 404
    ...['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].map(
      (m): Case => ({ name: `${m} on a webhook path`, parts: [request(m, P)], status: 405 }),
    ),
    { name: 'HEAD on a webhook path', parts: [request('HEAD', P)], status: 405, noBody: true },
    { name: 'unknown method FOO', parts: [request('FOO', P)], status: 400, by: NODE },
    { name: 'unknown event', parts: [post('{"id":1}', {}, '/webhooks/title-published')], status: 404 },
    { name: 'upper-case event', parts: [post('{"id":1}', {}, '/webhooks/TITLE-READY')], status: 404 },
    { name: 'no event', parts: [post('{"id":1}', {}, '/webhooks/')], status: 404 },
    { name: 'extra segment', parts: [post('{"id":1}', {}, `${P}/extra`)], status: 404 },
    { name: 'traversal /webhooks/../healthz', parts: [post('{"id":1}', {}, '/webhooks/../healthz')], status: 404 },
    {
      name: 'traversal /webhooks/../webhooks/title-ready',
      parts: [post('{"id":1}', {}, '/webhooks/../webhooks/title-ready')],
      status: 404,
    },
    { name: 'encoded traversal %2e%2e', parts: [post('{"id":1}', {}, '/webhooks/%2e%2e/healthz')], status: 404 },
    { name: 'encoded slash ..%2f', parts: [post('{"id":1}', {}, '/webhooks/..%2fhealthz')], status: 404 },
    { name: 'encoded slash between events', parts: [post('{"id":1}', {}, '/webhooks/title-updated%2f..%2ftitle-ready')], status: 404 },
    { name: 'backslash traversal', parts: [post('{"id":1}', {}, '/webhooks/..\\healthz')], status: 404 },
    { name: 'percent-encoded event name', parts: [post('{"id":1}', {}, '/webhooks/title%2Dready')], status: 404 },
    { name: 'encoded NUL after the event', parts: [post('{"id":1}', {}, '/webhooks/title-ready%00')], status: 404 },
    { name: 'raw NUL in the path', parts: [post('{"id":1}', {}, '/webhooks/title-ready\u0000')], status: 400, by: NODE },
    { name: '8 KB event name', parts: [post('{"id":1}', {}, `/webhooks/${'a'.repeat(8 * 1024)}`)], status: 404 },
    { name: '20 KB path', parts: [post('{"id":1}', {}, `/webhooks/${'a'.repeat(20 * 1024)}`)], status: 431, by: NODE },
    { name: 'no base path (/webhooks)', parts: [post('{"id":1}', {}, '/webhooks')], status: 404 },
    { name: 'POST /healthz', parts: [post('{"id":1}', {}, '/healthz')], status: 405 },
    // ------------------------------------------------ hostile but valid: 202 once, then 200 duplicate
    { name: '100,000 keys (under 1 MB)', parts: [post(manyKeys(100_000))], status: [202, 200], accepted: true },
    {
      name: 'absolute-form request target (proxy style)',
      parts: [post('{"case":"absolute-form"}', {}, `http://127.0.0.1${P}`)],
      status: [202, 200],
      accepted: true,
    },
    {
      name: '__proto__ key',
      parts: [post('{"case":"proto","__proto__":{"polluted":true,"tag":"podcast"}}')],
      status: [202, 200],
      accepted: true,
    },
    {
      name: 'constructor.prototype keys',
      parts: [post('{"case":"ctor","constructor":{"prototype":{"polluted":true}}}')],
      status: [202, 200],
      accepted: true,
    },
    { name: 'duplicate keys', parts: [post('{"case":"dupkeys","a":1,"a":2}')], status: [202, 200], accepted: true },
    {
      name: 'escaped NUL and lone surrogate in strings',
      parts: [post('{"case":"escapes","name":"a\\u0000b\\ud800"}')],
      status: [202, 200],
      accepted: true,
    },
    {
      name: '150 levels of objects (README: up to 200 accepted)',
      parts: [post(`{"case":"deep150","d":${nest('{"a":', '}', 149)}}`)],
      status: [202, 200],
      accepted: true,
    },
    {
      name: 'UTF-8 BOM, no charset',
      parts: [post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ok('bom'))]))],
      status: [202, 200],
      accepted: true,
    },
    {
      name: 'charset=latin1 with a latin1 byte',
      parts: [post(Buffer.from('{"case":"latin1","name":"caf\u00e9"}', 'latin1'), { 'content-type': 'application/json; charset=latin1' })],
      status: [202, 200],
      accepted: true,
    },
    {
      name: 'charset=utf-16le with BOM',
      parts: [post(utf16le(ok('utf16le')), { 'content-type': 'application/json; charset=utf-16le' })],
      status: [202, 200],
      accepted: true,
    },
    {
      name: 'charset=utf-16be with BOM',
      parts: [post(utf16be(ok('utf16be')), { 'content-type': 'application/json; charset=utf-16be' })],
      status: [202, 200],
      accepted: true,
    },
    {
      name: 'application/vnd.api+json',
      parts: [post(ok('vnd'), { 'content-type': 'application/vnd.api+json' })],
      status: [202, 200],
      accepted: true,
    },
    {
      name: 'no Content-Type, JSON object body',
      parts: [rawPost(P, ok('no-ct'), { ...K, 'content-type': null })],
      status: [202, 200],
      accepted: true,
    },
    {
      name: 'chunked, 3 chunks',
      parts: [post(chunked('{"case":', '"chunked"', ',"id":1}'), { 'transfer-encoding': 'chunked' })],
      status: [202, 200],
      accepted: true,
    },
    {
      name: 'chunked with a trailer',
      parts: [post(`${chunked(ok('trailer')).slice(0, -2)}x-trailer: 1\r\n\r\n`, { 'transfer-encoding': 'chunked' })],
      status: [202, 200],
      accepted: true,
    },
    { name: 'Expect: 100-continue', parts: [post(ok('continue'), { expect: '100-continue' })], status: [202, 200], accepted: true },
    {
      name: 'HTTP/1.0',
      parts: [
        Buffer.from(
          `POST ${P} HTTP/1.0\r\nx-audiorista-key: ${KEY}\r\ncontent-type: application/json\r\ncontent-length: ${ok('http10').length}\r\n\r\n${ok('http10')}`,
        ),
      ],
      status: [202, 200],
      accepted: true,
    },
    { name: 'query string', parts: [post(ok('query'), {}, `${P}?utm=1&x=%00`)], status: [202, 200], accepted: true },
    { name: 'trailing slash', parts: [post(ok('slash'), {}, `${P}/`)], status: [202, 200], accepted: true },
    {
      name: 'key with surrounding spaces (header whitespace is not part of the value)',
      parts: [post(ok('spaces'), { 'x-audiorista-key': `  ${KEY}  ` })],
      status: [202, 200],
      accepted: true,
    },
  ]
}

describe('bad input corpus against a child runner', () => {
  it('answers every case with its documented status, stores only the valid ones (once), and keeps RSS flat', async () => {
    const row = report.row('bad-input', 'Bad input corpus (raw sockets, child runner), repeated; RSS before/after')
    const passes = Math.max(8, Number(process.env.CORPUS_PASSES ?? 10))
    const dir = tempDir('ar-bad-')
    const db = join(dir, 'runner.db')
    writeConfig(dir, {
      auth: { keys: [KEY] },
      store: { path: db },
      server: { headersTimeout: '2s', requestTimeout: '3s' },
      queue: { concurrency: 4 },
      // A recipe on every event, so accepted hostile payloads also go through matching and rendering.
      recipes: [
        {
          name: 'trace',
          on: ['title-ready'],
          when: { tag: 'podcast' },
          do: [{ action: 'log', with: { message: 'title {{name}} {{isAdmin}} {{polluted}}' } }],
        },
      ],
    })
    // Test-only instrumentation: a full GC on SIGUSR2 (see gc-on-signal.cjs), so RSS is read at comparable moments.
    const child = await spawnRunner(dir, {
      env: {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --require "${GC_PRELOAD}"`.trim(),
        GC_REPORT_FILE: join(dir, 'memory.jsonl'),
      },
    })
    const memoryFile = join(dir, 'memory.jsonl')
    const heapUsed: number[] = []
    const settledRss = async () => {
      const before = heapUsed.length
      child.proc.kill('SIGUSR2')
      await waitUntil(() => existsSync(memoryFile) && readFileSync(memoryFile, 'utf8').trim().split('\n').length > before, 3000, 20)
      const lines = existsSync(memoryFile) ? readFileSync(memoryFile, 'utf8').trim().split('\n') : []
      heapUsed.push((JSON.parse(lines.at(-1) ?? '{"heapUsed":0}') as { heapUsed: number }).heapUsed)
      return rssOf(child.pid)
    }
    const port = Number(new URL(child.url).port)
    const cases = corpus()
    const mismatches: string[] = []
    const firstIds = new Map<string, string>()
    const closedWithoutAnswer: string[] = []
    let sent = 0
    /** Highest RSS seen in each pass, sampled after every request (for the record: it follows GC timing). */
    const peaks: number[] = []
    /** RSS after each pass and a full GC. */
    const settled: number[] = []
    const started = Date.now()

    for (let pass = 0; pass < passes; pass++) {
      for (const c of cases) {
        if (c.once && pass > 0) continue
        sent++
        const res = await rawHttp(port, c.parts, { timeout: c.timeout ?? 5000, end: c.end ?? false, noBody: c.noBody ?? false })
        peaks[pass] = Math.max(peaks[pass] ?? 0, rssOf(child.pid))
        const allowed = Array.isArray(c.status) ? c.status : [c.status]
        const status = res.status ?? 0
        let expected = allowed
        if (c.accepted) expected = [pass === 0 ? 202 : 200]
        if (!expected.includes(status)) {
          mismatches.push(
            `pass ${pass} "${c.name}": expected ${expected.join('|')}, got ${res.status ?? (res.timedOut ? 'timeout' : 'close')} ${res.body.slice(0, 160)}`,
          )
          continue
        }
        if (c.within !== undefined && res.ms > c.within)
          mismatches.push(`pass ${pass} "${c.name}": took ${res.ms} ms, more than ${c.within}`)
        if (status === 0) {
          closedWithoutAnswer.push(c.name)
          continue
        }
        if (c.by === undefined && !c.noBody) {
          // Our receiver's answers are JSON: an error with a code, or the acceptance.
          let json: any
          try {
            json = JSON.parse(res.body)
          } catch {
            mismatches.push(`pass ${pass} "${c.name}": ${status} without a JSON body: ${res.body.slice(0, 100)}`)
            continue
          }
          if (c.accepted) {
            const first = firstIds.get(c.name)
            if (first === undefined) firstIds.set(c.name, json.id)
            else if (json.id !== first || json.duplicate !== true)
              mismatches.push(`pass ${pass} "${c.name}": duplicate answer ${res.body} (first id ${first})`)
          } else if (typeof json?.error?.code !== 'string' || typeof json?.error?.message !== 'string') {
            mismatches.push(`pass ${pass} "${c.name}": error body has no code/message: ${res.body.slice(0, 100)}`)
          }
          if (status === 401 && JSON.stringify(json).includes(KEY)) mismatches.push(`"${c.name}": the 401 names the key`)
        }
        // Webhook paths allow POST; /healthz and /readyz allow GET and HEAD.
        if (status === 405 && !res.headers.allow) mismatches.push(`"${c.name}": 405 without Allow`)
      }
      settled[pass] = await settledRss()
    }
    await sleep(500) // let the engine finish matching the accepted ones
    const health = await fetch(`${child.url}/healthz`)
    const snapshot = await readStore(db)
    const accepted = cases.filter((c) => c.accepted)
    // RSS after a full GC still moves by ±10 MB from pass to pass, and creeps up over the first
    // passes while V8 and malloc settle on the pages they keep for reuse (the JS heap in use stays
    // flat: that is the sharper leak signal). So passes 0–2 warm up; the baseline is the highest of
    // passes 3–5, the end the lower of the last two.
    const n = settled.length
    const growthMb = (Math.min(settled[n - 1]!, settled[n - 2]!) - Math.max(settled[3]!, settled[4]!, settled[5]!)) / MB
    const heapGrowthMb = ((heapUsed.at(-1) ?? 0) - (heapUsed[3] ?? 0)) / MB

    row.tried = `${sent} requests (${cases.length} cases × ${passes} passes)`
    row.lost = 0
    row.duplicated = snapshot.events.length - accepted.length
    row.notes = `${cases.filter((c) => !c.accepted).length} rejected cases, ${accepted.length} hostile-but-valid ones; events stored ${snapshot.events.length}; RSS peak per pass ${peaks.map((p) => (p / MB).toFixed(0)).join(' → ')} MB, settled ${settled.map((p) => (p / MB).toFixed(0)).join(' → ')} MB after a full GC (growth from passes 3–5 to the end ${growthMb.toFixed(1)} MB, limit 20); JS heap used after GC ${heapUsed.map((h) => (h / MB).toFixed(1)).join(' → ')} MB (growth ${heapGrowthMb.toFixed(1)} MB); ${((Date.now() - started) / 1000).toFixed(1)} s; mismatches ${mismatches.length}; closed without an answer (allowed cases): ${closedWithoutAnswer.length}`

    expect(mismatches).toEqual([])
    expect(health.status).toBe(200)
    expect(child.proc.exitCode).toBeNull()
    // Only the valid cases were stored, each exactly once, with the id their 202 gave.
    expect(snapshot.events.map((e) => e.id).sort()).toEqual([...firstIds.values()].sort())
    expect(snapshot.events).toHaveLength(accepted.length)
    expect(child.output()).not.toMatch(/uncaught exception|unhandled rejection/)
    // Not even the case that put the key in the query string.
    expect(
      child
        .output()
        .split('\n')
        .filter((l) => l.includes(KEY))
        .map((l) => l.slice(0, 300)),
    ).toEqual([])
    expect(growthMb).toBeLessThan(20)
    expect(heapGrowthMb).toBeLessThan(5)
    row.result = 'pass'
  }, 120_000)
})

describe('keys never reach the logs', () => {
  let t: TestRunner | undefined
  afterEach(async () => {
    await t?.close()
    t = undefined
  })

  // Was a bug: a rejected request was logged with its query string, so a key sent as `?key=…`
  // reached the log. The receiver now logs the path only.
  it('a key sent in the query string is not written to the log', async () => {
    t = await startTestRunner({ auth: { keys: [KEY] } })
    const res = await fetch(`${t.url}/webhooks/title-ready?key=${KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id":1}',
    })
    expect(res.status).toBe(401)
    expect(t.logs()).not.toContain(KEY)
  })
})
