import { attribute, findCloser, type HtmlTag, scanHtml } from '../render/html-scan.js'
import { decodeEntities } from '../render/text.js'

// Their content is not text a reader should see.
const HIDDEN = new Set(['style', 'script', 'head'])
// Closing one of these ends a paragraph.
const PARAGRAPH = new Set(['p', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'tr', 'table', 'blockquote'])

interface Link {
  href: string
  label: string[]
}

/**
 * A plain-text version of an email's HTML, for clients that show no HTML and
 * for spam filters, which dislike HTML-only mail. Unlike the `stripHtml`
 * helper (one line, for Slack and subjects) it keeps paragraphs and link
 * targets. One pass (html-scan.ts): the HTML can hold a megabyte of payload.
 */
export function htmlToText(html: string): string {
  const out: string[] = []
  const closers = new Map<string, number>()
  let link: Link | undefined
  scanHtml(html, {
    text: (text) => (link ? link.label : out).push(text),
    tag(tag, after) {
      if (link) {
        if (tag.closing && tag.name === 'a') {
          out.push(linkText(link))
          link = undefined
        }
        return undefined
      }
      if (HIDDEN.has(tag.name) && !tag.closing) {
        const end = findCloser(html, tag.name, after, closers)
        if (end !== -1) return closeOf(html, end)
      }
      link = openLink(tag)
      out.push(separator(tag))
      return undefined
    },
  })
  // An `<a>` never closed: its text stays, as text.
  if (link) out.push(...link.label)
  return tidyLines(decodeEntities(out.join('')))
}

function openLink(tag: HtmlTag): Link | undefined {
  if (tag.name !== 'a' || tag.closing) return undefined
  const href = attribute(tag.body, 'href')
  return href ? { href, label: [] } : undefined
}

function linkText({ href, label }: Link): string {
  const shown = label.join('').trim()
  return shown && shown !== href ? `${shown} (${href})` : href
}

/** What a tag leaves in the text: a line break, a list bullet, a paragraph break, or nothing. */
function separator({ name, closing }: HtmlTag): string {
  if (name === 'br' && !closing) return '\n'
  if (name === 'li' && !closing) return '\n- '
  return closing && PARAGRAPH.has(name) ? '\n\n' : ''
}

/** The index after the `>` of the closing tag that starts at `at`. */
function closeOf(html: string, at: number): number {
  const gt = html.indexOf('>', at)
  return gt === -1 ? html.length : gt + 1
}

/** Spaces and tabs before a line break dropped, at most one empty line in a row, trimmed. */
function tidyLines(text: string): string {
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    let end = line.length
    while (end > 0 && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--
    if (end < line.length) lines[i] = line.slice(0, end)
  }
  return lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}
