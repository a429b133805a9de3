import Handlebars from 'handlebars'
import type { EscapeMode } from '../types.js'
import { toText } from './text.js'

const SLACK_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' }
const SLACK_SPECIAL = /[&<>]/g

/**
 * A rendered value as text for its destination. Slack only reserves `& < >`
 * (https://api.slack.com/reference/surfaces/formatting#escaping): escaping
 * quotes there would show `&quot;` to readers. SafeStrings were made safe on
 * purpose by a helper and are never escaped again.
 */
export function escapeValue(value: unknown, mode: EscapeMode): string {
  if (value instanceof Handlebars.SafeString) return value.toHTML()
  const text = toText(value)
  if (mode === 'html') return Handlebars.Utils.escapeExpression(text)
  if (mode === 'slack') return text.replace(SLACK_SPECIAL, (ch) => SLACK_ENTITIES[ch] ?? ch)
  return text
}

/** The mode of one top-level input field: its own entry, else `'*'`, else none. */
export function modeFor(escape: EscapeMode | Record<string, EscapeMode>, field: string | undefined): EscapeMode {
  if (typeof escape === 'string') return escape
  if (field !== undefined && Object.hasOwn(escape, field)) return escape[field] ?? 'none'
  return escape['*'] ?? 'none'
}
