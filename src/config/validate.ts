import { parseBytes, parseDuration } from '../duration.js'
import type { ConfigIssue } from '../errors.js'
import { suggest } from './suggest.js'

export const DURATION_HINT = 'use 500ms, 30s, 5m, 2h, 7d or a number of ms'
const BYTES_HINT = 'use 512kb, 1mb or a number of bytes'

// Anything under these sections may be a secret (keys, tokens, SMTP URLs):
// messages about them say what is wrong, never what the value was.
const SECRET = /^(auth|actions)(\.|\[|$)/

/** `at('recipes', 2)` → `recipes[2]`; `at('actions', 'my-plugin')` → `actions.my-plugin`. */
export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  const part = /^[^.[\]\s"]+$/.test(key) ? key : `[${JSON.stringify(key)}]`
  return !path ? part : part.startsWith('[') ? path + part : `${path}.${part}`
}

/** An object literal (or a parsed JSON/YAML mapping), not an array, class instance or function. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (Object.prototype.toString.call(value) !== '[object Object]') return false
  const proto = Object.getPrototypeOf(value)
  return proto === null || Object.getPrototypeOf(proto) === null
}

export interface ObjectRules {
  /** Known keys; any other key is an issue with a suggestion. Omit to allow any key. */
  keys?: readonly string[]
  /** Common wrong names and the right one (`steps` → `do`). */
  synonyms?: Record<string, string>
  /** Words after "must be" when the value is not an object. */
  what?: string
}

/**
 * Collects every problem instead of stopping at the first. Each checker
 * returns the checked value, or undefined when it is absent (null counts as
 * absent: YAML writes an empty section as null) or wrong (and records why).
 */
export interface Validator {
  readonly issues: ConfigIssue[]
  fail(path: string, message: string): undefined
  /** How a value appears in a message, or undefined where values may be secrets. */
  show(path: string, value: unknown): string | undefined
  object(value: unknown, path: string, rules?: ObjectRules): Record<string, unknown> | undefined
  list(value: unknown, path: string, what?: string): unknown[] | undefined
  string(value: unknown, path: string, options?: { required?: boolean }): string | undefined
  boolean(value: unknown, path: string): boolean | undefined
  integer(value: unknown, path: string, min: number, max?: number): number | undefined
  number(value: unknown, path: string, min: number): number | undefined
  duration(value: unknown, path: string, options?: { positive?: boolean }): number | undefined
  bytes(value: unknown, path: string): number | undefined
}

export function createValidator(): Validator {
  const issues: ConfigIssue[] = []
  const fail = (path: string, message: string): undefined => {
    issues.push({ path, message })
  }
  const show = (path: string, value: unknown): string | undefined => {
    if (SECRET.test(path)) return undefined
    if (typeof value === 'string') return JSON.stringify(value)
    if (typeof value === 'number' || typeof value === 'boolean') return String(value)
    return undefined
  }

  return {
    issues,
    fail,
    show,
    object(value, path, { keys, synonyms, what = 'an object' } = {}) {
      if (value == null) return undefined
      if (!isPlainObject(value)) return fail(path, `must be ${what}`)
      for (const key of keys ? Object.keys(value) : []) {
        if (keys!.includes(key)) continue
        const hint = suggest(key, keys!, synonyms)
        fail(at(path, key), hint ? `unknown option (did you mean ${hint}?)` : `unknown option (known: ${keys!.join(', ')})`)
      }
      return value
    },
    list(value, path, what = 'a list') {
      if (value == null) return undefined
      return Array.isArray(value) ? value : fail(path, `must be ${what}`)
    },
    string(value, path, { required = false } = {}) {
      if (value == null) return required ? fail(path, 'required') : undefined
      if (typeof value !== 'string') return fail(path, 'must be a string')
      return value.trim() === '' ? fail(path, 'must not be empty') : value
    },
    boolean(value, path) {
      if (value == null || typeof value === 'boolean') return value ?? undefined
      return fail(path, 'must be true or false')
    },
    integer(value, path, min, max) {
      if (value == null) return undefined
      if (Number.isInteger(value) && (value as number) >= min && (max === undefined || (value as number) <= max)) return value as number
      if (max !== undefined) return fail(path, `must be an integer from ${min} to ${max}`)
      return fail(path, min === 1 ? 'must be a positive integer' : `must be an integer of at least ${min}`)
    },
    number(value, path, min) {
      if (value == null) return undefined
      if (typeof value === 'number' && Number.isFinite(value) && value >= min) return value
      return fail(path, `must be a number of at least ${min}`)
    },
    duration(value, path, { positive = false } = {}) {
      if (value == null) return undefined
      const ms = parseDuration(value)
      if (ms === undefined) {
        const shown = typeof value === 'boolean' ? undefined : show(path, value)
        return fail(path, shown ? `${shown} is not a duration (${DURATION_HINT})` : `must be a duration (${DURATION_HINT})`)
      }
      return positive && ms === 0 ? fail(path, 'must be longer than 0') : ms
    },
    bytes(value, path) {
      if (value == null) return undefined
      const bytes = parseBytes(value)
      if (bytes !== undefined) return bytes
      const shown = typeof value === 'boolean' ? undefined : show(path, value)
      return fail(path, shown ? `${shown} is not a size (${BYTES_HINT})` : `must be a size (${BYTES_HINT})`)
    },
  }
}
