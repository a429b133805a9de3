import { z } from '../zod.js'
import { parseDuration } from '../duration.js'
import { PermanentError, RetryableError } from '../errors.js'
import { definePlugin } from '../plugin.js'
import { abortError } from './abort.js'
import { type HttpAnswer, httpRequest } from './http-client.js'
import { headerIssues, isHeaderValue, networkError, redactUrl, responseError } from './http-response.js'

const RESULT_BODY_BYTES = 2048
const GITHUB_API = 'https://api.github.com'

const settings = z.object({
  githubToken: z.string().optional().describe("Token for preset 'github-dispatch' when a step gives none, e.g. process.env.GITHUB_TOKEN."),
  apiUrl: z
    .union([z.url(), z.literal('')])
    .optional()
    .describe('GitHub API base URL for GitHub Enterprise or tests (default https://api.github.com).'),
})

const duration = z.union([z.number(), z.string()]).refine((v) => parseDuration(v) !== undefined, 'a duration such as 5000 or "10s"')

const input = z
  .object({
    preset: z
      .enum(['netlify', 'cloudflare-pages', 'vercel', 'github-dispatch'])
      .optional()
      .describe('Known target: build hooks (POST, no body) or GitHub repository_dispatch.'),
    url: z.string().optional().describe('Where to send the request, e.g. a build hook URL; checked when the step runs.'),
    method: z
      .string()
      .regex(/^[A-Za-z]+$/, 'an HTTP method such as POST')
      .toUpperCase()
      .default('POST')
      .describe('HTTP method (default POST).'),
    headers: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
      .superRefine((h, ctx) => {
        for (const i of headerIssues(h)) ctx.addIssue({ code: 'custom', path: [i.name], message: i.message })
      })
      .optional()
      .describe('Extra request headers.'),
    body: z
      .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])
      .optional()
      .describe('A string, or an object sent as JSON.'),
    expect: z.array(z.number().int().min(100).max(599)).optional().describe('Statuses counted as success (default: any 2xx).'),
    timeout: duration.optional().describe('Abort the request after this long (the step timeout still applies).'),
    followRedirects: z
      .enum(['same-origin', 'any', 'none'])
      .default('same-origin')
      .describe(
        "Redirects to follow: 'same-origin' (default), 'any' (another origin gets none of the step's headers), 'none' (3xx = answer).",
      ),
    repo: z
      .string()
      .regex(/^[\w.-]+\/[\w.-]+$/, "'owner/name'")
      .optional()
      .describe("github-dispatch: the repository, 'owner/name'."),
    token: z
      .string()
      .refine(isHeaderValue, 'a token without line breaks or control characters')
      .optional()
      .describe('github-dispatch: token with access to the repository (default: settings githubToken).'),
    event_type: z.string().optional().describe('github-dispatch: the event type your workflow listens for.'),
    client_payload: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('github-dispatch: data for the workflow (github.event.client_payload).'),
  })
  .superRefine((v, ctx) => {
    if (v.preset !== 'github-dispatch') return
    if (!v.repo) ctx.addIssue({ code: 'custom', path: ['repo'], message: "required with preset 'github-dispatch' ('owner/name')" })
    if (!v.event_type) ctx.addIssue({ code: 'custom', path: ['event_type'], message: "required with preset 'github-dispatch'" })
  })

type Settings = z.output<typeof settings>
type Input = z.output<typeof input>

interface Outgoing {
  method: string
  url: string
  /** The URL as logs and errors show it. */
  shown: string
  headers: Headers
  body?: string
  kind: 'json' | 'text' | 'none'
}

function githubDispatch(input: Input, settings: Settings, headers: Headers, strict: boolean): Outgoing {
  const token = input.token || settings.githubToken
  if (!token && strict) {
    throw new PermanentError(
      "preset 'github-dispatch' needs a token: set actions.http.githubToken (e.g. process.env.GITHUB_TOKEN) or with.token",
      { code: 'token_missing' },
    )
  }
  const url = `${(settings.apiUrl || GITHUB_API).replace(/\/+$/, '')}/repos/${input.repo ?? ''}/dispatches`
  headers.set('accept', 'application/vnd.github+json')
  headers.set('x-github-api-version', '2022-11-28')
  headers.set('content-type', 'application/json')
  if (token) headers.set('authorization', `Bearer ${token}`)
  const body = JSON.stringify({ event_type: input.event_type, client_payload: input.client_payload ?? {} })
  return { method: 'POST', url, shown: url, headers, body, kind: 'json' }
}

