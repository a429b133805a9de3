/**
 * Conditions (`when`, `if`): evaluated per event and recipe, explained for
 * `simulate`, validated at config load, summed up for `check`.
 */
import type { ConfigIssue } from '../errors.js'
import type { Condition, ConditionFn, Mismatch, TemplateContext } from '../types.js'
import { type Budget, BudgetExhausted, conditionBudget } from './budget.js'
import { checkMatcher, matches, mismatchReason, summarize } from './matcher.js'
import { isOperator } from './operators.js'
import { FORBIDDEN_SEGMENTS, getPath, joinConfigPath } from './path.js'
import { checkTag, describeTag, tagHolds, tagReason } from './tag.js'
import { isPlainObject, show } from './values.js'

// Keys set to undefined are skipped everywhere: TypeScript treats `tag: process.env.TAG` as absent.

/**
 * Whether `cond` holds for this event: undefined when it does, else the first
 * entry that does not, with its config path and the value found there. One
 * pass decides and explains, so `simulate` and the engine's log never test a
 * payload twice. Work that grows with the payload is charged to `budget` (one
 * per delivery, shared by all its recipes); when it runs out, the condition
 * does not hold and the mismatch says so (`exhausted`).
 */
export function judge(cond: Condition, ctx: TemplateContext, base = 'when', budget: Budget = conditionBudget()): Mismatch | undefined {
  try {
    return judgeCondition(cond, ctx, base, budget)
  } catch (error) {
    if (!(error instanceof BudgetExhausted)) throw error
    return { path: error.path ?? base, reason: error.message, exhausted: true }
  }
}

/** Whether `cond` holds: `judge` without the why. */
export function evaluate(cond: Condition, ctx: TemplateContext, budget?: Budget): boolean {
  return judge(cond, ctx, 'when', budget) === undefined
}

/** The first entry of `cond` that does not hold (`judge`); kept under the name simulate's callers know. */
export const explain = judge

function judgeCondition(cond: Condition, ctx: TemplateContext, base: string, budget: Budget): Mismatch | undefined {
  if (typeof cond === 'function') {
    const result = call(cond, ctx)
    return result === true ? undefined : { path: base, reason: result }
  }
  if (!isPlainObject(cond)) return { path: base, reason: `not a condition: ${show(cond)}` }
  for (const key of Object.keys(cond)) {
    const value = cond[key]
    const miss = value === undefined ? undefined : judgeEntry(key, value, { ctx, path: joinConfigPath(base, key), budget })
    if (miss) return miss
  }
  return undefined
}

interface At {
  ctx: TemplateContext
  path: string
  budget: Budget
}

function judgeEntry(key: string, value: unknown, at: At): Mismatch | undefined {
  const { ctx, path, budget } = at
  if (key === 'all' || key === 'any') return judgeList(key, value, at)
  if (key === 'not') {
    if (!isCondition(value)) return { path, reason: `not: must be a condition, got ${show(value)}` }
    if (judgeCondition(value, ctx, path, budget)) return undefined
    return { path, reason: `not: expected ${parenthesized(describeCondition(value))} to fail, but it holds` }
  }
  try {
    if (key === 'tag') return tagHolds(value, ctx, budget) ? undefined : { path, ...tagReason(value, ctx) }
    const candidates = getPath(ctx, key, budget)
    if (candidates.length === 0 ? matches(value, undefined, budget) : candidates.some((c) => matches(value, c, budget))) return undefined
    const actual = candidates.length > 1 ? candidates : candidates[0]
    return { path, reason: `${key}: ${mismatchReason(value, candidates)}`, actual }
  } catch (error) {
    if (error instanceof BudgetExhausted) error.path ??= path
    throw error
  }
}

function judgeList(key: 'all' | 'any', value: unknown, { ctx, path, budget }: At): Mismatch | undefined {
  if (!Array.isArray(value)) return { path, reason: `${key}: must be an array of conditions` }
  const misses: string[] = []
  for (let i = 0; i < value.length; i++) {
    const miss = judgeCondition(value[i] as Condition, ctx, `${path}[${i}]`, budget)
    if (key === 'all' && miss) return miss
    if (key === 'any' && !miss) return undefined
    if (miss) misses.push(`[${i}] ${miss.reason}`)
  }
  if (key === 'all') return undefined
  return { path, reason: misses.length ? `any: none holds: ${misses.join('; ')}` : 'any: an empty list never holds' }
}

