/**
 * Pure text functions behind the template helpers. Each one is total: odd
 * input gives an empty or unchanged string, never an exception, because a
 * payload field that is missing or of an unexpected type must not fail a run.
 * Each one is linear in its input (a payload value can be a megabyte).
 */
import { scanHtml } from './html-scan.js'

/** Any value as text: null and undefined are empty. */
export function toText(value: unknown): string {
  if (value == null) return ''
  if (typeof value === 'string') return value
  try {
    return String(value)
  } catch {
    // Objects without a prototype have no toString.
    return ''
  }
}

/** A finite number from a number or a numeric string, else undefined. */
export function toNumber(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN
  return Number.isFinite(n) ? n : undefined
}

/** The UTF-16 index after the first `count` code points of `text`, or -1 when it has no more than `count`. */
function codePointEnd(text: string, count: number): number {
  let i = 0
  for (let n = 0; n < count; n++) {
    if (i >= text.length) return -1
    const high = text.charCodeAt(i)
    const low = text.charCodeAt(i + 1)
    i += high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff ? 2 : 1
  }
  return i < text.length ? i : -1
}

/** At most `length` characters including the suffix; code points are never split. Reads only what it keeps. */
export function truncate(text: string, length: number, suffix = '…'): string {
  if (!Number.isFinite(length) || length < 0) return text
  const limit = Math.floor(length)
  if (codePointEnd(text, limit) === -1) return text
  // A suffix of the limit or longer is cut there, never read whole: a megabyte of suffix took 30 ms to count.
  const suffixEnd = codePointEnd(suffix, limit)
  if (suffixEnd !== -1) return suffix.slice(0, suffixEnd)
  const tail = Array.from(suffix).length
  if (tail >= limit) return suffix
  return text.slice(0, codePointEnd(text, limit - tail)).trimEnd() + suffix
}

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']

/**
 * 1024-based size: `512 B`, `1.5 KB`, `28 MB`. One decimal below 10 (where it
 * tells something), none above, and no `.0`.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return ''
  let n = bytes
  let unit = 0
  while (n >= 1024 && unit < SIZE_UNITS.length - 1) {
    n /= 1024
    unit++
  }
  if (unit === 0) return `${Math.round(n)} B`
  // 1023.7 KB would print as "1024 KB": move up a unit instead.
  if (Math.round(n) >= 1024 && unit < SIZE_UNITS.length - 1) {
    n /= 1024
    unit++
  }
  const text = n < 10 ? n.toFixed(1).replace(/\.0$/, '') : String(Math.round(n))
  return `${text} ${SIZE_UNITS[unit]}`
}

const LOCAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/

/** A Date from an ISO string, epoch milliseconds or a Date; undefined when invalid. */
export function toDate(value: unknown): Date | undefined {
  // No date is longer; Date's parser would read a megabyte of text for nothing.
  if (typeof value === 'string' && value.length > 64) return undefined
  let date: Date | undefined
  if (value instanceof Date) date = value
  else if (typeof value === 'number') date = new Date(value)
  else if (typeof value === 'string' && /^\d+$/.test(value.trim())) date = new Date(Number(value))
  // A zoneless ISO time would be read in the server's zone; templates work in UTC.
  else if (typeof value === 'string') date = new Date(LOCAL_ISO.test(value.trim()) ? `${value.trim()}Z` : value)
  return date && Number.isFinite(date.getTime()) ? date : undefined
}

const DATE_TOKENS = /YYYY|MM|DD|HH|mm|ss/g

/** A date format is a few tokens and separators: a longer one is not a format (and would be work per token), and renders empty. */
const MAX_FORMAT = 100

/** `YYYY`, `MM`, `DD`, `HH`, `mm`, `ss` in UTC; `'iso'` gives the full ISO string. */

export function formatDate(date: Date, format = 'YYYY-MM-DD'): string {
  if (format === 'iso') return date.toISOString()
  if (format.length > MAX_FORMAT) return ''
  const pad = (n: number) => String(n).padStart(2, '0')
  const parts: Record<string, string> = {
    YYYY: String(date.getUTCFullYear()),
    MM: pad(date.getUTCMonth() + 1),
    DD: pad(date.getUTCDate()),
    HH: pad(date.getUTCHours()),
    mm: pad(date.getUTCMinutes()),
    ss: pad(date.getUTCSeconds()),
  }
  return format.replace(DATE_TOKENS, (token) => parts[token] ?? token)
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' }
// Bounded runs: an entity is short, so a long run of letters after `&` is never scanned twice.
const ENTITY = /&(#\d{1,8}|#x[0-9a-f]{1,8}|[a-z]{1,31});/gi

/** Decodes the basic named entities and numeric ones in a single pass (no double decoding). */
export function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, name: string) => {
    if (name[0] !== '#') return ENTITIES[name.toLowerCase()] ?? whole
    const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10)
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole
  })
}

// Block-level tags separate words; inline ones (`<b>`) must not add a space.
export const BLOCK_TAGS = new Set(
  'p div br hr li ul ol h1 h2 h3 h4 h5 h6 tr td th table blockquote section article header footer pre'.split(' '),
)

/** Plain text of an HTML fragment: tags removed, basic entities decoded, whitespace collapsed. One pass. */
export function stripHtml(html: string): string {
  const parts: string[] = []
  scanHtml(html, {
    text: (text) => parts.push(text),
    tag: (tag) => {
      if (BLOCK_TAGS.has(tag.name)) parts.push(' ')
      return undefined
    },
  })
  return decodeEntities(parts.join('')).replace(/\s+/g, ' ').trim()
}

/** encodeURIComponent that cannot throw (a lone surrogate becomes U+FFFD). */
export function urlencode(text: string): string {
  return encodeURIComponent((text as string & { toWellFormed(): string }).toWellFormed())
}

const LINK_PROTOCOLS = new Set(['http:', 'https:', 'mailto:'])

/** An http, https or mailto URL, normalised; anything else (`javascript:`, relative, garbage) is ''. */
export function safeUrl(value: unknown): string {
  const text = toText(value).trim()
  let url: URL
  try {
    url = new URL(text)
  } catch {
    // Not a URL: relative, or garbage.
    return ''
  }
  return LINK_PROTOCOLS.has(url.protocol) ? url.href : ''
}
