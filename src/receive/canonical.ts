import { createHash } from 'node:crypto'
import { HttpError } from '../errors.js'

/** Deeper bodies are refused: nothing Audiorista sends comes close, and recursion has a limit. */
export const MAX_DEPTH = 200

/**
 * JSON with object keys sorted at every level, so that the same delivery
 * hashes the same whatever order its keys were serialised in. Built as a
 * string, never as objects, so `__proto__` keys stay plain data.
 *
 * This runs on every delivery: it appends to one string instead of mapping
 * and joining arrays of parts. The output is part of the stored dedupe keys,
 * so it must never change (test/receive/canonical.test.ts pins it).
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw new HttpError(400, 'too_deep', `the JSON body is nested more than ${MAX_DEPTH} levels deep`)
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  let out: string
  if (Array.isArray(value)) {
    out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      // `?? ''`: what join() made of a hole or an undefined element (JSON.parse never gives either).
      out += canonicalJson(value[i], depth + 1) ?? ''
    }
    return `${out}]`
  }
  const keys = Object.keys(value).sort()
  out = '{'
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    if (i > 0) out += ','
    out += JSON.stringify(key)
    out += ':'
    out += canonicalJson((value as Record<string, unknown>)[key], depth + 1)
  }
  return `${out}}`
}

/** SHA-256 (hex) of the canonical JSON of a parsed body. */
export function bodyHash(value: unknown): string {
  return canonicalHash(canonicalJson(value))
}

/** SHA-256 (hex) of canonical JSON text: the dedupe key, however the text was made. */
export function canonicalHash(canonical: string): string {
  return createHash('sha256').update(canonical).digest('hex')
}
