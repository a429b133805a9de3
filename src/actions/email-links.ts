/**
 * The URLs of a rendered email, checked after rendering whoever wrote the
 * template: `<a href="{{share.url}}">` in an author's own template passes a
 * payload's `javascript:` through HTML escaping untouched. Parsed with
 * htmlparser2 (entities decoded as a mail client would), never a regex.
 */
import { PermanentError } from '../errors.js'
import { truncate } from '../render/text.js'

// Attributes a mail client or browser follows or fetches.
const URL_ATTRIBUTES = new Set([
  'href',
  'src',
  'srcset',
  'action',
  'formaction',
  'background',
  'poster',
  'cite',
  'longdesc',
  'lowsrc',
  'dynsrc',
  'data',
  'codebase',
  'xlink:href',
  'manifest',
  'icon',
])
const SCHEMES = new Set(['http:', 'https:', 'mailto:'])

/** Empty and in-page (`#top`) links go nowhere; anything else must be an absolute http(s) or mailto URL. */
function allowed(value: string): boolean {
  // As URL parsers do: tabs and line breaks dropped, control characters and spaces trimmed.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it trims.
  const url = value.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '')
  if (url === '' || url.startsWith('#')) return true
  return URL.canParse(url) && SCHEMES.has(new URL(url).protocol)
}

const candidates = (name: string, value: string) =>
  name === 'srcset' ? value.split(',').map((c) => c.trim().split(/\s+/)[0] ?? '') : [value]

/** Throws a PermanentError naming the first URL attribute that is not http(s), mailto, empty or `#…`. */
export async function refuseUnsafeLinks(html: string): Promise<void> {
  // Loaded on first use: htmlparser2 costs start-up time an email-less config should not pay.
  const { Parser } = await import('htmlparser2')
  let tag = ''
  let refused: string | undefined
  const parser = new Parser({
    onopentagname: (name) => {
      tag = name
    },
    onattribute: (name, value) => {
      if (refused === undefined && URL_ATTRIBUTES.has(name) && !candidates(name, value).every(allowed)) {
        refused = `<${tag} ${name}=${JSON.stringify(truncate(value, 80))}>`
      }
    },
  })
  parser.write(html)
  parser.end()
  if (refused !== undefined) {
    throw new PermanentError(
      `email: the rendered HTML has ${refused}, which is not an http(s) or mailto URL; refused ` +
        '(build links from payload values with {{safeUrl …}})',
      { code: 'html_url_refused' },
    )
  }
}
