import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import email from '../../src/actions/email.js'
import { htmlToText } from '../../src/actions/html-to-text.js'
import { classifyError, createTestContext, describePluginConformance, type TestContextOptions } from '../../src/testing/index.js'
import { closedPort } from '../helpers/http-sink.js'
import { createSmtpSink, type SmtpSink } from '../helpers/smtp.js'

const PASSWORD = 'smtp-Pa55word-conformance'
const FROM = 'Releases <releases@example.com>'

async function run(input: unknown, settings: Record<string, unknown>, options: TestContextOptions = {}) {
  const result = await email.input!['~standard'].validate(input)
  if (result.issues) throw new Error(JSON.stringify(result.issues))
  return email.run(result.value, createTestContext({ ...options, settings }))
}

describePluginConformance(email, {
  async setup() {
    const smtp = await createSmtpSink({ auth: { user: 'runner', pass: PASSWORD } })
    const refused = await closedPort()
    return {
      smtp,
      refused,
      settings: { transport: smtp.url, from: FROM },
      input: { to: 'jane@example.com', subject: 'Your title is live', text: 'Hello Jane' },
      sideEffects: () => smtp.attempts,
      hang: () => smtp.once({ stage: 'mail', hang: true }),
      reset: () => smtp.reset(),
      secrets: [PASSWORD],
      close: () => smtp.close(),
    }
  },
  settings: {
    valid: [{}, { transport: '' }, { transport: { host: 'smtp.example.com', port: 587, auth: { user: 'u', pass: 'p' } }, from: FROM }],
    invalid: [{ transport: 'smtp.example.com' }, { transport: 25 }, { from: ['a@example.com'] }],
  },
  input: {
    valid: [
      { to: ['a@example.com', 'b@example.com'], cc: 'c@example.com', html: '<p>hi</p>' },
      { to: '', template: 'creator-ready' },
    ],
    invalid: [{ to: 'a@example.com' }, { to: 5, text: 'x' }, { to: 'a@example.com', subject: { x: 1 }, text: 'x' }],
  },
  credentials: {
    missing: [{}, { from: FROM }, { transport: 'smtp://u:p@smtp.example.com' }],
    present: [{ transport: 'smtp://u:p@smtp.example.com', from: FROM }],
  },
  errors: [
    { name: 'a 451 at RCPT', arrange: (e) => e.smtp.once({ stage: 'rcpt', code: 451, message: 'Try again later' }), expect: 'retryable' },
    { name: 'a 421 at connect', arrange: (e) => e.smtp.once({ stage: 'connect', code: 421, message: 'Too busy' }), expect: 'retryable' },
    { name: 'a 550 at RCPT', arrange: (e) => e.smtp.once({ stage: 'rcpt', code: 550, message: 'No such user' }), expect: 'permanent' },
    {
      name: 'a 554 after DATA',
      arrange: (e) => e.smtp.once({ stage: 'data', code: 554, message: 'Looks like spam' }),
      expect: 'permanent',
    },
    {
      name: 'a refused connection',
      arrange: (e) => ({ settings: { transport: `smtp://runner:${PASSWORD}@127.0.0.1:${e.refused}`, from: FROM } }),
      expect: 'retryable',
    },
    {
      name: 'a wrong password (EAUTH)',
      arrange: (e) => ({ settings: { transport: e.smtp.url.replace(PASSWORD, 'wrong'), from: FROM } }),
      expect: 'permanent',
    },
    { name: "'to' rendered empty", arrange: () => ({ input: { to: ' , ', subject: 'x', text: 'x' } }), expect: 'permanent' },
  ],
})

