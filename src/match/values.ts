/**
 * Value semantics shared by the matchers: equality, ordering, emptiness, and
 * short renderings of values for `explain`, `check` and `simulate`.
 */
import { type Budget, charge, UNLIMITED } from './budget.js'

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) return true
  // An object literal from another realm (a config evaluated in a vm context) has a foreign Object.prototype.
  return Object.getPrototypeOf(proto) === null && !(Symbol.toStringTag in value) && !(Symbol.iterator in value)
}

// Listing a payload object's keys is the costly part of a condition on it (an 80,000-key object takes
// ~40 ms: it is a hash table then), so each object's keys are listed at most once, and only when needed.
const keysOf = new WeakMap<object, readonly string[]>()

/** The own keys of a plain object, listed once per object; charged as visits the first time. */
export function ownKeys(value: Record<string, unknown>, budget: Budget = UNLIMITED): readonly string[] {
  let keys = keysOf.get(value)
  if (keys === undefined) {
    keys = Object.keys(value)
    keysOf.set(value, keys)
    charge(budget, 'visits', keys.length)
  }
  return keys
}

/**
 * Structural equality of JSON-like values; other objects are equal only to themselves.
 * `b` is the expected value (from the config), `a` the payload's: the walk follows `b`, so
 * it is bounded by the config's value; each array element it reads is a visit charged to `budget`.
 */
export function deepEqual(a: unknown, b: unknown, budget: Budget = UNLIMITED): boolean {
  if (a === b) return true
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b)
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    charge(budget, 'visits', a.length)
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i], budget)) return false
    return true
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false
  const expected = ownKeys(b, budget)
  // hasOwn first: an own "__proto__" key from JSON.parse must not be compared with b's prototype.
  for (const key of expected) if (!Object.hasOwn(a, key) || !deepEqual(a[key], b[key], budget)) return false
  // Every expected key is there: equal when `a` has no others.
  return ownKeys(a, budget).length === expected.length
}

// Strict on purpose: Number('') is 0 and Number('0x1f') is 31, neither is what a payload means.
// No two parts can match the same digits (`\d+\.?\d*` could, and took quadratic time on a long run of digits).
const NUMERIC = /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/
// Longer than any number a payload means; such a string compares as a string, in linear time.
const MAX_NUMERIC = 400

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : value
  if (typeof value === 'string' && value.length <= MAX_NUMERIC && NUMERIC.test(value)) return Number(value)
  return undefined
}

/**
 * Order of two values, or undefined when they have none. Numbers and numeric
 * strings compare as numbers (Audiorista sends `rating` as `"4.5"`); other
 * strings compare by code unit, which orders ISO 8601 dates correctly.
 */
export function compare(a: unknown, b: unknown): number | undefined {
  const x = asNumber(a)
  const y = asNumber(b)
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  return undefined
}

/** True when a number and a numeric string denote the same number: worth a hint in explain. */
export function looseNumberEqual(a: unknown, b: unknown): boolean {
  return typeof a !== typeof b && compare(a, b) === 0
}

export function isEmpty(value: unknown, budget: Budget = UNLIMITED): boolean {
  if (value === undefined || value === null || value === '') return true
  if (Array.isArray(value)) return value.length === 0
  return isPlainObject(value) && ownKeys(value, budget).length === 0
}

const MAX_STRING = 80
const MAX_ITEMS = 5

/** A short, JSON-like rendering of any value, bounded in size and depth. */
export function show(value: unknown, depth = 0): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'string') return JSON.stringify(value.length > MAX_STRING ? `${value.slice(0, MAX_STRING - 1)}…` : value)
  if (typeof value === 'function') return '(function)'
  if (value instanceof RegExp) return String(value)
  if (typeof value !== 'object' || value === null) return String(value)
  if (depth >= 2) return Array.isArray(value) ? '[…]' : '{…}'
  const record = value as Record<string, unknown>
  const keys = Array.isArray(value) ? null : ownKeys(record)
  const total = keys ? keys.length : (value as unknown[]).length
  const items: string[] = []
  for (let i = 0; i < Math.min(total, MAX_ITEMS); i++) {
    items.push(keys ? `${JSON.stringify(keys[i])}: ${show(record[keys[i]!], depth + 1)}` : show((value as unknown[])[i], depth + 1))
  }
  if (total > MAX_ITEMS) items.push(`… ${total - MAX_ITEMS} more`)
  return keys ? `{${items.join(', ')}}` : `[${items.join(', ')}]`
}

/** Like `show`, but plain words and numbers go bare: for one-line summaries. */
export function bare(value: unknown): string {
  if (typeof value === 'string' && /^[\w@.:/+-]+$/.test(value)) return value
  return show(value)
}

/** Several values, as `"a", "b"`. */
export function showList(values: readonly unknown[], render: (v: unknown) => string = show, max = 10): string {
  const shown = values.slice(0, max).map(render)
  if (values.length > max) shown.push(`… ${values.length - max} more`)
  return shown.join(', ')
}