function call(fn: ConditionFn, ctx: TemplateContext): true | string {
  try {
    const result: unknown = fn(ctx)
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      Promise.resolve(result).catch(() => {})
      return 'returned a Promise; a condition must decide synchronously'
    }
    return result ? true : 'returned false'
  } catch (error) {
    return `threw: ${error instanceof Error ? error.message : show(error)}`
  }
}

function isCondition(value: unknown): value is Condition {
  return typeof value === 'function' || isPlainObject(value)
}

/**
 * Every problem in a condition, each at its config path (`recipes[0].when.all[1].rating.gte`),
 * including a `matches` pattern the linear-time engine cannot run.
 */
export function validateCondition(cond: unknown, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  if (cond !== undefined) checkCondition(cond, path, issues)
  return issues
}

function checkCondition(cond: unknown, path: string, issues: ConfigIssue[]): void {
  if (typeof cond === 'function') return
  if (!isPlainObject(cond)) {
    issues.push({ path, message: `must be an object of path → matcher, or a function; got ${show(cond)}` })
    return
  }
  for (const key of Object.keys(cond)) {
    const value = cond[key]
    if (value === undefined) continue
    const at = joinConfigPath(path, key)
    if (key === 'all' || key === 'any') {
      if (Array.isArray(value)) for (const [i, c] of value.entries()) checkCondition(c, `${at}[${i}]`, issues)
      else issues.push({ path: at, message: `must be a list of conditions, got ${show(value)}` })
    } else if (key === 'not') checkCondition(value, at, issues)
    else if (key === 'tag') checkTag(value, at, issues)
    else {
      checkPathKey(key, at, issues)
      checkMatcher(value, at, issues)
    }
  }
}

function checkPathKey(key: string, at: string, issues: ConfigIssue[]): void {
  const segments = key.split('.')
  if (segments.includes('')) issues.push({ path: at, message: `the path "${key}" has an empty segment` })
  const forbidden = segments.find((s) => FORBIDDEN_SEGMENTS.has(s))
  if (forbidden) issues.push({ path: at, message: `"${forbidden}" cannot appear in a path: it never reaches payload data` })
  if (isOperator(key)) {
    const message = `"${key}" is an operator, but here it would be read as a field; put it under a path: { rating: { ${key}: ... } }`
    issues.push({ path: at, message })
  }
}

/** One line for `check`: `tag = podcast, share.url exists, rating >= 4`. */
export function describeCondition(cond: Condition | undefined): string {
  if (cond === undefined) return 'always'
  if (typeof cond === 'function') return '(function)'
  if (!isPlainObject(cond)) return show(cond)
  const parts: string[] = []
  for (const key of Object.keys(cond)) {
    const value = cond[key]
    if (value !== undefined) parts.push(describeEntry(key, value))
  }
  return parts.length ? parts.join(', ') : 'always'
}

function describeEntry(key: string, value: unknown): string {
  if (key === 'all' || key === 'any') {
    if (!Array.isArray(value)) return `${key} ${show(value)}`
    if (value.length === 0) return key === 'all' ? 'always' : 'never'
    const items = value.map((c: Condition) => grouped(c))
    return items.length === 1 ? items[0]! : `(${items.join(key === 'all' ? ' and ' : ' or ')})`
  }
  if (key === 'not') return `not ${parenthesized(describeCondition(value as Condition))}`
  if (key === 'tag') return describeTag(value)
  return `${key} ${summarize(value)}`
}

function grouped(cond: Condition): string {
  const text = describeCondition(cond)
  return text.includes(', ') ? parenthesized(text) : text
}

/** `text` in parentheses, unless one pair already encloses all of it. */
function parenthesized(text: string): string {
  if (!text.startsWith('(')) return `(${text})`
  let depth = 0
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (quoted) {
      if (char === '\\') i++
      else if (char === '"') quoted = false
    } else if (char === '"') quoted = true
    else if (char === '(') depth++
    else if (char === ')' && --depth === 0) return i === text.length - 1 ? text : `(${text})`
  }
  return `(${text})`
}
