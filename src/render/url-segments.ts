/**
 * A path segment rendered from a value is one segment: it may not be empty,
 * `.` or `..`, however it was produced (`{{id}}`, `{{urlencode id}}`, a raw
 * `{{{id}}}`, several values side by side). WHATWG URLs read `%2e` as a dot
 * and `\` as `/` in http(s) paths, so both count here too.
 */
import { ValueRefused } from './escape.js'
import { CLOSE, OPEN, unmarked } from './marks.js'

/** Where the path of a marked URL starts: after `scheme://authority`, or at 0 for a URL without one. */
function pathStart(marked: string, end: number): number {
  const scheme = marked.indexOf('://')
  if (scheme === -1 || scheme > end) return 0
  const slash = marked.slice(scheme + 3, end).search(/[/\\]/)
  return slash === -1 ? end : scheme + 3 + slash
}

function queryStart(marked: string): number {
  const found = marked.search(/[?#]/)
  return found === -1 ? marked.length : found
}

/** The URL without its marks; refused when a segment that holds a value is empty or a dot segment. */
export function checkedUrl(marked: string, path: string): string {
  const plain = unmarked(marked)
  if (plain === marked) return plain
  const end = queryStart(marked)
  const start = pathStart(marked, end)
  // Before a leading `/` is no segment; a URL without one (a relative template) starts with one.
  const first = marked[start] === '/' || marked[start] === '\\' ? 1 : 0
  const segments = marked.slice(start, end).split(/[/\\]/)
  // A raw value can hold `/` itself: a segment wholly inside a value has no mark of its own.
  let inside = marked.lastIndexOf(OPEN, start) > marked.lastIndexOf(CLOSE, start)
  for (const [i, segment] of segments.entries()) {
    const fromValue = inside || segment.includes(OPEN) || segment.includes(CLOSE)
    const opened = segment.lastIndexOf(OPEN)
    const closed = segment.lastIndexOf(CLOSE)
    if (opened !== -1 || closed !== -1) inside = opened > closed
    if (i < first || !fromValue) continue
    // Tabs and line breaks are dropped by URL parsers before anything else.
    const text = unmarked(segment).replace(/[\t\n\r]/g, '')
    const dots = text.replace(/%2e/gi, '.')
    if (dots === '') {
      throw new ValueRefused('url_segment_empty', `${path}: a template value left path segment ${i} empty; refused`, path)
    }
    if (dots === '.' || dots === '..') {
      throw new ValueRefused(
        'url_segment_dots',
        `${path}: path segment ${i} rendered from a template value is "${text}", a dot segment that would climb the path; refused`,
        path,
      )
    }
  }
  return plain
}
