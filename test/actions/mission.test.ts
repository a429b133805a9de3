import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { runCliAsync } from '../helpers/child.js'
import { missionProject } from '../helpers/fixture-project.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { startTestRunner, type TestRunner } from '../helpers/runner.js'
import { createSlackServer, type SlackServer } from '../helpers/slack-server.js'
import { createSmtpSink, type SmtpSink } from '../helpers/smtp.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixture = join(root, 'test/fixtures/title-ready.json')

let slack: SlackServer | undefined
let smtp: SmtpSink | undefined
let sink: HttpSink | undefined
let t: TestRunner | undefined
afterEach(async () => {
  await t?.close()
  await Promise.all([slack?.close(), smtp?.close(), sink?.close()])
  t = slack = smtp = sink = undefined
})

describe('the mission recipe, end to end', () => {
  it('simulate --run with the shipped mission recipe delivers one Slack message, one rebuild request and one email', async () => {
    slack = await createSlackServer()
    smtp = await createSmtpSink()
    sink = await createHttpSink()
    const dir = missionProject()
    const r = await runCliAsync(['simulate', 'title-ready', fixture, '--run'], {
      cwd: dir,
      env: {
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_API_URL: slack.apiUrl,
        SMTP_URL: smtp.url,
        BUILD_HOOK_URL: `${sink.url}/build_hooks/abc123`,
      },
    })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/podcast-ready step 1 \(slack\): done/)
    expect(r.stdout).toMatch(/podcast-ready step 2 \(http\): done/)
    expect(r.stdout).toMatch(/podcast-ready step 3 \(email\): done/)
    expect(r.stdout).not.toContain('xoxb-test-token')

    expect(slack.messages).toHaveLength(1)
    expect(slack.messages[0]).toMatchObject({
      channel: '#releases',
      text: ':headphones: *Episode 42: The Long Night* is live https://example.com/t/4211',
      token: 'xoxb-test-token',
    })
    expect(sink.requests.map((q) => [q.method, q.path])).toEqual([['POST', '/build_hooks/abc123']])
    expect(smtp.messages).toHaveLength(1)
    const mail = smtp.messages[0]!
    expect(mail.to).toEqual(['jane@example.com'])
    expect(mail.subject).toBe('Your title "Episode 42: The Long Night" is live')
    expect(mail.html).toContain('<strong>Episode 42: The Long Night</strong>')
    expect(mail.text).toContain('"Episode 42: The Long Night" is published')
  })
})

describe('slack through the engine', () => {
  it('spreads a burst of ten messages to one channel at about one per second', async () => {
    slack = await createSlackServer()
    t = await startTestRunner({
      auth: { allowUnauthenticated: true },
      actions: { slack: { token: 'xoxb-burst', apiUrl: slack.apiUrl } },
      recipes: [{ name: 'announce', on: 'title-ready', do: [{ action: 'slack', with: { channel: '#releases', text: '{{name}}' } }] }],
    })
    const started = Date.now()
    await Promise.all(Array.from({ length: 10 }, (_, i) => t!.post('title-ready', { id: i, name: `episode ${i}` })))
    await t.runner.engine.idle()
    const took = Date.now() - started
    expect(slack.messages).toHaveLength(10)
    expect(new Set(slack.messages.map((m) => m.text)).size).toBe(10)
    expect(took).toBeGreaterThanOrEqual(8900)
    // Nothing was refused or retried: spread out, not rejected.
    expect(slack.requests).toHaveLength(10)
  }, 30_000)

  it('another channel is not held back by a busy one', async () => {
    slack = await createSlackServer()
    t = await startTestRunner({
      auth: { allowUnauthenticated: true },
      actions: { slack: { token: 'xoxb-burst', apiUrl: slack.apiUrl } },
      recipes: [{ name: 'announce', on: 'title-ready', do: [{ action: 'slack', with: { channel: '{{channel}}', text: '{{name}}' } }] }],
    })
    await Promise.all(Array.from({ length: 4 }, (_, i) => t!.post('title-ready', { id: i, name: `busy ${i}`, channel: '#busy' })))
    const started = Date.now()
    await t.post('title-ready', { id: 99, name: 'quiet one', channel: '#quiet' })
    while (!slack.messages.some((m) => m.channel === '#quiet') && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 20))
    expect(Date.now() - started).toBeLessThan(1000)
    await t.runner.engine.idle()
  }, 30_000)
})

describe('a dead Slack step', () => {
  it('channel_not_found is dead after one attempt, with a hint, and never shows the token', async () => {
    slack = await createSlackServer()
    slack.replyOnce({ error: 'channel_not_found' })
    t = await startTestRunner({
      auth: { allowUnauthenticated: true },
      actions: { slack: { token: 'xoxb-secret-token-value', apiUrl: slack.apiUrl } },
      recipes: [{ name: 'announce', on: 'title-ready', do: [{ action: 'slack', with: { channel: '#nope', text: 'hi' } }] }],
    })
    const [run] = await t.deliver('title-ready', JSON.parse(readFileSync(fixture, 'utf8')))
    expect(run).toMatchObject({ state: 'dead', attempt: 1 })
    expect(run!.error).toContain('channel_not_found')
    expect(t.logs()).not.toContain('xoxb-secret-token-value')
  })
})

describe('email through the engine', () => {
  const recipe = (transport: string): Parameters<typeof startTestRunner>[0] => ({
    auth: { allowUnauthenticated: true },
    queue: { retry: { attempts: 3, delay: 100 } },
    actions: { email: { transport, from: 'Releases <releases@example.com>' } },
    recipes: [
      {
        name: 'mail',
        on: 'title-ready',
        do: [{ action: 'email', with: { to: 'jane@example.com', subject: '{{name}} is live', html: '<p>{{name}}</p>' } }],
      },
    ],
  })

  it('a 451 is retried and then delivered', async () => {
    smtp = await createSmtpSink()
    smtp.once({ stage: 'rcpt', code: 451 })
    t = await startTestRunner(recipe(smtp.url))
    const [run] = await t.deliver('title-ready', { id: 1, name: 'Tom & <Jerry>' })
    expect(run).toMatchObject({ state: 'done', attempt: 2 })
    expect(smtp.messages).toHaveLength(1)
    expect(smtp.messages[0]!.subject).toBe('Tom & <Jerry> is live')
    expect(smtp.messages[0]!.html).toContain('<p>Tom &amp; &lt;Jerry&gt;</p>')
  })

  it('a 550 is dead at once', async () => {
    smtp = await createSmtpSink()
    smtp.once({ stage: 'rcpt', code: 550 })
    t = await startTestRunner(recipe(smtp.url))
    const [run] = await t.deliver('title-ready', { id: 1, name: 'x' })
    expect(run).toMatchObject({ state: 'dead', attempt: 1 })
    expect(run!.error).toContain('550')
    expect(smtp.messages).toHaveLength(0)
  })

  it('a refused connection is retried until attempts are spent, then dead and kept', async () => {
    const closed = await createHttpSink()
    const port = closed.port
    await closed.close()
    t = await startTestRunner(recipe(`smtp://127.0.0.1:${port}`))
    const [run] = await t.deliver('title-ready', { id: 1, name: 'x' })
    expect(run).toMatchObject({ state: 'dead', attempt: 3 })
    expect(run!.error).toMatch(/ECONNREFUSED|refused/i)
  })
})
