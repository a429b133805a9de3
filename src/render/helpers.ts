import type { HelperDelegate, HelperOptions } from 'handlebars'
import { formatClock } from '../duration.js'
import { RunnerError } from '../errors.js'
import { json, join } from './bounded.js'
import { EncodedComponent } from './escape.js'
import { formatBytes, formatDate, safeUrl, stripHtml, toDate, toNumber, toText, truncate, urlencode } from './text.js'

type Helper = (...args: unknown[]) => unknown

/** Handlebars passes its options object last; helpers want the arguments and the hash. */
function split(all: unknown[]): { args: unknown[]; hash: Record<string, unknown> } {
  const options = all[all.length - 1] as HelperOptions | undefined
  return { args: all.slice(0, -1), hash: options?.hash ?? {} }
}

const isBlank = (value: unknown) => value == null || value === ''
// As in `{{#if}}`: an empty list counts as false.
const truthy = (value: unknown) => (Array.isArray(value) ? value.length > 0 : Boolean(value))

/** The built-in helpers; `lookup`, `if`, `each`, `with`, `unless` come with Handlebars. */
export const builtinHelpers: Record<string, Helper> = {
  json: (...all) => {
    const [value, indent] = split(all).args
    return json(value, indent)
  },
  default: (...all) => split(all).args.find((value) => !isBlank(value)) ?? '',
  eq: (...all) => {
    const [first, ...rest] = split(all).args
    return rest.length > 0 && rest.every((value) => value === first)
  },
  ne: (...all) => {
    const [a, b] = split(all).args
    return a !== b
  },
  and: (...all) => {
    const { args } = split(all)
    if (args.length === 0) return false
    const falsy = args.findIndex((value) => !truthy(value))
    return args[falsy === -1 ? args.length - 1 : falsy]
  },
  or: (...all) => {
    const { args } = split(all)
    if (args.length === 0) return false
    // Like JS `||`: the last value when none is truthy, so `{{or a b}}` renders empty, not "false".
    return args.find(truthy) ?? args[args.length - 1]
  },
  not: (...all) => !truthy(split(all).args[0]),
  join: (...all) => {
    const { args, hash } = split(all)
    return join(args[0], args[1], args[2], hash)
  },
  truncate: (...all) => {
    const [text, length, suffix] = split(all).args
    const n = toNumber(length)
    return n === undefined ? toText(text) : truncate(toText(text), n, suffix === undefined ? undefined : toText(suffix))
  },
  lower: (...all) => toText(split(all).args[0]).toLowerCase(),
  upper: (...all) => toText(split(all).args[0]).toUpperCase(),
  duration: (...all) => {
    const ms = toNumber(split(all).args[0])
    return ms === undefined ? '' : formatClock(ms)
  },
  bytes: (...all) => {
    const n = toNumber(split(all).args[0])
    return n === undefined ? '' : formatBytes(n)
  },
  date: (...all) => {
    const [value, format] = split(all).args
    const date = toDate(value)
    return date ? formatDate(date, typeof format === 'string' ? format : undefined) : ''
  },
  stripHtml: (...all) => stripHtml(toText(split(all).args[0])),
  // Marked as encoded, so a `url` field does not encode it a second time.
  urlencode: (...all) => new EncodedComponent(urlencode(toText(split(all).args[0]))),
  safeUrl: (...all) => safeUrl(split(all).args[0]),
}

/**
 * Wraps a helper so that what it throws names it. The error travels up
 * through block helpers (`#each`) unchanged, and `render` adds the field.
 */
export function guardHelper(name: string, fn: HelperDelegate | Helper): HelperDelegate {
  return function (this: unknown, ...args: unknown[]) {
    try {
      return (fn as Helper).apply(this, args)
    } catch (err) {
      if (err instanceof RunnerError && err.code === 'helper_failed') throw err
      const reason = err instanceof Error ? err.message : String(err)
      throw new RunnerError('helper_failed', `helper "${name}" threw: ${reason}`, { cause: err })
    }
  }
}
