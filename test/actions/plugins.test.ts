/**
 * The plugins in plugins/ import from 'audiorista-runner', which vitest does
 * not resolve; they are loaded as the runner loads them, through jiti with the
 * package name aliased to the source entry.
 */
import { fileURLToPath } from 'node:url'
import { createJiti } from 'jiti'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { classifyError, createTestContext, describePluginConformance } from '../../src/testing/index.js'
import type { ActionPlugin } from '../../src/types.js'
import { closedPort, createHttpSink, type HttpSink } from '../helpers/http-sink.js'

const jiti = createJiti(import.meta.url, { alias: { 'audiorista-runner': fileURLToPath(new URL('../../src/index.ts', import.meta.url)) } })
const discord = await jiti.import<ActionPlugin>('../../plugins/example.ts', { default: true })
const websub = await jiti.import<ActionPlugin>('../../plugins/websub.ts', { default: true })

const WEBHOOK_SECRET = 'aW5jb21pbmctd2ViaG9vay1zZWNyZXQtdG9rZW4'

async function sinkEnv() {
  const sink = await createHttpSink({ reply: { status: 200, body: { id: '1100000000000000001' } } })
  const refused = await closedPort()
  return {
    sink,
    refused,
    sideEffects: () => sink.count,
    hang: () => sink.replyOnce({ hang: true }),
    reset: () => sink.reset(),
    close: () => sink.close(),
  }
}

describePluginConformance(discord, {
  async setup() {
    const env = await sinkEnv()
    return {
      ...env,
      settings: { webhookUrl: `${env.sink.url}/api/webhooks/123/${WEBHOOK_SECRET}` },
      input: { content: '**Episode 42** is live' },
      secrets: [WEBHOOK_SECRET],
    }
  },
  settings: { valid: [{}, { username: 'Releases' }], invalid: [{ webhookUrl: 'discord' }] },
  input: {
    valid: [{ content: 'x', username: 'Bot' }],
    invalid: [{ content: '' }, { content: 'x'.repeat(2001) }, { content: 'x', username: 1 }],
  },
  credentials: { missing: [{}], present: [{ webhookUrl: 'https://discord.com/api/webhooks/1/x' }] },
  errors: [
    {
      name: '429 with Retry-After',
      arrange: (e) => e.sink.replyOnce({ status: 429, headers: { 'retry-after': '2' } }),
      expect: 'retryable',
      retryAfter: 2000,
    },
    {
      name: '404 (webhook deleted)',
      arrange: (e) => e.sink.replyOnce({ status: 404, body: { message: 'Unknown Webhook' } }),
      expect: 'permanent',
    },
    { name: '502', arrange: (e) => e.sink.replyOnce({ status: 502 }), expect: 'retryable' },
    {
      name: 'a refused connection',
      arrange: (e) => ({ settings: { webhookUrl: `http://127.0.0.1:${e.refused}/x` } }),
      expect: 'retryable',
    },
  ],
})

describePluginConformance(websub, {
  async setup() {
    const env = await sinkEnv()
    return { ...env, settings: { hub: `${env.sink.url}/hub` }, input: { feed: 'https://example.com/podcast.xml' } }
  },
  settings: { valid: [{}], invalid: [{ hub: 'hub' }] },
  input: { invalid: [{ feed: '' }, { feed: 'not a url' }] },
  errors: [
    { name: '400', arrange: (e) => e.sink.replyOnce({ status: 400, body: 'unknown topic' }), expect: 'permanent' },
    {
      name: '503 with Retry-After',
      arrange: (e) => e.sink.replyOnce({ status: 503, headers: { 'retry-after': '5' } }),
      expect: 'retryable',
      retryAfter: 5000,
    },
    { name: 'a refused connection', arrange: (e) => ({ settings: { hub: `http://127.0.0.1:${e.refused}/` } }), expect: 'retryable' },
  ],
})

describe('plugins/', () => {
  let sink: HttpSink
  beforeAll(async () => {
    sink = await createHttpSink({ reply: { status: 204 } })
  })
  afterAll(() => sink.close())
  beforeEach(() => sink.reset())

  it('websub POSTs hub.mode=publish and hub.url as a form', async () => {
    const result = await websub.run(
      { feed: 'https://example.com/podcast.xml?a=1&b=2' },
      createTestContext({ settings: { hub: `${sink.url}/` } }),
    )
    expect(result).toEqual({ status: 204 })
    const [req] = sink.requests
    expect(req!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/)
    expect(Object.fromEntries(req!.form())).toEqual({ 'hub.mode': 'publish', 'hub.url': 'https://example.com/podcast.xml?a=1&b=2' })
  })

  it('websub uses the public hub by default', async () => {
    const { value } = (await websub.settings!['~standard'].validate({})) as { value: unknown }
    expect(value).toEqual({ hub: 'https://pubsubhubbub.appspot.com/' })
  })

  it('discord sends the content with mentions disabled', async () => {
    sink.replyOnce({ status: 200, body: { id: '42' } })
    const result = await discord.run(
      { content: '@everyone Episode 42' },
      createTestContext({ settings: { webhookUrl: `${sink.url}/api/webhooks/1/x` } }),
    )
    expect(result).toEqual({ id: '42' })
    expect(sink.requests[0]!.path).toBe('/api/webhooks/1/x?wait=true')
    expect(sink.requests[0]!.json()).toEqual({ content: '@everyone Episode 42', allowed_mentions: { parse: [] } })
  })

  it('errors thrown by a jiti-loaded plugin are classified by name', async () => {
    sink.replyOnce({ status: 400 })
    const err = await websub
      .run({ feed: 'https://example.com/f' }, createTestContext({ settings: { hub: sink.url } }))
      .catch((e: unknown) => e)
    expect(classifyError(err).kind).toBe('permanent')
  })
})
