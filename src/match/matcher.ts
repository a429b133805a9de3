/**
 * The matcher of one path entry: a literal (deep equality), a RegExp, or an
 * object of operators that must all hold for the same value.
 */
import type { ConfigIssue } from '../errors.js'
import { type Budget, UNLIMITED } from './budget.js'
import { OPERATORS, OPS, isOperator } from './operators.js'
import { joinConfigPath } from './path.js'
import { bare, deepEqual, isPlainObject, looseNumberEqual, show, showList } from './values.js'

/** An object with at least one operator key is a matcher; any other object is a literal. */
export function isOperatorObject(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && Object.keys(value).some(isOperator)
}

/** Whether `actual` satisfies `matcher`; work that grows with `actual` is charged to `budget` (throws BudgetExhausted). */
export function matches(matcher: unknown, actual: unknown, budget: Budget = UNLIMITED): boolean {
  if (typeof matcher !== 'object' || matcher === null) return typeof matcher !== 'function' && deepEqual(actual, matcher, budget)
  if (matcher instanceof RegExp) return OPS.matches.test(actual, matcher, budget)
  if (!isPlainObject(matcher)) return deepEqual(actual, matcher, budget)
  const keys = Object.keys(matcher)
  if (!keys.some(isOperator)) return deepEqual(actual, matcher, budget)
  // Fails closed on an unknown key mixed in: validation reports it, and guessing could run a recipe by mistake.
  for (const key of keys) if (!isOperator(key) || !OPS[key].test(actual, matcher[key], budget)) return false
  return true
}

/** Why no candidate satisfies `matcher`, as `expected …, got …`. */
export function mismatchReason(matcher: unknown, candidates: readonly unknown[]): string {
  if (typeof matcher === 'function') return 'a function cannot match a path; make the whole condition a function'
  const got = candidates.length ? `got ${showList(candidates)}` : 'but it is missing'
  return `expected ${expectation(matcher)}, ${got}${hint(matcher, candidates)}`
}

function expectation(matcher: unknown): string {
  if (matcher instanceof RegExp) return OPS.matches.expect(matcher)
  if (!isOperatorObject(matcher)) return show(matcher)
  const parts = Object.keys(matcher).map((key) => (isOperator(key) ? OPS[key].expect(matcher[key]) : `no unknown operator "${key}"`))
  return parts.join(' and ')
}

/** Points at the two usual slips: a number against Audiorista's numeric strings, a list where `in` was meant. */
function hint(matcher: unknown, candidates: readonly unknown[]): string {
  const expected = isOperatorObject(matcher) ? (Object.hasOwn(matcher, 'eq') ? matcher.eq : undefined) : matcher
  const near = candidates.find((c) => looseNumberEqual(c, expected))
  if (near !== undefined) return ` (the value is ${typeof near === 'string' ? 'a string' : 'a number'}: write ${show(near)})`
  if (Array.isArray(expected) && candidates.some((c) => !Array.isArray(c) && expected.some((e) => deepEqual(c, e)))) {
    return ' (to accept any of these values, use { in: [...] })'
  }
  return ''
}

/** The matcher in a few words: `= podcast`, `>= 1 and < 5`, `exists`. */
export function summarize(matcher: unknown): string {
  if (matcher instanceof RegExp) return OPS.matches.summary(matcher)
  if (typeof matcher === 'function') return '(function)'
  if (!isOperatorObject(matcher)) return `= ${bare(matcher)}`
  const parts = Object.keys(matcher).map((key) => (isOperator(key) ? OPS[key].summary(matcher[key]) : `?${key}`))
  return parts.join(' and ')
}

// Spellings people bring from MongoDB, SQL or lodash.
const ALIASES: Readonly<Record<string, string>> = {
  neq: 'ne',
  regex: 'matches',
  match: 'matches',
  includes: 'contains',
  has: 'contains',
  exist: 'exists',
  notin: 'nin',
}

function suggestion(key: string): string | undefined {
  const plain = key.replace(/^\$/, '').toLowerCase()
  if (isOperator(plain)) return plain
  return Object.hasOwn(ALIASES, plain) ? ALIASES[plain] : undefined
}

/** Problems in one path entry's matcher, each at its config path. */
export function checkMatcher(matcher: unknown, path: string, issues: ConfigIssue[]): void {
  if (typeof matcher === 'function') {
    issues.push({ path, message: 'a function cannot match a path; make the whole condition a function: (ctx) => boolean' })
    return
  }
  if (matcher instanceof RegExp) {
    const problem = OPS.matches.check(matcher)
    if (problem) issues.push({ path, message: problem })
    return
  }
  if (!isPlainObject(matcher)) return
  const keys = Object.keys(matcher)
  const isMatcher = keys.some(isOperator)
  // In a literal, a key like "match" may be payload data; only flag it when the whole object reads as operators.
  const looksMeant = isMatcher || keys.every((key) => suggestion(key) !== undefined)
  for (const key of keys) {
    const at = joinConfigPath(path, key)
    if (isOperator(key)) {
      const problem = OPS[key].check(matcher[key])
      if (problem) issues.push({ path: at, message: problem })
      continue
    }
    const better = suggestion(key)
    if (better && (looksMeant || key.startsWith('$'))) issues.push({ path: at, message: `"${key}" is not an operator; write "${better}"` })
    else if (isMatcher) issues.push({ path: at, message: `unknown operator "${key}" (operators: ${OPERATORS.join(', ')})` })
  }
}
