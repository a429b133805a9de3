import type { WebClient } from '@slack/web-api'
import { z } from '../zod.js'
import { PermanentError, RetryableError, RunnerError } from '../errors.js'
import { definePlugin } from '../plugin.js'
import type { EscapeMode, InputPath } from '../types.js'
import { abortError, raceAbort } from './abort.js'
import { networkError, readText, responseError } from './http-response.js'

const optionalUrl = z.union([z.url(), z.literal('')]).optional()

const settings = z.object({
  token: z.string().optional().describe('Bot token (xoxb-…) with the chat:write scope, e.g. process.env.SLACK_BOT_TOKEN.'),
  apiUrl: optionalUrl.describe('Web API base URL, for tests and proxies (default https://slack.com/api/).'),
  webhookUrl: optionalUrl.describe("Incoming webhook URL: posts to the webhook's own channel, no token needed."),
})

const input = z
  .object({
    channel: z.string().optional().describe('Channel name (#releases) or ID; required unless posting through webhookUrl.'),
    text: z.string().optional().describe('Message text (mrkdwn); the notification text when blocks are given.'),
    blocks: z.array(z.record(z.string(), z.unknown())).optional().describe('Block Kit blocks.'),
    thread_ts: z.string().optional().describe('Reply in this thread, e.g. {{steps.announce.ts}}.'),
    unfurl_links: z.boolean().optional().describe('Show previews of links in the text.'),
  })
  .refine((v) => Boolean(v.text?.trim()) || Boolean(v.blocks?.length), { path: ['text'], message: 'text or blocks is required' })

type Settings = z.output<typeof settings>
type Input = z.output<typeof input>

/** Block Kit fields that hold a URL, not text: a value there is a URL component, never a link or mention. */
const URL_FIELDS = new Set(['url', 'image_url', 'thumbnail_url', 'video_url', 'title_url', 'author_icon'])

/** `text` and every text in `blocks` escape `& < >`, so a payload cannot ping `<!channel>` or add a link. */
function escapeFor(path: InputPath): EscapeMode {
  const [field] = path
  if (field === 'text') return 'slack'
  if (field !== 'blocks') return 'none'
  return URL_FIELDS.has(String(path[path.length - 1])) ? 'url' : 'slack'
}

/** Slack errors that may clear up by themselves; every other `ok:false` error needs a person. */
const TRANSIENT = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org'])

const HINTS: Record<string, string> = {
  channel_not_found: 'check the channel name or ID; a private channel must invite the bot',
  not_in_channel: 'invite the bot to the channel (/invite @your-bot)',
  is_archived: 'the channel is archived',
  invalid_auth: 'check actions.slack.token',
  not_authed: 'check actions.slack.token',
  token_revoked: 'the token was revoked; set a new actions.slack.token',
  account_inactive: 'the token belongs to a deactivated bot or user',
  missing_scope: 'give the app the chat:write scope and reinstall it',
  msg_too_long: 'shorten the text',
  no_text: 'the text rendered empty',
}

// One client per token and API URL: it keeps its HTTP agent and request queue.
const clients = new Map<string, Promise<WebClient>>()

function client(token: string, apiUrl: string | undefined): Promise<WebClient> {
  const key = `${token}\n${apiUrl ?? ''}`
  let found = clients.get(key)
  if (!found) {
    // Loaded on first use: @slack/web-api (axios and all) is too heavy for start-up.
    found = import('@slack/web-api').then(({ WebClient, LogLevel }) => {
      const quiet = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, setName() {}, getLevel: () => LogLevel.ERROR }
      // The runner retries with backoff and records each attempt, so the client must not retry on its own.
      return new WebClient(token, { slackApiUrl: apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: quiet })
    })
    found.catch(() => clients.delete(key))
    clients.set(key, found)
  }
  return found
}

interface SlackFailure {
  code?: string
  message?: string
  data?: { error?: string; response_metadata?: { retryAfter?: number } }
  retryAfter?: number
  statusCode?: number
  original?: unknown
}

