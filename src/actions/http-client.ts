import http from 'node:http'
import https from 'node:https'
import { PermanentError } from '../errors.js'

/** What the http action needs of an answer: the status, the headers, and the start of the body. */
export interface HttpAnswer {
  status: number
  headers: Headers
  text: string
}

/** Which redirects to follow: within the origin (default), to any origin without the request's headers, or none. */
export type FollowRedirects = 'same-origin' | 'any' | 'none'

export interface HttpRequest {
  method: string
  headers: Headers
  body?: string
  signal: AbortSignal
  /** Bytes of the body to keep; the rest is read and dropped, so the connection can be reused. */
  limit: number
  /** Default 'same-origin': a redirect elsewhere fails with a PermanentError (`redirect_cross_origin`). */
  followRedirects?: FollowRedirects
}

/** The user-agent the runner sends; the only header that goes along to another origin. */
export const USER_AGENT = 'audiorista-runner'

// Kept-alive connections: a burst of build hooks or API calls reuses sockets instead of opening one each.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
}
const MAX_REDIRECTS = 5
const REDIRECTS = new Set([301, 302, 303, 307, 308])

/**
 * One HTTP request on `node:http`, following redirects like `fetch` does but
 * stricter: never to another origin unless asked, and then without the
 * request's headers; never from https to http.
 * `fetch` (undici) cost two to four times the CPU per request here, which is
 * most of a step's cost when thousands of titles arrive at once.
 */
export async function httpRequest(url: string, req: HttpRequest): Promise<HttpAnswer> {
  const follow = req.followRedirects ?? 'same-origin'
  let target = new URL(url)
  let { method, body } = req
  let headers = new Headers(req.headers)
  for (let hop = 0; ; hop++) {
    const answer = await once(target, { method, headers, signal: req.signal, limit: req.limit, ...(body === undefined ? {} : { body }) })
    const location = answer.headers.get('location')
    if (!location || !REDIRECTS.has(answer.status) || follow === 'none') return answer
    if (hop >= MAX_REDIRECTS) {
      const last = origin(location, target)
      throw new PermanentError(`stopped after ${MAX_REDIRECTS} redirects (the last to ${last})`, { code: 'redirect_limit' })
    }
    const next = nextTarget(location, target, answer.status, follow)
    // As fetch: 303, and 301/302 after a POST, become a GET without a body.
    if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
      method = 'GET'
      body = undefined
      headers.delete('content-type')
    }
    if (next.origin !== target.origin) headers = bare(headers, body !== undefined)
    target = next
  }
}

/** Where a redirect goes, if this request may go there. */
function nextTarget(location: string, from: URL, status: number, follow: FollowRedirects): URL {
  let next: URL
  try {
    next = new URL(location, from)
  } catch {
    throw new PermanentError(`answered ${status} with a Location that is not a URL`, { code: 'redirect_invalid' })
  }
  const web = next.protocol === 'http:' || next.protocol === 'https:'
  // Origins only: a path or query may hold a build hook's secret.
  const hop = `${status} from ${from.origin} to ${web ? next.origin : next.protocol}`
  if (!web) throw new PermanentError(`refused a redirect to a non-http(s) URL (${hop})`, { code: 'redirect_invalid' })
  // Not even with 'any': the body and the answer would travel in clear text.
  if (from.protocol === 'https:' && next.protocol === 'http:') {
    throw new PermanentError(`refused a redirect from https to http (${hop})`, { code: 'redirect_insecure' })
  }
  if (next.origin !== from.origin && follow === 'same-origin') {
    throw new PermanentError(
      `redirected to another origin (${hop}); not followed, so the step's headers and body stay with ${from.origin}. ` +
        "Use the final URL, or set followRedirects: 'any' on the step to follow it without the step's headers",
      { code: 'redirect_cross_origin' },
    )
  }
  return next
}

/**
 * The headers another origin gets: none of those the step or a preset set
 * (cookies, tokens, API keys: we cannot tell secret from harmless), only ours.
 */
function bare(headers: Headers, withBody: boolean): Headers {
  const kept = new Headers({ 'user-agent': USER_AGENT })
  const type = headers.get('content-type')
  if (withBody && type) kept.set('content-type', type)
  return kept
}

function origin(location: string, base: URL): string {
  try {
    return new URL(location, base).origin
  } catch {
    return 'an invalid URL'
  }
}

function once(url: URL, { method, headers, body, signal, limit }: HttpRequest): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const agent = agents[url.protocol as keyof typeof agents]
    if (!agent) return reject(new PermanentError(`unsupported protocol ${url.protocol}`, { code: 'url_invalid' }))
    const flat: Record<string, string> = {}
    headers.forEach((value, key) => {
      flat[key] = value
    })
    if (body !== undefined) flat['content-length'] = String(Buffer.byteLength(body))
    let request: http.ClientRequest
    try {
      const options = { method, headers: flat, agent, signal }
      request = (url.protocol === 'https:' ? https : http).request(url, options, (res) => collect(res, limit, resolve, reject))
    } catch (err) {
      return reject(headerError(err))
    }
    request.once('error', reject)
    request.end(body)
  })
}

function collect(res: http.IncomingMessage, limit: number, resolve: (a: HttpAnswer) => void, reject: (err: unknown) => void): void {
  const chunks: Buffer[] = []
  let size = 0
  res.on('data', (chunk: Buffer) => {
    if (size < limit) chunks.push(chunk)
    size += chunk.length
  })
  res.once('end', () => {
    const headers = new Headers()
    for (const [key, value] of Object.entries(res.headers))
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value)
    resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).subarray(0, limit).toString('utf8') })
  })
  res.once('error', reject)
}

/**
 * node refuses a header with a control character before anything is sent. That will not change on a retry,
 * and its message names the header, never the value (which may be a secret).
 */
function headerError(err: unknown): unknown {
  const e = err as { code?: string; message?: string }
  if (e?.code !== 'ERR_INVALID_CHAR' && e?.code !== 'ERR_INVALID_HTTP_TOKEN') return err
  const name = /\["?([^"\]]*)"?\]/.exec(e.message ?? '')?.[1] ?? 'a header'
  const what =
    e.code === 'ERR_INVALID_CHAR'
      ? `header "${name}" has a line break or a control character in its value`
      : `header name "${name}" is not a valid HTTP token`
  return new PermanentError(`${what}; nothing was sent`, { code: 'header_invalid', cause: err })
}
