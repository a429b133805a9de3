// Field names (at any depth, any case) whose values are masked whole.
const SECRET_KEY =
  /token|passw|secret|authorization|api[-_]?key|^key$|x-audiorista-key|cookie|signature|credential|(?:private|access)[-_]?key/i
const SECRET_SHORT_KEY = /^(?:sig|auth|pass)$|[-_](?:sig|key)$/i
// Words that make a URL parameter secret, alone or with a prefix: `token`, `trigger_token`, `X-Amz-Signature`, `apiKey`.
const SECRET_WORDS = new Set(
  'key keys apikey sig signature auth authorization pass pwd credential credentials session sid jwt hmac'.split(' '),
)
const SECRET_WORD_END = /(?:token|secret|passwd|password)s?$/
// A URL in running text. The scheme is bounded, so a long run of letters costs linear time, not quadratic.
const URL_IN_TEXT = /[a-z][a-z0-9+.-]{0,31}:\/\/[^\s<>"'`|\\]+/gi
const MAX_DEPTH = 50

/**
 * A copy with secrets masked, for logs, stored run inputs and printed previews:
 * fields named like a secret, and in every string, URL credentials and URL
 * parameters named like one (`?trigger_token=[redacted]&title=x`). Never throws.
 */
export function redact(value: unknown): unknown {
  return walk(value, 0, new Set())
}

function walk(value: unknown, depth: number, parents: Set<object>): unknown {
  if (typeof value === 'string') return redactText(value)
  // Errors keep their shape (the logger serialises them); their messages never carry secrets by design.
  if (value === null || typeof value !== 'object' || value instanceof Error) return value
  if (depth > MAX_DEPTH) return '[too deep]'
  if (parents.has(value)) return '[circular]'
  parents.add(value)
  try {
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1, parents))
    // Dates, URLs, Buffers: what JSON would show, masked like the rest.
    const json = (value as { toJSON?: unknown }).toJSON
    if (typeof json === 'function') return walk(json.call(value), depth + 1, parents)
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      // defineProperty: a `__proto__` key from a payload stays a plain field, never the copy's prototype.
      const masked = (SECRET_KEY.test(k) || SECRET_SHORT_KEY.test(k)) && v ? '[redacted]' : walk(v, depth + 1, parents)
      Object.defineProperty(out, k, { value: masked, enumerable: true, writable: true, configurable: true })
    }
    return out
  } catch {
    return '[unreadable]' // a throwing getter or proxy: hide it rather than fail the write or the log line
  } finally {
    parents.delete(value)
  }
}

/** `text` with the secrets of every URL in it masked; most strings hold no `://` and cost one scan. */
export function redactText(text: string): string {
  if (!text.includes('://')) return text
  return text.replace(URL_IN_TEXT, (match) => {
    const end = urlEnd(match)
    return redactLink(match.slice(0, end)) + match.slice(end)
  })
}

// Punctuation that ends a sentence or closes a bracket around a link is not part of it.
function urlEnd(match: string): number {
  let end = match.length
  while (end > 0 && ').,;:!?'.includes(match[end - 1]!)) end--
  return end
}

function redactLink(url: string): string {
  const start = url.indexOf('://') + 3
  let end = start
  while (end < url.length && !'/?#'.includes(url[end]!)) end++
  const authority = url.slice(start, end)
  const at = authority.lastIndexOf('@')
  let out = url.slice(0, start)
  if (at >= 0) {
    const colon = authority.indexOf(':')
    out += colon >= 0 && colon < at ? `${authority.slice(0, colon)}:***` : '***'
  }
  out += authority.slice(Math.max(at, 0))
  const rest = url.slice(end)
  const hash = rest.indexOf('#')
  const beforeHash = hash < 0 ? rest : rest.slice(0, hash)
  const query = beforeHash.indexOf('?')
  // The fragment too: OAuth puts `#access_token=…` there.
  const path = query < 0 ? beforeHash : `${beforeHash.slice(0, query)}?${maskParams(beforeHash.slice(query + 1))}`
  return out + path + (hash < 0 ? '' : `#${maskParams(rest.slice(hash + 1))}`)
}

function maskParams(params: string): string {
  if (!params.includes('=')) return params
  return params
    .split('&')
    .map((p) => {
      const eq = p.indexOf('=')
      return eq > 0 && eq < p.length - 1 && isSecretName(p.slice(0, eq)) ? `${p.slice(0, eq)}=[redacted]` : p
    })
    .join('&')
}

function isSecretName(raw: string): boolean {
  let name = raw
  try {
    name = decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {}
  // `apiKey` → api key; `x_token`, `X-Amz-Signature`, and `amp;token` (a Slack-escaped `&amp;`) → their words.
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
  return words.some((w) => SECRET_WORDS.has(w) || SECRET_WORD_END.test(w))
}
