import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import slack from '../../src/actions/slack.js'
import { modeAt } from '../../src/render/escape.js'
import { classifyError, createTestContext, describePluginConformance } from '../../src/testing/index.js'
import { closedPort } from '../helpers/http-sink.js'
import { createSlackServer, type SlackServer } from '../helpers/slack-server.js'

const TOKEN = 'xoxb-1111-2222-conformanceSecretToken'

async function run(input: unknown, settings: Record<string, unknown>, ctx = createTestContext({ settings })) {
  const result = await slack.input!['~standard'].validate(input)
  if (result.issues) throw new Error(JSON.stringify(result.issues))
  return slack.run(result.value, ctx)
}

describePluginConformance(slack, {
  async setup() {
    const server = await createSlackServer()
    const refused = await closedPort()
    return {
      server,
      refused,
      settings: { token: TOKEN, apiUrl: server.apiUrl },
      input: { channel: '#releases', text: ':headphones: *Episode 42* is live' },
      sideEffects: () => server.requests.length,
      hang: () => server.replyOnce({ hang: true }),
      reset: () => server.reset(),
      secrets: [TOKEN, 'XXXXXXXXXXXXXXXXXXXXXXXX'],
      close: () => server.close(),
    }
  },
  settings: {
    valid: [{}, { webhookUrl: 'https://hooks.slack.com/services/T/B/X' }, { token: '', webhookUrl: '' }],
    invalid: [{ token: 42 }, { apiUrl: 'slack' }, { webhookUrl: 'hooks.slack.com' }],
  },
  input: {
    valid: [
      { text: 'webhook mode has no channel' },
      { channel: 'C0123', blocks: [{ type: 'section' }], thread_ts: '1700000000.000100', unfurl_links: false },
    ],
    invalid: [
      { channel: '#x' },
      { channel: '#x', text: '' },
      { channel: 5, text: 'x' },
      { channel: '#x', text: 'x', blocks: 'no' },
      { channel: '#x', text: 'x', unfurl_links: 'yes' },
    ],
  },
  credentials: {
    missing: [{}, { token: '' }, { apiUrl: 'http://127.0.0.1:1/api/' }],
    present: [{ token: TOKEN }, { webhookUrl: 'https://hooks.slack.com/services/T/B/X' }],
  },
  errors: [
    { name: 'ok:false channel_not_found', arrange: (e) => e.server.replyOnce({ error: 'channel_not_found' }), expect: 'permanent' },
    { name: 'ok:false invalid_auth', arrange: (e) => e.server.replyOnce({ error: 'invalid_auth' }), expect: 'permanent' },
    { name: 'ok:false not_in_channel', arrange: (e) => e.server.replyOnce({ error: 'not_in_channel' }), expect: 'permanent' },
    { name: 'ok:false internal_error', arrange: (e) => e.server.replyOnce({ error: 'internal_error' }), expect: 'retryable' },
    {
      name: '429 with Retry-After: 1',
      arrange: (e) => e.server.replyOnce({ status: 429, headers: { 'retry-after': '1' } }),
      expect: 'retryable',
      retryAfter: 1000,
    },
    { name: '500', arrange: (e) => e.server.replyOnce({ status: 500 }), expect: 'retryable' },
    {
      name: 'a refused connection',
      arrange: (e) => ({ settings: { token: TOKEN, apiUrl: `http://127.0.0.1:${e.refused}/api/` } }),
      expect: 'retryable',
    },
    { name: 'a channel rendered empty', arrange: () => ({ input: { channel: ' ', text: 'x' } }), expect: 'permanent' },
    {
      name: 'a webhook answering 404 no_service',
      arrange: (e) => {
        e.server.replyOnce({ status: 404, body: 'no_service' })
        return { settings: { webhookUrl: e.server.webhookUrl } }
      },
      expect: 'permanent',
    },
    {
      name: 'a webhook answering 429',
      arrange: (e) => {
        e.server.replyOnce({ status: 429, headers: { 'retry-after': '3' } })
        return { settings: { webhookUrl: e.server.webhookUrl } }
      },
      expect: 'retryable',
      retryAfter: 3000,
    },
  ],
})

