import { isSecretName } from './names.js'

// A URL in running text. The scheme is bounded, so a long run of letters costs linear time, not quadratic.
const URL_IN_TEXT = /[a-z][a-z0-9+.-]{0,31}:\/\/[^\s<>"'`|\\]+/gi

/** `text` with the credentials and secret-named parameters of every URL in it masked; most strings hold no `://`. */
export function redactLinks(text: string): string {
  if (!text.includes('://')) return text
  return text.replace(URL_IN_TEXT, (match) => {
    const end = urlEnd(match)
    return redactLink(match.slice(0, end)) + match.slice(end)
  })
}

/** The secrets a URL carries: its password (or lone user, a token) and its secret-named parameter values. */
export function urlSecrets(text: string): string[] {
  if (!text.includes('://')) return []
  const found: string[] = []
  for (const match of text.match(URL_IN_TEXT) ?? []) {
    const url = match.slice(0, urlEnd(match))
    const { authority, rest } = split(url)
    const at = authority.lastIndexOf('@')
    if (at >= 0) {
      const userinfo = authority.slice(0, at)
      const colon = userinfo.indexOf(':')
      found.push(colon >= 0 ? userinfo.slice(colon + 1) : userinfo)
    }
    for (const pair of rest.split(/[?#&]/)) {
      const eq = pair.indexOf('=')
      if (eq > 0 && isSecretName(pair.slice(0, eq))) found.push(pair.slice(eq + 1))
    }
  }
  return found.map(decode)
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

// Punctuation that ends a sentence or closes a bracket around a link is not part of it.
function urlEnd(match: string): number {
  let end = match.length
  while (end > 0 && ').,;:!?'.includes(match[end - 1]!)) end--
  return end
}

function split(url: string): { start: number; authority: string; rest: string } {
  const start = url.indexOf('://') + 3
  let end = start
  while (end < url.length && !'/?#'.includes(url[end]!)) end++
  return { start, authority: url.slice(start, end), rest: url.slice(end) }
}

function redactLink(url: string): string {
  const { start, authority, rest } = split(url)
  const at = authority.lastIndexOf('@')
  let out = url.slice(0, start)
  if (at >= 0) {
    const colon = authority.indexOf(':')
    out += colon >= 0 && colon < at ? `${authority.slice(0, colon)}:***` : '***'
  }
  out += authority.slice(Math.max(at, 0))
  const hash = rest.indexOf('#')
  const beforeHash = hash < 0 ? rest : rest.slice(0, hash)
  const query = beforeHash.indexOf('?')
  // The fragment too: OAuth puts `#access_token=…` there.
  const path = query < 0 ? beforeHash : `${beforeHash.slice(0, query)}?${maskParams(beforeHash.slice(query + 1))}`
  return out + path + (hash < 0 ? '' : `#${maskParams(rest.slice(hash + 1))}`)
}

function maskParams(params: string): string {
  if (!params.includes('=')) return params
  return params
    .split('&')
    .map((p) => {
      const eq = p.indexOf('=')
      return eq > 0 && eq < p.length - 1 && isSecretName(p.slice(0, eq)) ? `${p.slice(0, eq)}=[redacted]` : p
    })
    .join('&')
}
