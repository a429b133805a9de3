/**
 * `matches` patterns, run by RE2 (re2js, a pure-JS port): its time is linear
 * in the text whatever the pattern, so a payload cannot make a condition
 * backtrack. Patterns are written in JavaScript syntax, as a string (optionally
 * `/body/flags`) or a RegExp; what RE2 cannot run (backreferences, lookaround)
 * is a config error at load time.
 */
import { RE2JS } from 're2js'

/** A compiled pattern: `test` searches anywhere in the text, like RegExp#test. */
export interface Pattern {
  test(text: string): boolean
  /** As written, for messages: `/^ep-/i`. */
  shown: string
}

// Written `/body/flags` in a string, a pattern can carry flags even in a JSON or YAML config.
const WITH_FLAGS = /^\/(.+)\/([dgimsuvy]+)$/
const ESCAPE = 'rewrite it or use a function condition: (ctx) => boolean'

const compiled = new Map<string, Pattern | string>()
const literals = new WeakMap<RegExp, Pattern | string>()

/** The pattern of a `matches` operand, or the sentence saying why it cannot run. Compiled once per operand. */
export function toPattern(operand: unknown): Pattern | string {
  if (operand instanceof RegExp) {
    let found = literals.get(operand)
    if (found === undefined) {
      found = compile(operand.source, operand.flags, String(operand), String(operand))
      literals.set(operand, found)
    }
    return found
  }
  if (typeof operand !== 'string') return 'must be a regular expression (a string or a RegExp)'
  let found = compiled.get(operand)
  if (found === undefined) {
    const literal = WITH_FLAGS.exec(operand)
    const quoted = JSON.stringify(operand)
    found = literal ? compile(literal[1]!, literal[2]!, operand, quoted) : compile(operand, '', `/${operand}/`, quoted)
    // Operands come from the config; the cap guards odd callers.
    if (compiled.size >= 1000) compiled.clear()
    compiled.set(operand, found)
  }
  return found
}

/** `shown` is the pattern as messages show it (`/^ep-/i`), `quoted` as the config wrote it. */
function compile(source: string, flags: string, shown: string, quoted: string): Pattern | string {
  const bits = flagBits(flags)
  if (typeof bits === 'string') return `${quoted}: ${bits}`
  try {
    new RegExp(source, flags.replace(/[gy]/g, ''))
  } catch (error) {
    return `invalid regular expression ${quoted}: ${(error as Error).message}`
  }
  try {
    const re = RE2JS.compile(RE2JS.translateRegExp(source), bits)
    return { test: (text) => re.test(text), shown }
  } catch (error) {
    return `${quoted} ${unsupported(source, (error as Error).message)}, which the linear-time engine cannot run; ${ESCAPE}`
  }
}

/**
 * RE2's flags for JavaScript's: i, m and s translate; g and y are ignored (a test
 * keeps no state between values); d only asks for match indices, which a test
 * never reads; u changes nothing, as RE2 always reads code points. v is refused:
 * RE2 would read its set operations (`[\p{L}--[a-z]]`) as plain characters.
 */
function flagBits(flags: string): number | string {
  let bits = 0
  for (const flag of flags) {
    if (flag === 'i') bits |= RE2JS.CASE_INSENSITIVE
    else if (flag === 'm') bits |= RE2JS.MULTILINE
    else if (flag === 's') bits |= RE2JS.DOTALL
    else if (flag === 'v') return 'the v flag is not supported (its set operations cannot run on the linear-time engine); use u'
    else if (!'gyud'.includes(flag)) return `unknown flag "${flag}" (flags: i, m, s, u; g, y and d are ignored)`
  }
  return bits
}

function unsupported(source: string, message: string): string {
  if (/\(\?<[=!]/.test(source)) return 'uses a lookbehind'
  if (/\(\?[=!]/.test(source)) return 'uses a lookahead'
  if (/\\(?:[1-9]|k<)/.test(source)) return 'uses a backreference'
  return `uses syntax RE2 does not support (${message.replace(/^error parsing regexp: /, '')})`
}
