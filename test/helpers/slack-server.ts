/**
 * A loopback server that speaks the part of Slack's Web API the runner uses
 * (`POST /api/chat.postMessage`, form or JSON, `Authorization: Bearer`) and an
 * incoming webhook (`POST /webhook/...`). Point `actions.slack.apiUrl` or
 * `webhookUrl` at it.
 */
import { createHttpSink, type HttpSink, type RecordedRequest, type SinkReply } from './http-sink.js'

export interface SlackMessage {
  via: 'api' | 'webhook'
  channel?: string
  text?: string
  blocks?: unknown
  thread_ts?: string
  unfurl_links?: unknown
  /** The bearer token sent (api only). */
  token?: string
}

/** A scripted answer: an HTTP reply, or a Slack `ok:false` error code. */
export type SlackReply = SinkReply | { error: string }

export interface SlackServer {
  /** For `actions.slack.apiUrl`: `http://127.0.0.1:PORT/api/`. */
  apiUrl: string
  /** For `actions.slack.webhookUrl`. */
  webhookUrl: string
  /** Messages Slack accepted, oldest first. */
  messages: SlackMessage[]
  /** Every request, accepted or not. */
  requests: RecordedRequest[]
  /** The answer to the next request (queues up). */
  replyOnce(reply: SlackReply): void
  reset(): void
  close(): Promise<void>
}

/** The Web API takes form fields (objects JSON-encoded inside) or a JSON body. */
function fields(req: RecordedRequest): Record<string, unknown> {
  if (String(req.headers['content-type']).startsWith('application/json')) return req.json()
  const out: Record<string, unknown> = {}
  for (const [k, v] of req.form()) out[k] = k === 'blocks' ? JSON.parse(v) : v
  return out
}

export async function createSlackServer(): Promise<SlackServer> {
  const messages: SlackMessage[] = []
  let ts = 1_700_000_000
  const answer = (req: RecordedRequest): SinkReply => {
    const f = fields(req)
    const message = {
      channel: f.channel,
      text: f.text,
      blocks: f.blocks,
      thread_ts: f.thread_ts,
      unfurl_links: f.unfurl_links,
    } as SlackMessage
    if (req.path.startsWith('/webhook/')) {
      messages.push({ ...message, via: 'webhook' })
      return { status: 200, body: 'ok' }
    }
    if (req.path !== '/api/chat.postMessage') return { status: 200, body: { ok: false, error: 'unknown_method' } }
    const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '')
    if (!token) return { body: { ok: false, error: 'not_authed' } }
    if (!message.channel) return { body: { ok: false, error: 'channel_not_found' } }
    messages.push({ ...message, via: 'api', token })
    return { body: { ok: true, channel: 'C0123456', ts: `${ts++}.000100`, message: { text: message.text } } }
  }
  const sink: HttpSink = await createHttpSink({ reply: answer })
  return {
    apiUrl: `${sink.url}/api/`,
    webhookUrl: `${sink.url}/webhook/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX`,
    messages,
    requests: sink.requests,
    replyOnce(reply) {
      if ('error' in reply) sink.replyOnce({ body: { ok: false, error: reply.error } })
      else sink.replyOnce(reply)
    },
    reset() {
      messages.length = 0
      sink.reset()
    },
    close: () => sink.close(),
  }
}