/** Map what @slack/web-api throws onto the runner's two kinds of failure. */
function slackError(err: unknown, where: string, token: string): RunnerError {
  if (err instanceof RunnerError) return err
  const e = (err ?? {}) as SlackFailure
  const redact = (s: string) => s.split(token).join('[token]')
  switch (e.code) {
    case 'slack_webapi_platform_error': {
      const code = e.data?.error ?? 'unknown_error'
      const hint = HINTS[code]
      const message = `slack: chat.postMessage ${where} failed: ${code}${hint ? ` (${hint})` : ''}`
      if (!TRANSIENT.has(code)) return new PermanentError(message, { code })
      const retryAfter = e.data?.response_metadata?.retryAfter
      return new RetryableError(message, retryAfter === undefined ? { code } : { code, retryAfter: retryAfter * 1000 })
    }
    case 'slack_webapi_rate_limited_error':
      return new RetryableError(`slack: rate limited ${where}; retry in ${e.retryAfter}s`, {
        code: 'rate_limited',
        retryAfter: (e.retryAfter ?? 1) * 1000,
      })
    case 'slack_webapi_http_error': {
      const status = e.statusCode ?? 0
      const message = `slack: the Web API answered ${status} ${where}`
      return status >= 500 || status === 408
        ? new RetryableError(message, { code: `http_${status}` })
        : new PermanentError(message, { code: `http_${status}` })
    }
    case 'slack_webapi_request_error': {
      // Not attached as a cause: the axios error holds the request headers, token included.
      const original = (e.original ?? {}) as { code?: string; message?: string }
      return new RetryableError(
        `slack: chat.postMessage ${where} failed: ${redact(original.code ?? original.message ?? 'request error')}`,
        { code: 'network' },
      )
    }
    default:
      return new RetryableError(`slack: ${redact(e.message ?? String(err))}`)
  }
}

async function postWebhook(url: string, input: Input, signal: AbortSignal): Promise<{ channel: string | null; ts: string | null }> {
  const { text, blocks, thread_ts, unfurl_links } = input
  const what = 'slack: incoming webhook' // never the URL: it is the credential
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text, blocks, thread_ts: thread_ts || undefined, unfurl_links }),
      signal,
    })
  } catch (err) {
    throw signal.aborted ? abortError(signal, what) : networkError(err, what)
  }
  const body = await readText(res, 512)
  if (!res.ok) throw responseError(res, what, body)
  return { channel: input.channel ?? null, ts: null }
}

export default definePlugin<Input, Settings>({
  name: 'slack',
  description: 'Post a message to Slack (chat.postMessage with a bot token, or an incoming webhook).',
  settings,
  input,
  escape: escapeFor,
  // Slack allows about one message per second per channel.
  rateLimit: { limit: 1, interval: '1s' },
  limitKey: (input) => input.channel || undefined,
  missingCredentials: (s) => (s.token || s.webhookUrl ? undefined : 'actions.slack.token (or webhookUrl) is not set; set SLACK_BOT_TOKEN'),
  async run(input, ctx) {
    const { token, apiUrl, webhookUrl } = ctx.settings
    if (!token && webhookUrl) return postWebhook(webhookUrl, input, ctx.signal)
    if (!token)
      throw new PermanentError('actions.slack.token (or webhookUrl) is not set; set SLACK_BOT_TOKEN', { code: 'credentials_missing' })
    const channel = input.channel?.trim()
    if (!channel) throw new PermanentError('channel rendered empty', { code: 'channel_empty' })
    const where = `to ${channel}`
    try {
      const web = await client(token, apiUrl || undefined)
      const { text, blocks, unfurl_links } = input
      const call = web.apiCall('chat.postMessage', { channel, text, blocks, thread_ts: input.thread_ts || undefined, unfurl_links })
      const res = (await raceAbort(call, ctx.signal, `slack: chat.postMessage ${where}`)) as { channel?: unknown; ts?: unknown }
      return { channel: typeof res.channel === 'string' ? res.channel : channel, ts: typeof res.ts === 'string' ? res.ts : null }
    } catch (err) {
      throw slackError(err, where, token)
    }
  },
  preview(input, ctx) {
    const to = !ctx.settings.token && ctx.settings.webhookUrl ? 'the incoming webhook' : input.channel || '(channel rendered empty)'
    const extra = [input.blocks ? `${input.blocks.length} blocks` : '', input.thread_ts ? `in thread ${input.thread_ts}` : '']
      .filter(Boolean)
      .join(', ')
    return `slack message to ${to}${extra ? ` (${extra})` : ''}: ${input.text ?? ''}`
  },
})