/** The request a step makes. `strict` (run) refuses what `preview` only describes. */
function outgoing(input: Input, settings: Settings, strict: boolean): Outgoing {
  const headers = new Headers(input.headers)
  if (!headers.has('user-agent')) headers.set('user-agent', 'audiorista-runner')
  if (input.preset === 'github-dispatch') return githubDispatch(input, settings, headers, strict)

  const raw = input.url?.trim() ?? ''
  let url: URL | undefined
  try {
    url = raw ? new URL(raw) : undefined
  } catch {}
  if (strict && !raw)
    throw new PermanentError('url rendered empty; give the step a url (e.g. process.env.BUILD_HOOK_URL)', { code: 'url_empty' })
  if (strict && (!url || !/^https?:$/.test(url.protocol)))
    throw new PermanentError('url is not a valid http(s) URL', { code: 'url_invalid' })
  if (input.body !== undefined && (input.method === 'GET' || input.method === 'HEAD')) {
    throw new PermanentError(`a ${input.method} request cannot have a body`, { code: 'body_not_allowed' })
  }
  let body: string | undefined
  let kind: Outgoing['kind'] = 'none'
  if (typeof input.body === 'string') {
    body = input.body
    kind = 'text'
  } else if (input.body !== undefined) {
    body = JSON.stringify(input.body)
    kind = 'json'
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  }
  const shown = url ? redactUrl(url) : raw ? '(invalid url)' : '(url rendered empty)'
  return { method: input.method, url: url?.href ?? raw, shown, headers, ...(body === undefined ? {} : { body }), kind }
}

/** `outgoing` for a real request. Headers throws on a bad value (a settings token with a newline): that will not change on a retry. */
function sendable(input: Input, settings: Settings): Outgoing {
  try {
    return outgoing(input, settings, true)
  } catch (err) {
    if (!(err instanceof TypeError) || !/header/i.test(err.message)) throw err
    // Its message quotes the value, which may be a token: say which kind of problem, not what.
    const message = 'http: a header the step or its preset sets has a line break or a character a header cannot carry'
    throw new PermanentError(message, { code: 'header_invalid' })
  }
}

export default definePlugin<Input, Settings>({
  name: 'http',
  description: 'Send an HTTP request: build hooks (Netlify, Cloudflare Pages, Vercel), GitHub repository_dispatch, any API.',
  settings,
  input,
  // A value in the url is one component (no new path segment, query or host); a lone `{{x}}` in a
  // JSON body keeps its type; headers and string bodies are the author's own text.
  escape: { url: 'url', body: 'json', client_payload: 'json', '*': 'none' },
  async run(input, ctx) {
    const req = sendable(input, ctx.settings)
    req.headers.set('idempotency-key', ctx.runId) // stable across retries, so receivers can drop repeats
    const what = `http: ${req.method} ${req.shown}`
    const timeout = input.timeout === undefined ? undefined : parseDuration(input.timeout)
    const signal = timeout === undefined ? ctx.signal : AbortSignal.any([ctx.signal, AbortSignal.timeout(timeout)])
    let res: HttpAnswer
    try {
      const { method, headers, body } = req
      const options = { method, headers, signal, limit: RESULT_BODY_BYTES, followRedirects: input.followRedirects }
      res = await httpRequest(req.url, body === undefined ? options : { ...options, body })
    } catch (err) {
      if (err instanceof PermanentError) throw new PermanentError(`${what}: ${err.message}`, { code: err.code, cause: err })
      if (ctx.signal.aborted) throw abortError(ctx.signal, what)
      if (signal.aborted) throw new RetryableError(`${what} timed out after ${timeout}ms`, { code: 'timeout' })
      throw networkError(err, what)
    }
    const ok = input.expect ? input.expect.includes(res.status) : res.status >= 200 && res.status < 300
    const unfollowed = input.followRedirects === 'none' && res.headers.has('location') && res.status >= 300 && res.status < 400
    const note = unfollowed ? `a redirect, not followed with followRedirects: 'none'; list ${res.status} in expect to accept it` : ''
    if (!ok) throw responseError(res, what, res.text, note)
    return { status: res.status, body: res.text }
  },
  preview(input, ctx) {
    const req = outgoing(input, ctx.settings, false)
    const body = req.body === undefined ? 'no body' : `${req.kind} body ${Buffer.byteLength(req.body)} bytes`
    return `${req.method} ${req.shown} (${body})${req.body ? `\n${req.body}` : ''}`
  },
})
