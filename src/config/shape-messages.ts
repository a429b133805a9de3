/**
 * The words of the condition warnings (shape-warnings.ts): what a value of a
 * documented shape is, why a matcher never holds for it, and what was likely
 * meant, written as config code (`tag: 'sci-fi'`) so it can be pasted.
 */
import { parseBytes, parseDuration } from '../duration.js'
import { fits, type Never, ordered } from '../match/never.js'
import type { Shape } from '../match/shape.js'
import { isPlainObject, show } from '../match/values.js'

/** `a string`, `a list of tag objects`, `a share object`. */
export function describeShape(shape: Shape): string {
  if (shape.kind === 'object') return `${/^[aeiou]/.test(shape.noun) ? 'an' : 'a'} ${shape.noun} object`
  if (shape.kind === 'list') {
    const of = shape.of
    return of.kind === 'object' ? `a list of ${of.noun} objects` : of.kind === 'unknown' ? 'a list' : `a list of ${of.kind}s`
  }
  return shape.kind === 'boolean' ? 'true or false' : `a ${shape.kind}`
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${show(value)}`
  if (typeof value === 'number') return `the number ${value}`
  if (Array.isArray(value)) return `the list ${show(value)}`
  if (isPlainObject(value)) return `the object ${show(value)}`
  return show(value)
}

/** Why `never` holds, as the start of a sentence. */
export function neverReason({ operator, operand }: Never, shape: Shape): string {
  const what = describeShape(shape)
  switch (operator) {
    case undefined:
    case 'eq':
      return `compares ${what} with ${describeValue(operand)}`
    case 'in':
      return `compares ${what} with each of ${show(operand)}`
    case 'matches':
      return `matches tests text, but the value is ${what}`
    case 'contains':
      return shape.kind === 'list'
        ? `looks in ${what} for ${describeValue(operand)}`
        : `contains looks in text or lists, but the value is ${what}`
    default:
      return shape.kind === 'number'
        ? `compares a number with ${describeValue(operand)}, which is not a number`
        : `${operator} orders numbers or strings, but the value is ${what}`
  }
}

/** What was likely meant, as a sentence with a leading space; empty when nothing fits. */
export function hintFor(key: string, matcher: unknown, never: Never, shape: Shape): string {
  const { operator, operand } = never
  const literal = operator === undefined || operator === 'eq'
  // Tag names compared with the tag objects themselves: the tag sugar, or a path to the slugs.
  if (isTagList(shape) && operator !== 'matches') {
    if (typeof operand === 'string') return ` Did you mean tag: ${js(operand)} or ${js(`${key}.slug`)}: ${js(operand)}?`
    if (Array.isArray(operand) && operand.length > 0 && operand.every((n) => typeof n === 'string')) {
      return ` Did you mean tag: ${js(operand)} or ${js(`${key}.slug`)}: { in: ${js(operand)} }?`
    }
  }
  if (literal && typeof operand === 'number' && shape.kind === 'string') return ` The field is a string: write ${js(String(operand))}.`
  if (literal && typeof operand === 'string' && shape.kind === 'number' && ordered(shape, operand)) {
    return ` The field is a number: write ${Number(operand)}.`
  }
  if (literal && (operand === 'true' || operand === 'false') && shape.kind === 'boolean')
    return ` The field is true or false: write ${operand}.`
  if (literal && Array.isArray(operand) && operand.length > 0 && operand.every((o) => fits(o, shape))) {
    return ` To accept any of these values, use { in: ${js(operand)} }.`
  }
  if (operator !== undefined && operator in ORDER) return shape.kind === 'number' ? inUnit(key, operand) : lengthHint(key, never, shape)
  return fieldsHint(key, operator === 'contains' ? operand : matcher, never, shape)
}

const ORDER: Readonly<Record<string, string>> = { gt: '>', gte: '>=', lt: '<', lte: '<=' }

const isTagList = (shape: Shape) => shape.kind === 'list' && shape.of.kind === 'object' && shape.of.noun === 'tag'

/** `duration_ms: { gt: '30m' }` → write 1800000. */
function inUnit(key: string, operand: unknown): string {
  if (key.endsWith('_ms') && parseDuration(operand) !== undefined) return ` Write ${parseDuration(operand)} (milliseconds).`
  if (key.endsWith('_bytes') && parseBytes(operand) !== undefined) return ` Write ${parseBytes(operand)} (bytes).`
  return ''
}

/** `tags: { gte: 2 }` most likely means a count, which only a function can test. */
function lengthHint(key: string, { operator, operand }: Never, shape: Shape): string {
  if (shape.kind !== 'list' || typeof operand !== 'number' || !/^(?:payload\.)?[A-Za-z_$][\w$]*$/.test(key)) return ''
  return ` To compare its length, use a function: (ctx) => Array.isArray(ctx.${key}) && ctx.${key}.length ${ORDER[operator!]} ${operand}.`
}

/** For an object or a list of objects: its plain fields the same matcher could hold for. */
function fieldsHint(key: string, matcher: unknown, { operator, operand }: Never, shape: Shape): string {
  const object = shape.kind === 'list' ? shape.of : shape
  if (object.kind !== 'object') return ''
  const scalar = (s: Shape) => s.kind === 'string' || s.kind === 'number' || s.kind === 'boolean'
  const holds = (s: Shape) => {
    if (operator === 'matches') return s.kind !== 'boolean'
    if (operator === 'in') return Array.isArray(operand) && operand.some((o) => fits(o, s))
    return fits(operand, s)
  }
  const names = Object.keys(object.fields).filter((name) => scalar(object.fields[name]!) && holds(object.fields[name]!))
  const paths = names.map((name) => js(`${key}.${name}`))
  if (paths.length === 0) return ''
  if (paths.length > 2) return ` Did you mean one of its fields (${paths.join(', ')})?`
  return ` Did you mean ${paths.map((path) => `${path}: ${js(matcher)}`).join(' or ')}?`
}

/** A value as config code: `'sci-fi'`, `['a', 'b']`, `{ matches: /^ep/ }`; a dotted key quoted. */
export function js(value: unknown): string {
  if (typeof value === 'string') return `'${value.replace(/[\\']/g, '\\$&')}'`
  if (Array.isArray(value)) return `[${value.map(js).join(', ')}]`
  if (isPlainObject(value)) {
    const entries = Object.entries(value).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : js(k)}: ${js(v)}`)
    return `{ ${entries.join(', ')} }`
  }
  return typeof value === 'bigint' ? `${value}n` : String(value)
}
