/*
 * Masking by value, as CI systems mask secrets: every secret the config
 * resolves (webhook keys, the admin token, action credentials, URL passwords,
 * values taken from secret environment variables) is replaced by `***`
 * wherever it appears, whatever names it.
 */

/** Shorter values are not masked: `***` would eat ordinary words and numbers. */
export const MIN_SECRET_LENGTH = 6

let pattern: RegExp | undefined

/**
 * The secrets to mask from now on, replacing the previous set (a reload
 * rebuilds it). One alternation of escaped literals, longest first, so a text
 * is scanned once whatever the number of secrets.
 */
export function useSecretValues(values: Iterable<string>): void {
  const kept = new Set<string>()
  for (const v of values) if (typeof v === 'string' && v.trim().length >= MIN_SECRET_LENGTH) kept.add(v)
  const sorted = [...kept].sort((a, b) => b.length - a.length)
  pattern = sorted.length ? new RegExp(sorted.map(literal).join('|'), 'g') : undefined
}

/** `text` with every known secret value replaced by `***`. */
export function redactValues(text: string): string {
  if (!pattern || text.length < MIN_SECRET_LENGTH) return text
  return text.replace(pattern, '***')
}

function literal(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
}
