/**
 * The matcher operators (`{ gte: 4 }`, `{ exists: true }`, ...). Each one knows
 * how to test a value, how to say what it expected (explain), how to sum itself
 * up (check) and what operand it accepts (config validation).
 */
import { bare, compare, deepEqual, isEmpty, show, showList } from './values.js'

export const OPERATORS = ['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'matches', 'exists', 'contains', 'empty'] as const
export type OperatorName = (typeof OPERATORS)[number]

// A Set, not `key in table`: `in` would also find "constructor" and "toString".
const NAMES: ReadonlySet<string> = new Set(OPERATORS)
export const isOperator = (key: string): key is OperatorName => NAMES.has(key)

interface Operator {
  test(actual: unknown, operand: unknown): boolean
  /** Completes "expected …" in explain. */
  expect(operand: unknown): string
  /** Completes "<path> …" in the one-line summary. */
  summary(operand: unknown): string
  /** Why the operand is unusable, or undefined when it is fine. */
  check(operand: unknown): string | undefined
}

const ordered = (symbol: string, holds: (order: number) => boolean): Operator => ({
  test: (actual, operand) => {
    const order = compare(actual, operand)
    return order !== undefined && holds(order)
  },
  expect: (operand) => `${symbol} ${show(operand)}`,
  summary: (operand) => `${symbol} ${bare(operand)}`,
  check: (operand) =>
    (typeof operand === 'number' && Number.isFinite(operand)) || typeof operand === 'string'
      ? undefined
      : `must be a number or a string, got ${show(operand)}`,
})

const flag = (yes: string, no: string, expectYes: string, expectNo: string, test: (actual: unknown) => boolean): Operator => ({
  test: (actual, operand) => (operand === true ? test(actual) : operand === false ? !test(actual) : false),
  expect: (operand) => (operand === true ? expectYes : expectNo),
  summary: (operand) => (operand === true ? yes : no),
  check: (operand) => (typeof operand === 'boolean' ? undefined : `must be true or false, got ${show(operand)}`),
})

const listCheck = (operand: unknown) => (Array.isArray(operand) ? undefined : `must be an array, got ${show(operand)}`)
const inList = (actual: unknown, operand: unknown) => Array.isArray(operand) && operand.some((o) => deepEqual(actual, o))
const anyCheck = () => undefined

export const OPS: Readonly<Record<OperatorName, Operator>> = {
  eq: { test: deepEqual, expect: (o) => show(o), summary: (o) => `= ${bare(o)}`, check: anyCheck },
  ne: { test: (a, o) => !deepEqual(a, o), expect: (o) => `anything but ${show(o)}`, summary: (o) => `!= ${bare(o)}`, check: anyCheck },
  in: {
    test: inList,
    expect: (o) => `one of ${Array.isArray(o) && o.length ? showList(o) : show(o)}`,
    summary: (o) => `in (${Array.isArray(o) ? showList(o, bare) : bare(o)})`,
    check: listCheck,
  },
  nin: {
    test: (a, o) => Array.isArray(o) && !inList(a, o),
    expect: (o) => `none of ${Array.isArray(o) && o.length ? showList(o) : show(o)}`,
    summary: (o) => `not in (${Array.isArray(o) ? showList(o, bare) : bare(o)})`,
    check: listCheck,
  },
  gt: ordered('>', (order) => order > 0),
  gte: ordered('>=', (order) => order >= 0),
  lt: ordered('<', (order) => order < 0),
  lte: ordered('<=', (order) => order <= 0),
  matches: {
    test: (actual, operand) => {
      const re = toRegExp(operand)
      const text = typeof actual === 'string' ? actual : typeof actual === 'number' ? String(actual) : undefined
      if (!re || text === undefined) return false
      // A user's RegExp with the g or y flag keeps state between calls; start afresh each time.
      re.lastIndex = 0
      return re.test(text.length > MATCH_LIMIT ? text.slice(0, MATCH_LIMIT) : text)
    },
    expect: (o) => `to match ${showRegExp(o)}`,
    summary: (o) => `matches ${showRegExp(o)}`,
    check: (operand) => {
      if (operand instanceof RegExp) return undefined
      if (typeof operand !== 'string') return `must be a regular expression (a string or a RegExp), got ${show(operand)}`
      try {
        compileRegExp(operand)
        return undefined
      } catch (error) {
        return `invalid regular expression ${show(operand)}: ${(error as Error).message}`
      }
    },
  },
  exists: flag('exists', 'does not exist', 'to exist', 'to be missing', (actual) => actual !== undefined && actual !== null),
  contains: {
    test: (actual, operand) => {
      if (typeof actual === 'string') {
        return (typeof operand === 'string' || typeof operand === 'number') && actual.includes(String(operand))
      }
      return Array.isArray(actual) && actual.some((element) => deepEqual(element, operand))
    },
    expect: (o) => `to contain ${show(o)}`,
    summary: (o) => `contains ${bare(o)}`,
    check: anyCheck,
  },
  empty: flag('is empty', 'is not empty', 'to be empty', 'not to be empty', isEmpty),
}

/**
 * `matches` tests at most this many characters of a value. With the load-time check in redos.ts
 * (nothing worse than quadratic) it bounds what one test may cost: about 0.1 s at worst.
 */
const MATCH_LIMIT = 10_000

// Written `/body/flags` in a string, a pattern can carry flags even in a JSON or YAML config.
const WITH_FLAGS = /^\/(.+)\/([dimsuv]+)$/
const regexps = new Map<string, RegExp | null>()

function compileRegExp(source: string): RegExp {
  const literal = WITH_FLAGS.exec(source)
  return literal ? new RegExp(literal[1]!, literal[2]) : new RegExp(source)
}

/** The RegExp for a `matches` operand, compiled once per string; undefined when unusable. */
export function toRegExp(operand: unknown): RegExp | undefined {
  if (operand instanceof RegExp) return operand
  if (typeof operand !== 'string') return undefined
  let re = regexps.get(operand)
  if (re === undefined) {
    try {
      re = compileRegExp(operand)
    } catch {
      re = null
    }
    regexps.set(operand, re)
  }
  return re ?? undefined
}

function showRegExp(operand: unknown): string {
  if (typeof operand !== 'string') return show(operand)
  return WITH_FLAGS.test(operand) ? operand : `/${operand}/`
}
