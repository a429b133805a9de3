import { isSecretName } from './names.js'

/*
 * Secrets named inside running text: an argument, a string body, a program's
 * output. Each pattern starts only where a name starts (the lookbehinds) and
 * bounds the name, so one pass over the text is linear in its length.
 */
// `api_token=…&client_secret=…`, `--token=…`, `PASSWORD=…` in a form body, query string or output.
const PAIR = /(?<![\w.%[\]-])(-{0,2}[A-Za-z_][\w.%[\]-]{0,63})=([^&#\s"'<>|()[\]{},;]+)/g
// `--password hunter22` inside one string (a shell command, a log line).
const OPTION = /(?<![\w-])(--?[A-Za-z][\w-]{0,63})[ \t]+(?![-\s])([^\s"'&|]+)/g
// `Authorization: Bearer …`, `x-auth: …`: a header line whose value is one credential.
const HEADER =
  /(?<![\w-])([A-Za-z][\w-]{0,63})[ \t]*:[ \t]*((?:(?:bearer|basic|digest|token|bot)[ \t]+)?[^\s"',;]+)(?=[ \t]*(?:$|[\r\n"',;]))/gim
// A bearer credential anywhere, whatever names it.
const BEARER = /\b(bearer)[ \t]+[A-Za-z0-9._~+/-]{6,}=*/gi
const MASKED = new Set(['***', '[redacted]'])
// A plain word (`keys: rotated`, `--auth none`) is prose, not a credential: credentials mix in digits, capitals or symbols.
const WORD = /^[A-Za-z][a-z]*$/

/** `text` with every value named like a secret inside it replaced by `***`. */
export function redactNamed(text: string): string {
  let out = text
  if (out.includes('=')) out = out.replace(PAIR, (m, name: string, value: string) => mask(m, name, value, `${name}=***`))
  if (out.includes('-'))
    out = out.replace(OPTION, (m, name: string, value: string) => (WORD.test(value) ? m : mask(m, name, value, `${name} ***`)))
  if (out.includes(':'))
    out = out.replace(HEADER, (m, name: string, value: string) =>
      WORD.test(value) ? m : mask(m, name, value, m.slice(0, m.length - value.length) + '***'),
    )
  return out.replace(BEARER, '$1 ***')
}

function mask(match: string, name: string, value: string, masked: string): string {
  return isSecretName(name) && !MASKED.has(value) ? masked : match
}

/** An argument such as `--password` or `-token`: the argument after it is its value. */
export function isSecretOption(arg: unknown): boolean {
  return typeof arg === 'string' && /^--?[A-Za-z][\w-]{0,63}$/.test(arg) && isSecretName(arg)
}
