import { createHash } from 'node:crypto'
import { HttpError } from '../errors.js'

/** Deeper bodies are refused: nothing Audiorista sends comes close, and recursion has a limit. */
export const MAX_DEPTH = 200

/**
 * JSON with object keys sorted at every level, so that the same delivery
 * hashes the same whatever order its keys were serialised in. Built as a
 * string, never as objects, so `__proto__` keys stay plain data.
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw new HttpError(400, 'too_deep', `the JSON body is nested more than ${MAX_DEPTH} levels deep`)
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`
  const keys = Object.keys(value).sort()
  const parts = keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k], depth + 1)}`)
  return `{${parts.join(',')}}`
}

/** SHA-256 (hex) of the canonical JSON of a parsed body. */
export function bodyHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex')
}
