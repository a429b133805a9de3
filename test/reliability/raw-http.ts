/**
 * Raw HTTP over a TCP socket, for what fetch and node:http refuse to send:
 * lying Content-Length, bytes not allowed in headers, literal `..` in paths,
 * slowloris clients. Reads back one response.
 */
import { connect } from 'node:net'
import { sleep } from './helpers.js'

export interface RawResponse {
  /** undefined when the server closed (or we timed out) before a status line. */
  status?: number
  headers: Record<string, string>
  body: string
  /** The server closed the connection. */
  closed: boolean
  /** We gave up waiting. */
  timedOut: boolean
  /** Socket error code, e.g. ECONNRESET, ECONNREFUSED. */
  error?: string
  /** Time from connect to the answer (or close). */
  ms: number
}

/** A part of a raw request: bytes, or a pause (ms) before the next part. */
export type RawPart = string | Buffer | { wait: number }

/**
 * Writes `parts` on a fresh TCP connection and reads one HTTP response. Used
 * for what fetch and node:http refuse to send: lying Content-Length, bytes that
 * are not allowed in headers, literal `..` in paths, slowloris clients.
 * `end` half-closes our side after the last part, like a client that gave up writing.
 */
export function rawHttp(
  port: number,
  parts: RawPart[],
  { timeout = 5000, end = false, noBody = false }: { timeout?: number; end?: boolean; noBody?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const started = Date.now()
    const socket = connect({ port, host: '127.0.0.1' })
    let buf = Buffer.alloc(0)
    let done = false
    let closed = false
    let error: string | undefined
    let writing = true
    const finish = (timedOut = false) => {
      if (done) return
      done = true
      writing = false
      clearTimeout(timer)
      socket.destroy()
      resolve({ ...parseResponse(buf), closed, timedOut, ...(error ? { error } : {}), ms: Date.now() - started })
    }
    const timer = setTimeout(() => finish(true), timeout)
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (responseComplete(buf, noBody)) finish()
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message
      closed = true
      finish()
    })
    socket.on('close', () => {
      closed = true
      finish()
    })
    socket.once('connect', async () => {
      for (const part of parts) {
        if (!writing) return
        if (typeof part === 'object' && !Buffer.isBuffer(part)) await sleep(part.wait)
        else if (!socket.destroyed) socket.write(part)
      }
      if (end && !socket.destroyed) socket.end()
    })
  })
}

function headerEnd(buf: Buffer): number {
  return buf.indexOf('\r\n\r\n')
}

function parseHead(buf: Buffer): { status?: number; headers: Record<string, string>; bodyStart: number } {
  const end = headerEnd(buf)
  if (end < 0) return { headers: {}, bodyStart: -1 }
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1])
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return { ...(Number.isFinite(status) ? { status } : {}), headers, bodyStart: end + 4 }
}

/** Drops interim `100 Continue` answers. */
function final(buf: Buffer): Buffer {
  let rest = buf
  for (let head = parseHead(rest); head.status === 100 && head.bodyStart > 0; head = parseHead(rest)) rest = rest.subarray(head.bodyStart)
  return rest
}

function responseComplete(all: Buffer, noBody: boolean): boolean {
  const buf = final(all)
  const { headers, bodyStart, status } = parseHead(buf)
  if (bodyStart < 0 || status === undefined || status === 100) return false
  if (noBody) return true
  const length = headers['content-length']
  if (length !== undefined) return buf.length - bodyStart >= Number(length)
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) return buf.includes('0\r\n\r\n', bodyStart)
  return false // read until close
}

function parseResponse(all: Buffer): Pick<RawResponse, 'status' | 'headers' | 'body'> {
  const buf = final(all)
  const head = parseHead(buf)
  const body = head.bodyStart < 0 ? '' : buf.subarray(head.bodyStart).toString('utf8')
  return { ...(head.status === undefined ? {} : { status: head.status }), headers: head.headers, body }
}

/** `POST path` with the given headers and body as one raw request (Content-Length computed unless given; a null header is left out). */
export function rawPost(
  path: string,
  body: string | Buffer,
  headers: Record<string, string | number | null> = {},
  { contentLength = true }: { contentLength?: boolean } = {},
): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  const h: Record<string, string | number | null> = { host: '127.0.0.1', 'content-type': 'application/json', ...headers }
  if (contentLength && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding'))
    h['content-length'] = bytes.length
  const head = Object.entries(h)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\n${head}\r\n\r\n`, 'latin1'), bytes])
}
