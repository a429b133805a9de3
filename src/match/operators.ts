/**
 * The matcher operators (`{ gte: 4 }`, `{ exists: true }`, ...). Each one knows
 * how to test a value, how to say what it expected (explain), how to sum itself
 * up (check) and what operand it accepts (config validation).
 */
import { type Budget, charge } from './budget.js'
import { toPattern } from './regex.js'
import { bare, compare, deepEqual, isEmpty, show, showList } from './values.js'

export const OPERATORS = ['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'matches', 'exists', 'contains', 'empty'] as const
export type OperatorName = (typeof OPERATORS)[number]

// A Set, not `key in table`: `in` would also find "constructor" and "toString".
const NAMES: ReadonlySet<string> = new Set(OPERATORS)
export const isOperator = (key: string): key is OperatorName => NAMES.has(key)

interface Operator {
  /** Whether `actual` satisfies the operand; work that grows with `actual` is charged to `budget`. */
  test(actual: unknown, operand: unknown, budget: Budget): boolean
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

const flag = (
  yes: string,
  no: string,
  expectYes: string,
  expectNo: string,
  test: (actual: unknown, budget: Budget) => boolean,
): Operator => ({
  test: (actual, operand, budget) => (operand === true ? test(actual, budget) : operand === false ? !test(actual, budget) : false),
  expect: (operand) => (operand === true ? expectYes : expectNo),
  summary: (operand) => (operand === true ? yes : no),
  check: (operand) => (typeof operand === 'boolean' ? undefined : `must be true or false, got ${show(operand)}`),
})

const listCheck = (operand: unknown) => (Array.isArray(operand) ? undefined : `must be an array, got ${show(operand)}`)
const inList = (actual: unknown, operand: unknown, budget: Budget) =>
  Array.isArray(operand) && operand.some((o) => deepEqual(actual, o, budget))
const anyCheck = () => undefined

export const OPS: Readonly<Record<OperatorName, Operator>> = {
  eq: { test: deepEqual, expect: (o) => show(o), summary: (o) => `= ${bare(o)}`, check: anyCheck },
  ne: {
    test: (a, o, budget) => !deepEqual(a, o, budget),
    expect: (o) => `anything but ${show(o)}`,
    summary: (o) => `!= ${bare(o)}`,
    check: anyCheck,
  },
  in: {
    test: inList,
    expect: (o) => `one of ${Array.isArray(o) && o.length ? showList(o) : show(o)}`,
    summary: (o) => `in (${Array.isArray(o) ? showList(o, bare) : bare(o)})`,
    check: listCheck,
  },
  nin: {
    test: (a, o, budget) => Array.isArray(o) && !inList(a, o, budget),
    expect: (o) => `none of ${Array.isArray(o) && o.length ? showList(o) : show(o)}`,
    summary: (o) => `not in (${Array.isArray(o) ? showList(o, bare) : bare(o)})`,
    check: listCheck,
  },
  gt: ordered('>', (order) => order > 0),
  gte: ordered('>=', (order) => order >= 0),
  lt: ordered('<', (order) => order < 0),
  lte: ordered('<=', (order) => order <= 0),
  matches: {
    test: (actual, operand, budget) => {
      const pattern = toPattern(operand)
      const text = typeof actual === 'string' ? actual : typeof actual === 'number' ? String(actual) : undefined
      if (typeof pattern === 'string' || text === undefined) return false
      charge(budget, 'regexChars', text.length)
      return pattern.test(text)
    },
    expect: (o) => `to match ${showRegExp(o)}`,
    summary: (o) => `matches ${showRegExp(o)}`,
    check: (operand) => {
      const pattern = toPattern(operand)
      return typeof pattern === 'string'
        ? operand instanceof RegExp || typeof operand === 'string'
          ? pattern
          : `${pattern}, got ${show(operand)}`
        : undefined
    },
  },
  exists: flag('exists', 'does not exist', 'to exist', 'to be missing', (actual) => actual !== undefined && actual !== null),
  contains: {
    test: (actual, operand, budget) => {
      if (typeof actual === 'string') {
        if (typeof operand !== 'string' && typeof operand !== 'number') return false
        charge(budget, 'scanChars', actual.length)
        return actual.includes(String(operand))
      }
      if (!Array.isArray(actual)) return false
      charge(budget, 'visits', actual.length)
      return actual.some((element) => deepEqual(element, operand, budget))
    },
    expect: (o) => `to contain ${show(o)}`,
    summary: (o) => `contains ${bare(o)}`,
    check: anyCheck,
  },
  empty: flag('is empty', 'is not empty', 'to be empty', 'not to be empty', isEmpty),
}

function showRegExp(operand: unknown): string {
  const pattern = toPattern(operand)
  return typeof pattern === 'string' ? show(operand) : pattern.shown
}
