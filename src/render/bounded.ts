/**
 * The two helpers whose output can outgrow their input: `json` with an indent
 * (each line is indented as deep as it nests: 1 MB of nested arrays printed as
 * 2 GB and took 17 s) and `join` with a long separator (repeated once per
 * item). Their output is kept within a fixed multiple of their input.
 */
import { RunnerError } from '../errors.js'
import { toText } from './text.js'

/** Output may be this many times the input, plus a little, and no more. */
const GROWTH = 4
const SLACK = 64 * 1024

const most = (input: number) => GROWTH * input + SLACK
const within = (output: number, input: number) => output <= most(input)

/**
 * How long `JSON.stringify(value, null, indent)` would be, from the compact
 * text, in one pass: every `{ [ ,` and every closing bracket starts a line
 * indented as deep as it is. An upper bound (empty `{}` stays on one line).
 */
function prettyLength(compact: string, indent: number, stopAbove = Infinity): number {
  let length = compact.length
  let depth = 0
  let inString = false
  for (let i = 0; i < compact.length; i++) {
    const c = compact.charCodeAt(i)
    if (inString) {
      if (c === 92)
        i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) inString = true
    else if (c === 123 || c === 91) length += 1 + ++depth * indent
    else if (c === 125 || c === 93) length += 1 + --depth * indent
    else if (c === 44) length += 1 + depth * indent
    else if (c === 58) length += 1
    // Too long already: the rest need not be read.
    if (length > stopAbove) return length
  }
  return length
}

/** JSON text; indented when asked, unless indenting would make it more than GROWTH times longer: then compact. */
export function json(value: unknown, indent?: unknown): string {
  try {
    const compact = JSON.stringify(value) ?? ''
    const space = typeof indent === 'number' || typeof indent === 'string' ? indent : undefined
    const width = typeof space === 'number' ? Math.min(10, Math.max(0, Math.floor(space))) : Math.min(10, space?.length ?? 0)
    const limit = most(compact.length)
    if (width === 0 || prettyLength(compact, width, limit) > limit) return compact
    return JSON.stringify(value, null, space) ?? ''
  } catch {
    // A cycle or a BigInt: rendering must go on.
    return ''
  }
}

const isBlank = (value: unknown) => value == null || value === ''

/**
 * `join tags "name"`: a second argument names the key when the items are
 * objects. One pass; a separator that would repeat past GROWTH times the
 * input fails the step, naming the helper, instead of building gigabytes.
 */
export function join(list: unknown, second: unknown, third: unknown, hash: Record<string, unknown>): string {
  if (!Array.isArray(list)) return toText(list)
  // One plain loop: `some` and `filter` with a callback took 50 ms on half a million numbers.
  let objects = false
  let blanks = false
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i]
    if (item !== null && typeof item === 'object') objects = true
    else if (isBlank(item)) blanks = true
  }
  const key = hash.key ?? (objects ? second : undefined)
  const name = key == null ? undefined : String(key)
  const separator = toText(hash.sep ?? (objects ? third : second) ?? ', ')
  if (!objects) {
    const kept = blanks ? list.filter((item) => !isBlank(item)) : list
    // Plain values, each at least one character: when even that bound holds, the native join is safe (and 5x faster).
    if (within(Math.max(0, kept.length - 1) * separator.length, kept.length + separator.length)) return kept.join(separator)
  }
  const texts: string[] = []
  let size = separator.length
  for (const item of list) {
    // Own keys only: `join tags "constructor"` must not reach the prototype.
    const picked =
      name === undefined || item === null || typeof item !== 'object'
        ? item
        : Object.hasOwn(item, name)
          ? (item as Record<string, unknown>)[name]
          : undefined
    if (isBlank(picked)) continue
    const text = toText(picked)
    texts.push(text)
    size += text.length
  }
  const gaps = Math.max(0, texts.length - 1) * separator.length
  if (!within(size + gaps, size)) {
    throw new RunnerError(
      'helper_failed',
      `helper "join": a ${separator.length}-character separator between ${texts.length} items would make ` +
        `${size + gaps} characters; refused (use a short separator)`,
    )
  }
  return texts.join(separator)
}
