/**
 * Tests of your own action (plugins/example.ts) against a stand-in Discord on
 * this machine: the conformance suite every built-in action passes, and a
 * unit test with a hand-made context. `npx vitest`
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTestContext, describePluginConformance, titleFixture } from 'audiorista-runner/testing'
import { expect, it } from 'vitest'
import discord from '../plugins/example.js'

/** A local HTTP server that records what it is sent and answers 200, or once `failNext`'s status, or once nothing at all. */
async function fakeDiscord() {
  const requests: unknown[] = []
  let status = 200
  let hang = false
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      requests.push(JSON.parse(body))
      if (hang) {
        hang = false // this request is never answered
        return
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ id: '1' }))
      status = 200
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    requests,
    // The token in the path is the credential: it must never show up in results, errors or logs.
    url: `http://127.0.0.1:${port}/api/webhooks/1/secret-token`,
    failNext(code: number) {
      status = code
    },
    hangNext() {
      hang = true
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()),
  }
}

describePluginConformance(discord, {
  async setup() {
    const server = await fakeDiscord()
    return {
      server,
      settings: { webhookUrl: server.url },
      input: { content: '**Episode 42** is live' },
      sideEffects: () => server.requests.length,
      // The plugin must give up promptly when its step times out or the runner stops.
      hang: server.hangNext,
      secrets: ['secret-token'],
      close: server.close,
    }
  },
  input: { invalid: [{ content: '' }] },
  credentials: { missing: [{}], present: [{ webhookUrl: 'https://discord.com/api/webhooks/1/x' }] },
  errors: [
    { name: 'a deleted webhook (404)', arrange: (env) => env.server.failNext(404), expect: 'permanent' },
    { name: 'an outage (502)', arrange: (env) => env.server.failNext(502), expect: 'retryable' },
  ],
})

it('previews the message without posting it', async () => {
  const ctx = createTestContext({ payload: titleFixture(), settings: {} })
  expect(await discord.preview?.({ content: 'hi' }, ctx)).toBe('would post to Discord: hi')
})
