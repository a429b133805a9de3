/**
 * One pass over HTML-ish text, for `stripHtml` and the email text fallback.
 * Linear by construction: every character is looked at a bounded number of
 * times. A regex such as `<[a-z][^>]*>` is not: on `<p<p<p…` with no `>`, it
 * scans to the end from every `<` (150 KB took 15 s). Here the position of the
 * next `>` is found once and reused by every `<` before it, and once there is
 * none, none is looked for again.
 */

/** A tag as written: `<a href="x">` is `{ name: 'a', closing: false, body: 'a href="x"' }`. */
export interface HtmlTag {
  /** Lowercased, '' for comments and `<!…>`/`<?…>` declarations. */
  name: string
  closing: boolean
  /** What is between `<` and `>`. */
  body: string
}

export interface HtmlVisitor {
  text(text: string): void
  /** Returns where to go on (to skip a `<style>`'s content), or nothing to go on after the tag. */
  tag(tag: HtmlTag, after: number): number | undefined
}

const isLetter = (code: number) => (code >= 65 && code <= 90) || (code >= 97 && code <= 122)
const isNameChar = (code: number) => isLetter(code) || (code >= 48 && code <= 57)

/** Where a tag that starts at `<` (index `i`) has its name, or -1 when this `<` is text. */
function nameStart(html: string, i: number): number {
  const next = html.charCodeAt(i + 1)
  if (isLetter(next)) return i + 1
  // `</p>`, `<!doctype>`, `<?xml>`, and comments `<!--`.
  if ((next === 47 || next === 33 || next === 63) && isLetter(html.charCodeAt(i + 2))) return i + 2
  return html.startsWith('<!--', i) ? i + 4 : -1
}

function readTag(html: string, i: number, start: number, end: number): HtmlTag {
  let stop = start
  while (stop < end && isNameChar(html.charCodeAt(stop))) stop++
  const kind = html.charCodeAt(i + 1)
  const name = kind === 33 || kind === 63 ? '' : html.slice(start, stop).toLowerCase()
  return { name, closing: kind === 47, body: html.slice(i + 1, end) }
}

export function scanHtml(html: string, visit: HtmlVisitor): void {
  let gt = -2 // the next `>` at or after the current position; -1: there is none left
  let from = 0
  let i = html.indexOf('<')
  while (i !== -1) {
    const start = nameStart(html, i)
    if (start === -1) {
      i = html.indexOf('<', i + 1)
      continue
    }
    if (gt < start) gt = html.indexOf('>', start)
    // No `>` left: nothing after this is a tag.
    if (gt === -1) break
    if (i > from) visit.text(html.slice(from, i))
    from = visit.tag(readTag(html, i, start, gt), gt + 1) ?? gt + 1
    i = html.indexOf('<', from)
  }
  if (from < html.length) visit.text(html.slice(from))
}

/**
 * `</name` at or after `from`, case-insensitively, or -1. Each search goes on
 * from where the last one stopped, so a document of unclosed `<style>`s is
 * still one pass: `memo` keeps the last answer per name.
 */
export function findCloser(html: string, name: string, from: number, memo: Map<string, number>): number {
  const known = memo.get(name)
  if (known !== undefined && (known === -1 || known >= from)) return known
  const pattern = new RegExp(`</${name}`, 'gi')
  pattern.lastIndex = from
  const at = pattern.exec(html)?.index ?? -1
  memo.set(name, at)
  return at
}

/** The value of attribute `name` in a tag's body (quoted or bare), or undefined. One pass over the body. */
export function attribute(body: string, name: string): string | undefined {
  // ASCII only, so that indexes in `lower` are indexes in `body`.
  const lower = body.replace(/[A-Z]/g, (c) => c.toLowerCase())
  let at = lower.indexOf(name)
  while (at !== -1) {
    const before = lower.charCodeAt(at - 1)
    let j = at + name.length
    while (lower.charCodeAt(j) === 32 || lower.charCodeAt(j) === 9 || lower.charCodeAt(j) === 10) j++
    if ((before === 32 || before === 9 || before === 10) && lower[j] === '=') return attributeValue(body, j + 1)
    at = lower.indexOf(name, at + name.length)
  }
  return undefined
}

function attributeValue(body: string, from: number): string {
  let j = from
  while (body.charCodeAt(j) === 32 || body.charCodeAt(j) === 9 || body.charCodeAt(j) === 10) j++
  const quote = body[j]
  if (quote === '"' || quote === "'") {
    const end = body.indexOf(quote, j + 1)
    return body.slice(j + 1, end === -1 ? body.length : end)
  }
  let end = j
  while (end < body.length && !/\s/.test(body[end]!)) end++
  return body.slice(j, end)
}