describe('slack', () => {
  let server: SlackServer
  beforeAll(async () => {
    server = await createSlackServer()
  })
  afterAll(() => server.close())
  beforeEach(() => server.reset())

  it('posts the channel and text with the bearer token, and returns channel and ts', async () => {
    const result = await run(
      { channel: '#releases', text: 'Episode 42 &lt;live&gt;', thread_ts: '', unfurl_links: false },
      { token: TOKEN, apiUrl: server.apiUrl },
    )
    expect(result).toEqual({ channel: 'C0123456', ts: expect.stringMatching(/^\d+\.\d+$/) })
    expect(server.messages).toEqual([
      { via: 'api', channel: '#releases', text: 'Episode 42 &lt;live&gt;', unfurl_links: 'false', token: TOKEN },
    ])
  })

  it('sends blocks and thread_ts', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Episode 42*' } }]
    await run({ channel: 'C0123', text: 'fallback', blocks, thread_ts: '1700000000.000100' }, { token: TOKEN, apiUrl: server.apiUrl })
    expect(server.messages[0]).toMatchObject({ channel: 'C0123', blocks, thread_ts: '1700000000.000100' })
  })

  it('names the Slack error code and how to fix it, without the token', async () => {
    server.replyOnce({ error: 'channel_not_found' })
    const err = await run({ channel: '#nope', text: 'x' }, { token: TOKEN, apiUrl: server.apiUrl }).catch(
      (e: Error & { code?: string }) => e,
    )
    expect(err).toMatchObject({ name: 'PermanentError', code: 'channel_not_found' })
    expect((err as Error).message).toBe(
      'slack: chat.postMessage to #nope failed: channel_not_found (check the channel name or ID; a private channel must invite the bot)',
    )
  })

  it('does not retry inside the client: one request per attempt, even when rate limited', async () => {
    server.replyOnce({ status: 429, headers: { 'retry-after': '1' } })
    const err = await run({ channel: '#r', text: 'x' }, { token: TOKEN, apiUrl: server.apiUrl }).catch((e: unknown) => e)
    expect(classifyError(err)).toEqual({ kind: 'retryable', retryAfter: 1000 })
    server.replyOnce({ status: 503 })
    await run({ channel: '#r', text: 'x' }, { token: TOKEN, apiUrl: server.apiUrl }).catch(() => {})
    expect(server.requests).toHaveLength(2)
  })

  it('posts text and blocks to an incoming webhook', async () => {
    const result = await run({ text: 'Episode 42 is live', blocks: [{ type: 'divider' }] }, { webhookUrl: server.webhookUrl })
    expect(result).toEqual({ channel: null, ts: null })
    expect(server.messages).toEqual([{ via: 'webhook', text: 'Episode 42 is live', blocks: [{ type: 'divider' }] }])
  })

  it('keeps the webhook URL out of errors', async () => {
    server.replyOnce({ status: 500, body: 'rollup_error' })
    const err = await run({ text: 'x' }, { webhookUrl: server.webhookUrl }).catch((e: Error) => e)
    expect((err as Error).message).toBe('slack: incoming webhook answered 500: rollup_error')
  })

  it('escapes the text and every text in blocks, takes URLs in blocks as URLs, and limits per channel', () => {
    const at = (...path: Array<string | number>) => modeAt(slack.escape!, path)
    expect([
      at('text'),
      at('blocks', 0, 'text', 'text'),
      at('blocks', 1, 'elements', 0, 'url'),
      at('blocks', 2, 'image_url'),
      at('channel'),
      at('thread_ts'),
    ]).toEqual(['slack', 'slack', 'url', 'url', 'none', 'none'])
    expect(slack.rateLimit).toEqual({ limit: 1, interval: '1s' })
    expect(slack.limitKey!({ channel: '#releases', text: 'x' })).toBe('#releases')
  })

  it('previews the message', async () => {
    expect(slack.preview!({ channel: '#releases', text: 'hi' }, createTestContext({ settings: {} }))).toBe('slack message to #releases: hi')
  })
})
