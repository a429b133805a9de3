/**
 * A scriptable HTTP server on a loopback port, for actions that call out
 * (build hooks, Slack, your plugin's API) and for the engine's tests and
 * benchmarks. It records every request and answers as told.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  /** Path and query, e.g. `/hooks/abc?x=1`. */
  path: string
  headers: IncomingHttpHeaders
  body: string
  /** The body parsed as JSON (throws when it is not). */
  json<T = any>(): T
  /** The body parsed as `application/x-www-form-urlencoded`. */
  form(): URLSearchParams
}

export interface SinkReply {
  /** Default 200. */
  status?: number
  headers?: Record<string, string>
  /** A string as is; anything else as JSON. */
  body?: unknown
  /** Answer after this many ms. */
  delay?: number
  /** Never answer (until `close`): for timeouts and aborts. */
  hang?: boolean
  /** Destroy the connection without answering: a network error. */
  drop?: boolean
}

export type Replier = SinkReply | ((req: RecordedRequest) => SinkReply)

export interface HttpSink {
  /** `http://127.0.0.1:PORT` */
  url: string
  port: number
  /** Requests received, oldest first (empty when `record: false`). */
  requests: RecordedRequest[]
  /** Requests received, also when not recorded. */
  readonly count: number
  /** The answer from now on. */
  reply(replier: Replier): void
  /** The answer to the next request only; several calls queue up. */
  replyOnce(replier: Replier): void
  /** Forget requests and scripted answers. */
  reset(): void
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<RecordedRequest[]>
  close(): Promise<void>
}

export interface HttpSinkOptions {
  /** The default answer (200, empty body). */
  reply?: Replier
  /** Keep requests in `requests` (default true; benchmarks turn it off). */
  record?: boolean
  /**
   * Idle keep-alive, ms (default 1000). fetch (undici) does not reuse a
   * connection whose server announces 1 s or less, so at 1000 every request
   * opens a new one; benchmarks use a real server's 5000.
   */
  keepAliveTimeout?: number
}

function recorded(req: IncomingMessage, body: string): RecordedRequest {
  return {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    headers: req.headers,
    body,
    json: () => JSON.parse(body),
    form: () => new URLSearchParams(body),
  }
}

function send(res: ServerResponse, reply: SinkReply): void {
  if (reply.drop) {
    res.socket?.destroy()
    return
  }
  const isText = typeof reply.body === 'string' || reply.body === undefined
  const body = isText ? ((reply.body as string | undefined) ?? '') : JSON.stringify(reply.body)
  const headers = { ...(isText ? {} : { 'content-type': 'application/json' }), ...reply.headers }
  res.writeHead(reply.status ?? 200, headers).end(body)
}

export async function createHttpSink({ reply = {}, record = true, keepAliveTimeout = 1000 }: HttpSinkOptions = {}): Promise<HttpSink> {
  let fallback: Replier = reply
  let once: Replier[] = []
  let count = 0
  const requests: RecordedRequest[] = []
  const waiters = new Set<() => void>()

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const r = recorded(req, Buffer.concat(chunks).toString('utf8'))
      count++
      if (record) requests.push(r)
      for (const w of waiters) w()
      const replier = once.shift() ?? fallback
      const answer = typeof replier === 'function' ? replier(r) : replier
      if (answer.hang) return
      if (answer.delay) setTimeout(() => send(res, answer), answer.delay)
      else send(res, answer)
    })
  })
  server.keepAliveTimeout = keepAliveTimeout
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get count() {
      return count
    },
    reply: (r) => {
      fallback = r
    },
    replyOnce: (r) => {
      once.push(r)
    },
    reset() {
      requests.length = 0
      once = []
      fallback = reply
    },
    waitFor(n, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (count < n) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(requests)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`expected ${n} requests, got ${count}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Hanging answers and keep-alive sockets would hold `close` open.
        server.closeAllConnections()
      }),
  }
}

/** A loopback port nothing listens on (just freed): connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
