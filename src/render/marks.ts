/**
 * Where the values are in a rendered string. Destinations whose rules depend
 * on the spot a value lands in (a URL path segment, a Slack link) render with
 * each value between two marks, then read the marks back. The marks are
 * Unicode noncharacters, never meant for interchange; they are taken out of
 * every value first, so a payload cannot forge the end of its own value.
 */
export const OPEN = '\uFDD0'
export const CLOSE = '\uFDD1'

const MARKS = /[\uFDD0\uFDD1]/g

export const unmarked = (text: string): string => (text.includes(OPEN) || text.includes(CLOSE) ? text.replace(MARKS, '') : text)

/** A value's text between marks. */
export const mark = (text: string): string => `${OPEN}${unmarked(text)}${CLOSE}`

/** Calls `author` for each run of the template's own text and `value` for each value, in order. */
export function readMarks(marked: string, author: (text: string) => void, value: (text: string) => void): void {
  let i = 0
  for (;;) {
    const open = marked.indexOf(OPEN, i)
    if (open === -1) break
    if (open > i) author(marked.slice(i, open))
    const close = marked.indexOf(CLOSE, open + 1)
    value(marked.slice(open + 1, close === -1 ? marked.length : close))
    if (close === -1) return
    i = close + 1
  }
  if (i < marked.length) author(marked.slice(i))
}
