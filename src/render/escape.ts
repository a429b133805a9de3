import Handlebars from 'handlebars'
import { RunnerError } from '../errors.js'
import type { EscapeMode, EscapeSpec, InputPath } from '../types.js'
import { toText, urlencode } from './text.js'

const SLACK_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' }
const SLACK_SPECIAL = /[&<>]/g

/**
 * A payload value that would be syntax where it goes (a second recipient, a
 * program option, a climb up a URL path): the step ends dead. `field` is the
 * config path of the input, once known; messages thrown with it name it already.
 */
export class ValueRefused extends RunnerError {
  constructor(
    code: string,
    message: string,
    readonly field?: string,
  ) {
    super(code, message)
  }
}

/**
 * Text a helper already percent-encoded (`urlencode`): a URL takes it as is
 * instead of encoding it twice; everywhere else it is ordinary text.
 */
export class EncodedComponent {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

/**
 * A rendered value as text for its destination. Slack only reserves `& < >`
 * (https://api.slack.com/reference/surfaces/formatting#escaping): escaping
 * quotes there would show `&quot;` to readers. In a URL a value is one
 * component: it can add no `/`, `?`, `#` or `@`. SafeStrings were made safe on
 * purpose by a helper and are never escaped again.
 */
export function escapeValue(value: unknown, mode: EscapeMode): string {
  if (value instanceof Handlebars.SafeString) return value.toHTML()
  if (mode === 'url') return urlComponent(value)
  const text = toText(value)
  if (mode === 'html') return Handlebars.Utils.escapeExpression(text)
  if (mode === 'slack') return text.replace(SLACK_SPECIAL, (ch) => SLACK_ENTITIES[ch] ?? ch)
  return text
}

function urlComponent(value: unknown): string {
  if (value instanceof EncodedComponent) return value.text
  const text = toText(value)
  // `.` and `..` stay dot segments however they are encoded (`%2e%2e` too): they would climb the path.
  if (text === '.' || text === '..') {
    throw new ValueRefused('url_component_refused', `a value rendered into a URL is "${text}", which would change the path; refused`)
  }
  return urlencode(text)
}

/** The mode of one leaf of a step's input, from the plugin's escape spec. */
export function modeAt(spec: EscapeSpec, path: InputPath, input: Readonly<Record<string, unknown>> = {}): EscapeMode {
  if (typeof spec === 'string') return spec
  if (typeof spec === 'function') return spec(path, input)
  const field = path[0]
  if (typeof field === 'string' && Object.hasOwn(spec, field)) return spec[field] ?? 'none'
  return spec['*'] ?? 'none'
}
