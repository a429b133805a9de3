/**
 * Many large JSON bodies sent at once, each on its own connection, the way a
 * burst of webhook senders arrives: raw `node:http` requests (no client-side
 * pool to queue them), every body distinct and streamed from shared chunks,
 * so the test process holds a few hundred KB instead of 1,000 × 900 KB.
 */
import { request } from 'node:http'

/** `{}` objects (the worst parsed-to-text ratio JSON allows) or `1` numbers (the most elements per byte). */
export type BodyShape = 'objects' | 'numbers'

export interface Answer {
  status?: number
  retryAfter?: string
  /** A socket error before an answer: ECONNRESET, EPIPE, ECONNREFUSED, timeout. */
  error?: string
  /** When the connection was made and when the answer (or error) came, ms after the send. */
  connectedMs?: number
  ms?: number
}

const CHUNKS = 10
const LAST: Record<BodyShape, string> = { objects: '{}', numbers: '1' }
// 90 KB each, so either body is ~900 KB: 300,000 `{},` or 450,000 `1,`.
const chunks: Record<BodyShape, Buffer> = {
  objects: Buffer.from('{},'.repeat(30_000)),
  numbers: Buffer.from('1,'.repeat(45_000)),
}

/** Body `i` as its parts: a distinct head, ~900 KB of shared items, a tail. */
function parts(i: number, shape: BodyShape): Buffer[] {
  const head = Buffer.from(`{"id":"m${i}","name":"Episode ${i}","items":[`)
  const tail = Buffer.from(`${LAST[shape]}]}`)
  return [head, ...Array.from({ length: CHUNKS }, () => chunks[shape]), tail]
}

/** Bytes of one body of `shape` (for the reader: ~900 KB of objects). */
export function bodyBytes(shape: BodyShape): number {
  return parts(0, shape).reduce((n, p) => n + p.length, 0)
}

/** POSTs body `i` to `url` on a new connection; resolves with the answer or the socket error, never rejects. */
export function postOne(url: string, i: number, shape: BodyShape, timeoutMs: number): Promise<Answer> {
  const body = parts(i, shape)
  const length = body.reduce((n, p) => n + p.length, 0)
  return new Promise((resolve) => {
    let settled = false
    const started = Date.now()
    let connectedMs: number | undefined
    const settle = (answer: Answer) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ...answer, ms: Date.now() - started, ...(connectedMs === undefined ? {} : { connectedMs }) })
    }
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(length) },
    })
    const timer = setTimeout(() => {
      settle({ error: 'timeout' })
      req.destroy()
    }, timeoutMs)
    req.on('socket', (socket) => socket.once('connect', () => (connectedMs = Date.now() - started)))
    req.on('response', (res) => {
      res.resume()
      res.on('end', () => settle({ status: res.statusCode, retryAfter: res.headers['retry-after'] }))
      res.on('error', (err: NodeJS.ErrnoException) => settle({ error: err.code ?? err.message }))
    })
    req.on('error', (err: NodeJS.ErrnoException) => settle({ error: err.code ?? err.message }))
    void write(req, body)
  })
}

/** Writes the parts in order, waiting for `drain` when the socket is full; stops quietly when the request ends early. */
async function write(req: ReturnType<typeof request>, body: Buffer[]): Promise<void> {
  for (const part of body) {
    if (req.destroyed) return
    if (!req.write(part)) {
      await new Promise<void>((resolve) => {
        req.once('drain', resolve)
        req.once('close', resolve)
      })
    }
  }
  if (!req.destroyed) req.end()
}

/** Sends `count` bodies all at once (every connection opened together) and collects the answers. */
export function postAll(url: string, count: number, shape: BodyShape, timeoutMs: number): Promise<Answer[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => postOne(url, i, shape, timeoutMs)))
}
