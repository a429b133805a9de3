import Handlebars from 'handlebars'
import { RunnerError } from '../errors.js'
import type { EscapeMode, EscapeSpec, InputPath } from '../types.js'
import { mark } from './marks.js'
import { slackTextPart } from './slack-text.js'
import { toText, urlencode } from './text.js'

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
 * A rendered value as text for its destination. In Slack, `& < >` are
 * escaped (https://api.slack.com/reference/surfaces/formatting#escaping;
 * escaping quotes there would show `&quot;` to readers) and formatting
 * markers neutralised (slack-text.ts). In a URL a value is one
 * component: it can add no `/`, `?`, `#` or `@`. SafeStrings were made safe on
 * purpose by a helper and are never escaped again.
 */
export function escapeValue(value: unknown, mode: EscapeMode): string {
  if (value instanceof Handlebars.SafeString) return value.toHTML()
  if (mode === 'url') return urlComponent(value)
  const text = toText(value)
  if (mode === 'html') return Handlebars.Utils.escapeExpression(text)
  if (mode === 'slack') return slackTextPart(text)
  return text
}

/**
 * A value between marks, for the destinations that place it by its spot
 * (`renderMarked`): in a URL encoded as one component (its segments are
 * checked once the URL is whole), in Slack as it is (its spot decides how it
 * is escaped). A SafeString in Slack is the helper's own markup, unmarked.
 */
export function markValue(value: unknown, mode: EscapeMode, raw: boolean): string {
  if (mode === 'url') return mark(raw ? rawText(value) : escapeValue(value, mode))
  if (mode === 'slack' && !raw && !(value instanceof Handlebars.SafeString)) return mark(toText(value))
  return raw ? rawText(value) : escapeValue(value, mode)
}

export const rawText = (value: unknown): string => (value instanceof Handlebars.SafeString ? value.toHTML() : toText(value))

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
