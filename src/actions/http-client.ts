import http from 'node:http'
import https from 'node:https'

/** What the http action needs of an answer: the status, the headers, and the start of the body. */
export interface HttpAnswer {
  status: number
  headers: Headers
  text: string
}

export interface HttpRequest {
  method: string
  headers: Headers
  body?: string
  signal: AbortSignal
  /** Bytes of the body to keep; the rest is read and dropped, so the connection can be reused. */
  limit: number
}

// Kept-alive connections: a burst of build hooks or API calls reuses sockets instead of opening one each.
const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }) }
const MAX_REDIRECTS = 5

/**
 * One HTTP request on `node:http`, following redirects like `fetch` does.
 * `fetch` (undici) cost two to four times the CPU per request here, which is
 * most of a step's cost when thousands of titles arrive at once.
 */
export async function httpRequest(url: string, req: HttpRequest): Promise<HttpAnswer> {
  let target = new URL(url)
  let { method, body } = req
  const headers = new Headers(req.headers)
  for (let hop = 0; ; hop++) {
    const answer = await once(target, { method, headers, signal: req.signal, limit: req.limit, ...(body === undefined ? {} : { body }) })
    const location = answer.headers.get('location')
    if (!location || ![301, 302, 303, 307, 308].includes(answer.status) || hop >= MAX_REDIRECTS) return answer
    const next = new URL(location, target)
    // As fetch: 303, and 301/302 after a POST, become a GET without a body; credentials stay on their origin.
    if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
      method = 'GET'
      body = undefined
      headers.delete('content-type')
    }
    if (next.origin !== target.origin) headers.delete('authorization')
    target = next
  }
}

function once(url: URL, { method, headers, body, signal, limit }: HttpRequest): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const agent = agents[url.protocol as keyof typeof agents]
    if (!agent) return reject(new Error(`unsupported protocol ${url.protocol}`))
    const flat: Record<string, string> = {}
    headers.forEach((value, key) => {
      flat[key] = value
    })
    if (body !== undefined) flat['content-length'] = String(Buffer.byteLength(body))
    const request = (url.protocol === 'https:' ? https : http).request(url, { method, headers: flat, agent, signal }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        if (size < limit) chunks.push(chunk)
        size += chunk.length
      })
      res.once('end', () => {
        const answerHeaders = new Headers()
        for (const [key, value] of Object.entries(res.headers)) if (value !== undefined) answerHeaders.set(key, Array.isArray(value) ? value.join(', ') : value)
        resolve({ status: res.statusCode ?? 0, headers: answerHeaders, text: Buffer.concat(chunks).subarray(0, limit).toString('utf8') })
      })
      res.once('error', reject)
    })
    request.once('error', reject)
    request.end(body)
  })
}
