import { decodeEntities } from '../render/text.js'

/**
 * A plain-text version of an email's HTML, for clients that show no HTML and
 * for spam filters, which dislike HTML-only mail. Unlike the `stripHtml`
 * helper (one line, for Slack and subjects) it keeps paragraphs and link targets.
 */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<(style|script|head)\b[\s\S]*?<\/\1>/gi, '')
    .replace(/<a\b[^>]*\bhref\s*=\s*["']([^"']+)["'][^>]*>([\s\S]*?)<\/a>/gi, (_, href: string, label: string) => {
      const shown = label.replace(/<[^>]+>/g, '').trim()
      return shown && shown !== href ? `${shown} (${href})` : href
    })
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n- ')
    .replace(/<\/(p|div|h[1-6]|ul|ol|tr|table|blockquote)>/gi, '\n\n')
    .replace(/<[^>]+>/g, '')
  return decodeEntities(text)
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}
