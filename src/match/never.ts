/**
 * Whether a matcher can ever hold for a value of a documented shape, so
 * `check` can warn about a condition that cannot. Only certain answers count:
 * any field may be missing or null (payloads are lenient), and whatever the
 * documentation leaves open may hold anything.
 */
import { isOperatorObject, matches } from './matcher.js'
import { isOperator, type OperatorName } from './operators.js'
import type { Shape } from './shape.js'
import { compare, isPlainObject } from './values.js'

/** Why a matcher never holds: the operator at fault (none for a literal) and its operand. */
export interface Never {
  operator?: OperatorName
  operand: unknown
}

/** Undefined when `matcher` may hold for some value of `shape`, else what rules it out. */
export function whyNever(matcher: unknown, shape: Shape): Never | undefined {
  if (shape.kind === 'unknown' || typeof matcher === 'function') return undefined
  // A field may always be missing or null, and then this matcher holds.
  if (matches(matcher, undefined) || matches(matcher, null)) return undefined
  if (matcher instanceof RegExp) return PRESENT.matches(matcher, shape) ? undefined : { operator: 'matches', operand: matcher }
  if (!isOperatorObject(matcher)) return fits(matcher, shape) ? undefined : { operand: matcher }
  for (const key of Object.keys(matcher)) {
    // An unknown operator is a config error already; guess nothing about it.
    if (!isOperator(key)) return undefined
    if (!PRESENT[key](matcher[key], shape)) return { operator: key, operand: matcher[key] }
  }
  return undefined
}

/** Whether some present value of `shape` deep-equals `value` (null and undefined always may). */
export function fits(value: unknown, shape: Shape): boolean {
  if (shape.kind === 'unknown' || value === null || value === undefined) return true
  if (typeof value === 'string') return shape.kind === 'string'
  if (typeof value === 'number') return shape.kind === 'number'
  if (typeof value === 'boolean') return shape.kind === 'boolean'
  if (Array.isArray(value)) return shape.kind === 'list' && value.every((v) => fits(v, shape.of))
  if (!isPlainObject(value)) return true
  if (shape.kind !== 'object') return false
  return Object.keys(value).every((key) =>
    Object.hasOwn(shape.fields, key) ? fits(value[key], shape.fields[key]!) : shape.others !== 'closed',
  )
}

/** Whether a numeric or string order exists between values of `shape` and `operand` (values.ts `compare`). */
export function ordered(shape: Shape, operand: unknown): boolean {
  if (shape.kind === 'unknown') return true
  // A string field may hold a numeric string ("4.5"), which compares with numbers.
  if (shape.kind === 'string') return typeof operand === 'string' || typeof operand === 'number'
  if (shape.kind === 'number') return compare(0, operand) !== undefined
  return false
}

const always = () => true
const order = (operand: unknown, shape: Shape) => ordered(shape, operand)

// Per operator: may it hold for some present (non-null) value of the shape? Operators that
// hold for a missing field (ne, nin, exists: false, empty: true) never reach here as "never".
const PRESENT: Readonly<Record<OperatorName, (operand: unknown, shape: Shape) => boolean>> = {
  eq: (operand, shape) => fits(operand, shape),
  in: (operand, shape) => !Array.isArray(operand) || operand.some((o) => fits(o, shape)),
  gt: order,
  gte: order,
  lt: order,
  lte: order,
  matches: (_, shape) => shape.kind === 'unknown' || shape.kind === 'string' || shape.kind === 'number',
  contains: (operand, shape) => {
    if (shape.kind === 'string') return typeof operand === 'string' || typeof operand === 'number'
    if (shape.kind === 'list') return fits(operand, shape.of)
    return shape.kind === 'unknown'
  },
  ne: always,
  nin: always,
  exists: always,
  empty: always,
}
