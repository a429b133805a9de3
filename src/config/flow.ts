/**
 * Flow-control options shared by recipes and steps (`once`, `debounce`,
 * `retry`): their checks, and their normalised forms for the engine.
 */
import { parseDuration } from '../duration.js'
import type { DebounceOption, OnceOption, RetryOptions } from '../types.js'
import type { ResolvedRetry } from './resolved.js'
import { DURATION_HINT, type Validator } from './validate.js'

const RETRY_KEYS = ['attempts', 'delay', 'factor', 'maxDelay'] as const

/** Checks a retry policy; returns the parts it sets, in ms. */
export function checkRetry(v: Validator, value: unknown, path: string): Partial<ResolvedRetry> {
  const retry = v.object(value, path, { keys: RETRY_KEYS, what: 'an object ({ attempts, delay, factor, maxDelay })' })
  if (!retry) return {}
  const parts: Partial<ResolvedRetry> = {}
  const attempts = v.integer(retry.attempts, `${path}.attempts`, 1)
  const delay = v.duration(retry.delay, `${path}.delay`)
  const factor = v.number(retry.factor, `${path}.factor`, 1)
  const maxDelay = v.duration(retry.maxDelay, `${path}.maxDelay`)
  if (attempts !== undefined) parts.attempts = attempts
  if (delay !== undefined) parts.delay = delay
  if (factor !== undefined) parts.factor = factor
  if (maxDelay !== undefined) parts.maxDelay = maxDelay
  return parts
}

export function checkOnce(v: Validator, value: unknown, path: string): void {
  if (value == null || typeof value === 'boolean') return
  if (typeof value === 'string') {
    if (value.trim() === '') v.fail(path, 'must not be empty (use true for the default key {{id}})')
    return
  }
  const once = v.object(value, path, { keys: ['key', 'window'], what: 'true, a key template or { key, window }' })
  if (!once) return
  v.string(once.key, `${path}.key`)
  v.duration(once.window, `${path}.window`, { positive: true })
}

export function checkDebounce(v: Validator, value: unknown, path: string): void {
  if (value == null) return
  if (typeof value === 'string' || typeof value === 'number') {
    v.duration(value, path, { positive: true })
    return
  }
  const debounce = v.object(value, path, {
    keys: ['wait', 'key', 'maxWait'],
    what: `a duration or { wait, key, maxWait } (${DURATION_HINT})`,
  })
  if (!debounce) return
  const wait = debounce.wait == null ? v.fail(`${path}.wait`, 'required') : v.duration(debounce.wait, `${path}.wait`, { positive: true })
  v.string(debounce.key, `${path}.key`)
  const maxWait = v.duration(debounce.maxWait, `${path}.maxWait`, { positive: true })
  if (wait !== undefined && maxWait !== undefined && maxWait < wait) v.fail(`${path}.maxWait`, 'must not be shorter than wait')
}

/** A step's retry policy over the queue's defaults. Expects a checked config. */
export function resolveRetry(retry: RetryOptions | undefined, base: ResolvedRetry): ResolvedRetry {
  return {
    attempts: retry?.attempts ?? base.attempts,
    delay: parseDuration(retry?.delay) ?? base.delay,
    factor: retry?.factor ?? base.factor,
    maxDelay: parseDuration(retry?.maxDelay) ?? base.maxDelay,
  }
}

export interface ResolvedOnce {
  /** Key template; `{{id}}` unless set. */
  key: string
  /** Ms a key is remembered; undefined means forever. */
  window?: number
}

/** `once` in one shape, or undefined when it is off. Expects a checked config. */
export function resolveOnce(once: OnceOption | undefined): ResolvedOnce | undefined {
  if (once == null || once === false) return undefined
  if (once === true) return { key: '{{id}}' }
  if (typeof once === 'string') return { key: once }
  const window = parseDuration(once.window)
  return window === undefined ? { key: once.key ?? '{{id}}' } : { key: once.key ?? '{{id}}', window }
}

export interface ResolvedDebounce {
  wait: number
  /** Key template; undefined means the default of where it is set (recipe: `{{id}}`, step: the step). */
  key?: string
  maxWait?: number
}

/** `debounce` in one shape, or undefined when it is not set. Expects a checked config. */
export function resolveDebounce(debounce: DebounceOption | undefined): ResolvedDebounce | undefined {
  if (debounce == null) return undefined
  if (typeof debounce !== 'object') return { wait: parseDuration(debounce)! }
  const resolved: ResolvedDebounce = { wait: parseDuration(debounce.wait)! }
  if (debounce.key !== undefined) resolved.key = debounce.key
  const maxWait = parseDuration(debounce.maxWait)
  if (maxWait !== undefined) resolved.maxWait = maxWait
  return resolved
}
