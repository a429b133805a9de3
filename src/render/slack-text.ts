/**
 * Slack text by Slack's rules for the spot a value lands in
 * (https://api.slack.com/reference/surfaces/formatting):
 * - everywhere, `& < >` become `&amp; &lt; &gt;`: no mention, link or `<!channel>`;
 * - in the URL of a link the template writes (`<{{url}}|Listen>`), `| < >`,
 *   spaces and control characters are percent-encoded: the value can neither
 *   end the URL nor pick the label;
 * - elsewhere (text, a link's label) the formatting markers `* _ ~ \``, which
 *   Slack cannot escape, get a COMBINING GRAPHEME JOINER (U+034F) on each
 *   side. Slack opens bold, italics, strike or code only at a marker whose
 *   left neighbour is a boundary (start, whitespace, ASCII punctuation, or
 *   the General Punctuation block U+2000-U+206F, where the zero-width space
 *   and joiners live: they would *enable* formatting) and closes only at one
 *   whose right neighbour is one. U+034F is none of those and is invisible,
 *   so a value's marker can neither open nor close, and reads the same.
 *   Inside a URL in a value (`https://x.example/a_b`) the markers are
 *   percent-encoded instead, so the link still works.
 * The template's own text (its `*bold*`, its `<url|label>`) is left alone.
 */
import { readMarks } from './marks.js'

const JOINER = '\u034F'
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' }
const URL_MARKER: Record<string, string> = { '*': '%2A', _: '%5F', '~': '%7E', '`': '%60' }
const isMarker = (ch: string) => ch === '*' || ch === '_' || ch === '~' || ch === '`'
const isSpace = (code: number) => code <= 32 || code === 127
const isWordChar = (code: number) => (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122)

/** Where a URL starting at `i` ends (at whitespace or `< >`), or -1 when no URL starts there. */
function urlEnd(text: string, i: number): number {
  if (i > 0 && isWordChar(text.charCodeAt(i - 1))) return -1
  const head = text.slice(i, i + 8).toLowerCase()
  if (!head.startsWith('http://') && !head.startsWith('https://') && !head.startsWith('mailto:')) return -1
  let end = i
  while (end < text.length && !isSpace(text.charCodeAt(end)) && text[end] !== '<' && text[end] !== '>') end++
  return end
}

/** A value where Slack reads text (or a link's label): escaped, markers inert. One pass. */
export function slackTextPart(text: string): string {
  let out = ''
  let from = 0
  let urlUntil = -1
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (i >= urlUntil && (ch === 'h' || ch === 'H' || ch === 'm' || ch === 'M')) urlUntil = Math.max(urlUntil, urlEnd(text, i))
    let swap: string | undefined
    if (ch === '&' || ch === '<' || ch === '>') swap = ENTITY[ch]
    else if (isMarker(ch)) swap = i < urlUntil ? URL_MARKER[ch] : `${JOINER}${ch}${JOINER}`
    if (swap === undefined) continue
    out += text.slice(from, i) + swap
    from = i + 1
  }
  return from === 0 ? text : out + text.slice(from)
}

/** A value inside the URL of a link: it cannot end the URL, start the label or close the link. */
export function slackUrlPart(text: string): string {
  let out = ''
  let from = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    const code = text.charCodeAt(i)
    let swap: string | undefined
    if (ch === '&') swap = '&amp;'
    else if (ch === '|' || ch === '<' || ch === '>' || isSpace(code)) swap = `%${code.toString(16).toUpperCase().padStart(2, '0')}`
    if (swap === undefined) continue
    out += text.slice(from, i) + swap
    from = i + 1
  }
  return from === 0 ? text : out + text.slice(from)
}

type Spot = 'text' | 'url' | 'label'

/** The spot after the template's own text: `<` opens a link's URL, `|` starts its label, `>` ends it. */
function follow(author: string, spot: Spot): Spot {
  let now = spot
  for (let i = 0; i < author.length; i++) {
    const ch = author[i]
    if (ch === '<') now = 'url'
    else if (ch === '|' && now === 'url') now = 'label'
    else if (ch === '>') now = 'text'
  }
  return now
}

/** A Slack text rendered with marked values (marks.ts), each value made safe for its spot. */
export function slackText(marked: string): string {
  let out = ''
  let spot: Spot = 'text'
  readMarks(
    marked,
    (author) => {
      out += author
      spot = follow(author, spot)
    },
    (value) => {
      out += spot === 'url' ? slackUrlPart(value) : slackTextPart(value)
    },
  )
  return out
}