describe('email', () => {
  let smtp: SmtpSink
  let settings: Record<string, unknown>
  beforeAll(async () => {
    smtp = await createSmtpSink()
    settings = { transport: smtp.url, from: FROM }
  })
  afterAll(() => smtp.close())
  beforeEach(() => smtp.reset())

  it('delivers To, Subject, text and HTML as rendered', async () => {
    const result = await run(
      {
        to: 'jane@example.com',
        cc: ['ed@example.com'],
        subject: 'Your title "Episode 42" is live',
        text: 'Hi Jane',
        html: '<p>Hi <b>Jane</b> &amp; co</p>',
      },
      settings,
    )
    expect(result).toEqual({ messageId: expect.stringMatching(/^<.+>$/), accepted: ['jane@example.com', 'ed@example.com'], rejected: [] })
    const [mail] = smtp.messages
    expect(mail).toMatchObject({
      from: 'releases@example.com',
      to: ['jane@example.com', 'ed@example.com'],
      subject: 'Your title "Episode 42" is live',
      text: 'Hi Jane',
      html: '<p>Hi <b>Jane</b> &amp; co</p>',
    })
    expect(mail!.headers).toMatchObject({ from: FROM, to: 'jane@example.com', cc: 'ed@example.com' })
  })

  it('renders a template as HTML, with its .text twin as the text part', async () => {
    const templates = {
      'creator-ready': (mode: string) => `<h1>Live</h1><p>escape=${mode}</p>`,
      'creator-ready.text': (mode: string) => `Live (escape=${mode})`,
    }
    await run({ to: 'jane@example.com', subject: 'Live', template: 'creator-ready' }, settings, { templates })
    expect(smtp.messages[0]).toMatchObject({ html: '<h1>Live</h1><p>escape=html</p>', text: 'Live (escape=none)' })
  })

  it('makes the text part from the HTML when the template has no text twin', async () => {
    const templates = {
      'creator-ready': '<p>Your title <b>Episode 42</b> is live:</p><p><a href="https://example.com/t/4211">listen</a></p>',
    }
    await run({ to: 'jane@example.com', subject: 'Live', template: 'creator-ready' }, settings, { templates })
    expect(smtp.messages[0]!.text).toBe('Your title Episode 42 is live:\n\nlisten (https://example.com/t/4211)')
  })

  it('fails for good on a missing template', async () => {
    const err = await run({ to: 'jane@example.com', template: 'nope' }, settings).catch((e: unknown) => e)
    expect(classifyError(err).kind).toBe('permanent')
    expect((err as Error).message).toMatch(/template "nope"/)
  })

  it("says 'to' rendered empty", async () => {
    await expect(run({ to: '', subject: 'x', text: 'x' }, settings)).rejects.toThrow("'to' rendered empty")
    expect(smtp.attempts).toBe(0)
  })

  it('lets a step override the sender', async () => {
    await run({ to: 'jane@example.com', from: 'Jane <jane@example.com>', text: 'x' }, settings)
    expect(smtp.messages[0]!.headers.from).toBe('Jane <jane@example.com>')
  })

  it('reuses one pooled connection for the same settings', async () => {
    const counting = await createSmtpSink()
    const s = { transport: counting.url, from: FROM }
    for (let i = 0; i < 3; i++) await run({ to: `u${i}@example.com`, text: 'x' }, s)
    expect(counting.messages).toHaveLength(3)
    expect(counting.connections).toBe(1)
    await counting.close()
  })

  it('keeps the SMTP password out of errors', async () => {
    const locked = await createSmtpSink({ auth: { user: 'runner', pass: 'right' } })
    const err = await run(
      { to: 'jane@example.com', text: 'x' },
      { transport: `smtp://runner:${PASSWORD}@127.0.0.1:${locked.port}`, from: FROM },
    ).catch((e: Error) => e)
    expect(classifyError(err).kind).toBe('permanent')
    expect((err as Error).message).toMatch(/login failed/)
    expect(JSON.stringify({ ...(err as object), message: (err as Error).message })).not.toContain(PASSWORD)
    await locked.close()
  })

  it('makes readable text from HTML', () => {
    expect(htmlToText('<style>p{}</style><h1>Title</h1><ul><li>One</li><li>Two &amp; three</li></ul>Line<br>break')).toBe(
      'Title\n\n- One\n- Two & three\n\nLine\nbreak',
    )
  })
})
