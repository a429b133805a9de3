import { PermanentError, RetryableError } from '../errors.js'

/** Milliseconds to wait from a `Retry-After` header (delay in seconds or an HTTP date). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  const trimmed = value?.trim()
  if (!trimmed) return undefined
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** GitHub-style `x-ratelimit-reset` (epoch seconds) when the quota is spent. */
function rateLimitReset(headers: Headers, now = Date.now()): number | undefined {
  if (headers.get('x-ratelimit-remaining') !== '0') return undefined
  const reset = Number(headers.get('x-ratelimit-reset'))
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined
}

/**
 * The first `limit` bytes of a response body. The rest is dropped unread, so a
 * huge answer costs nothing and results stay small.
 */
export async function readText(res: Response, limit: number): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < limit) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } finally {
    reader.cancel().catch(() => {})
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8')
}

/**
 * The error for an unsuccessful answer: 408, 429, 5xx and a rate-limited 403
 * may succeed later; any other status will not.
 */
export function responseError(
  res: { status: number; headers: Headers },
  what: string,
  bodyText = '',
  note = '',
): PermanentError | RetryableError {
  const snippet = bodyText.replace(/\s+/g, ' ').trim().slice(0, 200)
  const message = `${what} answered ${res.status}${note ? ` (${note})` : ''}${snippet ? `: ${snippet}` : ''}`
  const code = `http_${res.status}`
  const rateLimited =
    res.status === 429 || (res.status === 403 && (res.headers.has('retry-after') || rateLimitReset(res.headers) !== undefined))
  if (rateLimited || res.status === 408 || res.status >= 500) {
    const retryAfter = parseRetryAfter(res.headers.get('retry-after')) ?? rateLimitReset(res.headers)
    return new RetryableError(message, retryAfter === undefined ? { code } : { code, retryAfter })
  }
  return new PermanentError(message, { code })
}

/** A failed request (refused, reset, DNS): the network may come back. */
export function networkError(err: unknown, what: string): RetryableError {
  // fetch wraps the socket error as `cause`; node:http gives it directly.
  const e = err as { code?: string; cause?: { code?: string; message?: string } } | undefined
  const detail = e?.cause?.code ?? e?.cause?.message ?? e?.code ?? (err instanceof Error ? err.message : String(err))
  return new RetryableError(`${what} failed: ${detail}`, { code: 'network', cause: err })
}

const SECRET_LOOKING = /^(?=.*\d)(?=.*[A-Za-z])[\w-]{16,}$/

/**
 * A URL fit for logs and error messages. Build hook and webhook URLs carry
 * their secret in the path or query, so credentials, query values and
 * long random-looking path segments are cut.
 */
export function redactUrl(url: URL): string {
  const path = url.pathname
    .split('/')
    .map((s) => (SECRET_LOOKING.test(s) ? `${s.slice(0, 4)}…` : s))
    .join('/')
  const query = [...url.searchParams.keys()].map((k) => `${k}=…`).join('&')
  return `${url.origin}${path}${query ? `?${query}` : ''}`
}

// What node:http and Headers accept: a token for the name; tab, printable ASCII and Latin-1 for the value (no CR, LF or NUL).
const HEADER_NAME = /^[!#$%&'*+.^_`|~\w-]+$/
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * Headers that cannot be sent as they are. A line break in a rendered value
 * would otherwise add a header of the payload's choosing; the message never
 * repeats the value, which may be a secret.
 */
export function headerIssues(headers: Record<string, string>): Array<{ name: string; message: string }> {
  const issues: Array<{ name: string; message: string }> = []
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) {
      issues.push({ name, message: `header name "${name}" is not a valid HTTP token (letters, digits and !#$%&'*+.^_\`|~-)` })
    } else if (!HEADER_VALUE.test(value)) {
      const fix = 'only printable ASCII and Latin-1; encode the value, e.g. {{urlencode …}}'
      issues.push({ name, message: `header "${name}" has a line break or a character a header cannot carry (${fix})` })
    }
  }
  return issues
}

/** A header value check for single fields that end up in a header (a preset's token). */
export function isHeaderValue(value: string): boolean {
  return HEADER_VALUE.test(value)
}
