import { isSecretOption, redactNamed } from './redact/in-text.js'
import { isSecretField, SHOWN_HEADERS } from './redact/names.js'
import { redactLinks } from './redact/url.js'
import { redactValues } from './redact/values.js'

export { maskSecretsOf } from './redact/collect.js'

const MAX_DEPTH = 50

/**
 * A copy with secrets masked, for logs, stored run inputs and results, and
 * printed previews: every secret value the config resolves, wherever it is
 * (`***`); fields named like a secret (`[redacted]`); every header but a few
 * harmless ones; and in every string, URL credentials and parameters, header
 * lines, options and `key=value` pairs named like one. Never throws.
 */
export function redact(value: unknown): unknown {
  return walk(value, 0, new Set())
}

/** `headers`: the value is a `headers` field, so every value in it but the harmless ones is masked. */
function walk(value: unknown, depth: number, parents: Set<object>, headers = false): unknown {
  if (typeof value === 'string') return redactText(value)
  if (value instanceof Error) return redactError(value)
  if (value === null || typeof value !== 'object') return value
  if (depth > MAX_DEPTH) return '[too deep]'
  if (parents.has(value)) return '[circular]'
  parents.add(value)
  try {
    // `args: ['--password', 'hunter22']`: the argument after a secret option is its value.
    if (Array.isArray(value)) return value.map((v, i) => (isSecretOption(value[i - 1]) && v ? '***' : walk(v, depth + 1, parents)))
    if (value instanceof Headers) return walkObject(Object.fromEntries(value), depth, parents, true)
    if (headers) return walkObject(value, depth, parents, true)
    // Dates, URLs, Buffers: what JSON would show, masked like the rest.
    const json = (value as { toJSON?: unknown }).toJSON
    if (typeof json === 'function') return walk(json.call(value), depth + 1, parents)
    return walkObject(value, depth, parents, false)
  } catch {
    return '[unreadable]' // a throwing getter or proxy: hide it rather than fail the write or the log line
  } finally {
    parents.delete(value)
  }
}

function walkObject(value: object, depth: number, parents: Set<object>, headers: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    const hidden = v && (isSecretField(k) || (headers && typeof v === 'string' && !SHOWN_HEADERS.has(k.toLowerCase())))
    const masked = hidden ? '[redacted]' : walk(v, depth + 1, parents, /^headers$/i.test(k))
    // defineProperty: a `__proto__` key from a payload stays a plain field, never the copy's prototype.
    Object.defineProperty(out, k, { value: masked, enumerable: true, writable: true, configurable: true })
  }
  return out
}

/**
 * An error as it is when it carries no secret (the logger serialises it as usual); else what the
 * logger would show of it, masked: a library's message may quote the URL or value it failed with.
 */
function redactError(err: Error): unknown {
  const message = redactText(err.message)
  const stack = err.stack === undefined ? undefined : redactText(err.stack)
  if (message === err.message && stack === err.stack) return err
  return { type: err.name, message, ...(stack === undefined ? {} : { stack }) }
}

/** `text` with its secrets masked: known secret values, URL credentials, and values named like a secret. */
export function redactText(text: string): string {
  return redactLinks(redactNamed(redactValues(text)))
}
