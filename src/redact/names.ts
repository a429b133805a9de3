// Field names (at any depth, any case) whose values are masked whole.
const SECRET_KEY =
  /token|passw|secret|authorization|api[-_]?key|^key$|x-audiorista-key|cookie|signature|credential|(?:private|access)[-_]?key/i
const SECRET_SHORT_KEY = /^(?:sig|auth|pass)$|[-_](?:sig|key)$/i
// Words that make a name secret, alone or with a prefix: `token`, `trigger_token`, `X-Amz-Signature`, `apiKey`, `x-pat`.
const SECRET_WORDS = new Set(
  'key keys apikey sig signature auth authorization pass pwd credential credentials session sid jwt hmac pat'.split(' '),
)
const SECRET_WORD_END = /(?:token|secret|passwd|password)s?$/

/**
 * Headers whose values are shown as they are; every other header value is
 * masked, so a custom credential header (`x-auth`, `x-pat`, a vendor's JWT)
 * needs no entry in a list of secret names.
 */
export const SHOWN_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'content-encoding',
  'content-language',
  'content-length',
  'content-type',
  'date',
  'etag',
  'expires',
  'idempotency-key',
  'last-modified',
  'location',
  'retry-after',
  'user-agent',
  'vary',
  'x-github-api-version',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'x-request-id',
])

/** A field whose value is masked whole, wherever it is. */
export function isSecretField(name: string): boolean {
  return SECRET_KEY.test(name) || SECRET_SHORT_KEY.test(name)
}

/** A parameter, option or header name made of a secret word: `client_secret`, `--password`, `x-goog-iap-jwt-assertion`. */
export function isSecretName(raw: string): boolean {
  // Most names hold none of the words: one cheap test keeps a text of many pairs linear with a small constant.
  if (!MAY_BE_SECRET.test(raw)) return false
  const known = seen.get(raw)
  if (known !== undefined) return known
  if (seen.size > 1000) seen.clear()
  const secret = hasSecretWord(raw)
  seen.set(raw, secret)
  return secret
}
const MAY_BE_SECRET = /key|sig|auth|pas|pwd|cred|sess|sid|jwt|hmac|pat|token|secret|%/i
const seen = new Map<string, boolean>()

function hasSecretWord(raw: string): boolean {
  let name = raw
  try {
    name = decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {}
  // `apiKey` → api key; `x_token`, `X-Amz-Signature`, and `amp;token` (a Slack-escaped `&amp;`) → their words.
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
  return words.some((w) => SECRET_WORDS.has(w) || SECRET_WORD_END.test(w))
}

/** An environment variable whose value is a secret: `GITHUB_TOKEN`, `SMTP_PASSWORD`, `SLACK_BOT_TOKEN`; not `PATH` or `PWD`. */
export function isSecretEnvName(name: string): boolean {
  const words = name.toLowerCase().split(/[^a-z0-9]+/)
  return words.some((w) => ENV_WORDS.has(w) || /(?:token|secret|passwd|password|apikey)$/.test(w))
}
const ENV_WORDS = new Set('token secret password passwd pass key pat auth credential credentials private apikey dsn jwt sig'.split(' '))
