/**
 * The injection corpus: an attacker who holds the webhook key controls every
 * payload value. Each case delivers hostile payloads to a real runner whose
 * steps talk to real loopback targets (a Slack API stand-in, an HTTP sink, an
 * SMTP server, a spawned program) and checks what reached them: the attack
 * changes nothing it should not, and the legitimate use beside it still works.
 * A payload value is data, never syntax (README, "Security model").
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { StepRun } from '../../src/store/backend.js'
import type { Config, Step } from '../../src/types.js'
import { createHttpSink } from '../helpers/http-sink.js'
import { startTestRunner, tempDir, type TestRunner } from '../helpers/runner.js'
import { createSlackServer } from '../helpers/slack-server.js'
import { createSmtpSink } from '../helpers/smtp.js'
import { createReport, type ReportRow } from './report.js'

const report = createReport()
afterAll(() => report.write())

let closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.reverse()) await close()
  closers = []
})

const open = <T extends { close(): Promise<void> }>(thing: T): T => {
  closers.push(() => thing.close())
  return thing
}

let stores = 0

/** A runner with `steps`; several may share `dir` (its templates, a program's output), each with its own store (one runner per store). */
async function runner(steps: Step[], config: Config = {}, dir = tempDir('ar-inject-')): Promise<TestRunner> {
  const store = { path: join(dir, `runner-${++stores}.db`) }
  return open(
    await startTestRunner(
      { auth: { allowUnauthenticated: true }, store, ...config, recipes: [{ name: 'r', on: 'title-ready', do: steps }] },
      { dir },
    ),
  )
}

/** Delivers one payload and returns its single run. */
async function one(t: TestRunner, payload: Record<string, unknown>): Promise<StepRun> {
  const runs = await t.deliver('title-ready', payload)
  expect(runs).toHaveLength(1)
  return runs[0]!
}

/** The row of a case whose every check held: nothing lost, nothing sent twice. */
function passed(row: ReportRow, tried: number, notes: string): void {
  Object.assign(row, { tried, lost: 0, duplicated: 0, result: 'pass', notes })
}

const HOSTILE_SLACK = '<!channel> <@U123> <https://evil.example|click> &'

describe('injection corpus', () => {
  it('Slack: a payload can neither mention, link nor format, in text or in any block', async () => {
    const row = report.row('injection-slack', 'Slack text and blocks rendered from `<!channel> <@U123> <https://evil|click>`')
    const slack = open(await createSlackServer())
    const t = await runner(
      [
        {
          action: 'slack',
          with: {
            channel: '#releases',
            text: 'New: {{name}}',
            blocks: [
              { type: 'section', text: { type: 'mrkdwn', text: '*{{name}}* <https://site.example/listen|Listen>' } },
              { type: 'context', elements: [{ type: 'plain_text', text: 'by {{creator}}' }] },
              {
                type: 'actions',
                elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open' }, url: 'https://site.example/t/{{id}}' }],
              },
            ],
          },
        },
      ],
      { actions: { slack: { token: 'xoxb-test', apiUrl: slack.apiUrl } } },
    )
    const run = await one(t, { id: '../admin?x=1', name: HOSTILE_SLACK, creator: '<!here>' })
    expect(run.state).toBe('done')
    const [message] = slack.messages
    const sent = JSON.stringify(message)
    for (const raw of ['<!channel>', '<@U123>', '<https://evil.example', '<!here>']) expect(sent).not.toContain(raw)
    expect(message!.text).toBe('New: &lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; &amp;')
    const blocks = message!.blocks as any[]
    // The config's own link stays a link; the payload's value is one URL component.
    expect(blocks[0].text.text).toBe(
      '*&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; &amp;* <https://site.example/listen|Listen>',
    )
    expect(blocks[1].elements[0].text).toBe('by &lt;!here&gt;')
    expect(blocks[2].elements[0].url).toBe('https://site.example/t/..%2Fadmin%3Fx%3D1')
    passed(row, 1, 'mentions, links and & escaped in text and in every block; a block URL takes the value as one component')
  })

  it('URLs: a value cannot change the host, the path depth or the query, and a whole-URL value must be http(s)', async () => {
    const row = report.row('injection-url', 'http `url` rendered from `../../admin/users/1?force=true#`, `%2e%2e/`, `..`, `javascript:`')
    const sink = open(await createHttpSink())
    const segment = await runner([
      { action: 'http', with: { url: `${sink.url}/titles/{{id}}?q={{name}}`, method: 'PUT', headers: { authorization: 'Bearer s3cr3t' } } },
    ])
    const attacks = ['../../admin/users/1?force=true#', '%2e%2e/%2e%2e/admin', '..', '.']
    const runs: StepRun[] = []
    for (const id of attacks) runs.push(await one(segment, { id, name: 'a&admin=true' }))
    runs.push(await one(segment, { id: 4211, name: 'Tom & Jerry' }))
    expect(sink.requests.map((r) => r.path)).toEqual([
      '/titles/..%2F..%2Fadmin%2Fusers%2F1%3Fforce%3Dtrue%23?q=a%26admin%3Dtrue',
      '/titles/%252e%252e%2F%252e%252e%2Fadmin?q=a%26admin%3Dtrue',
      '/titles/4211?q=Tom%20%26%20Jerry',
    ])
    expect(runs.map((r) => r.state)).toEqual(['done', 'done', 'dead', 'dead', 'done'])
    expect(runs[2]!.error).toContain('a value rendered into a URL is "..", which would change the path; refused')

    const whole = await runner([{ action: 'http', with: { url: '{{share.url}}' } }])
    const refused = [
      await one(whole, { share: { url: 'javascript:alert(1)' } }),
      await one(whole, { share: { url: 'file:///etc/passwd' } }),
    ]
    expect(refused.map((r) => [r.state, r.attempt])).toEqual([
      ['dead', 0],
      ['dead', 0],
    ])
    expect(refused[0]!.error).toBe(
      'recipes[0].do[0].with.url rendered "javascript:alert(1)", which is not an absolute http(s) URL; refused',
    )
    expect((await one(whole, { share: { url: `${sink.url}/hook?x=1` } })).state).toBe('done')
    expect(sink.requests.at(-1)!.path).toBe('/hook?x=1')
    expect(sink.requests.some((r) => r.path.startsWith('/admin'))).toBe(false)
    passed(row, attacks.length + 3, 'values percent-encoded as one component; `.`/`..` and non-http(s) whole URLs dead before any request')
  })

  it('URLs: a path segment rendered from a value is one segment, whichever helper produced it (urlencode, raw, plain)', async () => {
    const row = report.row('injection-url-segment', "http `url: '…/api/titles/{{urlencode name}}/sync'` with `..`, `.`, `''`, `%2e%2E`")
    const sink = open(await createHttpSink())
    const step = (segment: string): Step[] => [
      { action: 'http', with: { url: `${sink.url}/api/titles/${segment}/sync`, headers: { authorization: 'Bearer s3cr3t' } } },
    ]
    const encoded = await runner(step('{{urlencode name}}'))
    const raw = await runner(step('{{{name}}}'))
    const plain = await runner(step('{{name}}'))
    const attacks: Array<[TestRunner, string]> = [
      [encoded, '..'],
      [encoded, '.'],
      [encoded, ''],
      [raw, '%2e%2E'],
      [raw, '.%2e'],
      [raw, 'a/../..'],
      [plain, ''],
    ]
    const runs: StepRun[] = []
    for (const [t, name] of attacks) runs.push(await one(t, { name }))
    expect(runs.map((r) => [r.state, r.attempt])).toEqual(attacks.map(() => ['dead', 0]))
    expect(sink.requests).toEqual([])
    expect(runs[0]!.error).toBe(
      'recipes[0].do[0].with.url: path segment 3 rendered from a template value is "..", a dot segment that would climb the path; refused',
    )
    expect(runs[3]!.error).toContain('is "%2e%2E", a dot segment that would climb the path; refused')
    expect(runs[2]!.error).toBe('recipes[0].do[0].with.url: a template value left path segment 3 empty; refused')

    // Values that only look like dots stay one ordinary segment.
    for (const name of ['%2e%2e', 'Tom & Jerry', '...']) expect((await one(encoded, { name })).state).toBe('done')
    expect(sink.requests.map((r) => r.path)).toEqual([
      '/api/titles/%252e%252e/sync',
      '/api/titles/Tom%20%26%20Jerry/sync',
      '/api/titles/.../sync',
    ])
    passed(
      row,
      attacks.length + 3,
      'empty, `.` and `..` segments (also as %2e) from any helper dead before a request; the sink saw only the 3 legitimate ones',
    )
  })

  it('Slack: a value can neither pick a link, end its URL, nor turn on bold, italics, strike or code', async () => {
    const row = report.row(
      'injection-slack-format',
      'Slack `<{{share.url}}|Listen>` with `https://evil.example/|Official site`; `*URGENT* _click_ ~x~` and backticks',
    )
    const slack = open(await createSlackServer())
    const t = await runner(
      [
        {
          action: 'slack',
          with: {
            channel: '#releases',
            text: ':mega: *{{name}}* <{{share.url}}|Listen> by {{creator}}',
            blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '_New:_ <https://site.example/t/{{id}}|{{name}}>' } }],
          },
        },
      ],
      { actions: { slack: { token: 'xoxb-test', apiUrl: slack.apiUrl } } },
    )
    const run = await one(t, {
      id: '7>x',
      name: '*URGENT* _click_ ~x~ `code`',
      share: { url: 'https://evil.example/|Official site' },
      creator: '```rm -rf``` see https://x.example/a_b~c',
    })
    expect(run.state).toBe('done')
    const J = '\u034F' // COMBINING GRAPHEME JOINER, on each side of a value's marker
    const name = `${J}*${J}URGENT${J}*${J} ${J}_${J}click${J}_${J} ${J}~${J}x${J}~${J} ${J}\`${J}code${J}\`${J}`
    expect(slack.messages[0]!.text).toBe(
      `:mega: *${name}* <https://evil.example/%7COfficial%20site|Listen> by ` +
        `${J}\`${J}${J}\`${J}${J}\`${J}rm -rf${J}\`${J}${J}\`${J}${J}\`${J} see https://x.example/a%5Fb%7Ec`,
    )
    expect((slack.messages[0]!.blocks as any[])[0].text.text).toBe(`_New:_ <https://site.example/t/7%3Ex|${name}>`)
    passed(
      row,
      1,
      "link URL percent-encoded (`|`, `>`, spaces); markers from values get U+034F on each side; the template's own *bold* and links stay",
    )
  })

  it("HTML email: an author's own template that puts a value in an href or src is checked after rendering", async () => {
    const row = report.row(
      'injection-html-author-link',
      'email `html: \'<a href="{{share.url}}">\'` (no safeUrl) with `javascript:`, `data:`',
    )
    const smtp = open(await createSmtpSink())
    const dir = tempDir('ar-inject-author-')
    mkdirSync(join(dir, 'recipes', 'templates'), { recursive: true })
    writeFileSync(join(dir, 'recipes', 'templates', 'mine.hbs'), '<p><img src="{{cover}}"> <a href="{{share.url}}">Listen</a></p>')
    const settings = { actions: { email: { transport: smtp.url, from: 'r@example.com' } } }
    const inline = await runner(
      [{ action: 'email', with: { to: 'jane@example.com', subject: 's', html: '<a href="{{share.url}}">Listen</a>' } }],
      settings,
      dir,
    )
    const file = await runner([{ action: 'email', with: { to: 'jane@example.com', subject: 's', template: 'mine' } }], settings, dir)
    const refused = [
      await one(inline, { share: { url: 'javascript:alert(document.cookie)' } }),
      await one(inline, { share: { url: ' JaVaScRiPt:alert(1)' } }),
      await one(file, { cover: 'data:image/svg+xml,<svg onload=alert(1)>', share: { url: 'https://site.example/t/1' } }),
      await one(file, { cover: 'https://img.example/c.png', share: { url: 'vbscript:msgbox' } }),
    ]
    expect(refused.map((r) => r.state)).toEqual(['dead', 'dead', 'dead', 'dead'])
    expect(refused[0]!.error).toBe(
      'email: the rendered HTML has <a href="javascript:alert(document.cookie)">, which is not an http(s) or mailto URL; refused ' +
        '(build links from payload values with {{safeUrl …}})',
    )
    expect(refused[2]!.error).toContain('<img src="data:image/svg+xml,<svg onload=alert(1)>">')
    expect(smtp.messages).toEqual([])
    expect((await one(file, { cover: 'https://img.example/c.png', share: { url: 'mailto:jane@example.com' } })).state).toBe('done')
    expect(smtp.messages).toHaveLength(1)
    passed(row, refused.length + 1, 'src/href that is not http(s), mailto, empty or #… ends the step dead; nothing reached SMTP')
  })

  describe('programs', () => {
    const program = (dir: string) => {
      const script = join(dir, 'record.cjs')
      writeFileSync(
        script,
        "require('fs').writeFileSync(process.env.OUT, JSON.stringify({ argv: process.argv.slice(2), env: process.env }))\n",
      )
      return script
    }
    const recorded = (out: string) => JSON.parse(readFileSync(out, 'utf8')) as { argv: string[]; env: Record<string, string> }

    it('exec: an argument starting with "-" from a value is refused and nothing is spawned, unless allowOptionArgs', async () => {
      const row = report.row('injection-exec-args', "exec `args: ['{{id}}']` with `--all` and `--upload-pack=…`")
      const dir = tempDir('ar-inject-exec-')
      const script = program(dir)
      const out = join(dir, 'out.json')
      const steps = (extra: Record<string, unknown> = {}): Step[] => [
        {
          action: 'exec',
          with: {
            command: process.execPath,
            args: [script, 'ls-remote', '{{share.url}}', '--title={{name}}'],
            env: { OUT: out },
            ...extra,
          },
        },
      ]
      const t = await runner(steps(), {}, dir)
      const dead = await one(t, { share: { url: '--upload-pack=touch /tmp/pwned' }, name: 'x' })
      expect(dead.state).toBe('dead')
      expect(dead.error).toContain(
        'recipes[0].do[0].with.args[2] rendered "--upload-pack=touch /tmp/pwned", which starts with "-" from a template value',
      )
      expect(existsSync(out)).toBe(false)
      // The config's own option with a value from the payload is fine: the value cannot become another option.
      expect((await one(t, { share: { url: 'https://git.example/repo' }, name: '--all' })).state).toBe('done')
      expect(recorded(out).argv).toEqual(['ls-remote', 'https://git.example/repo', '--title=--all'])

      const opted = await runner(steps({ allowOptionArgs: true }), {}, dir)
      expect((await one(opted, { share: { url: '--all' }, name: 'y' })).state).toBe('done')
      expect(recorded(out).argv).toEqual(['ls-remote', '--all', '--title=y'])
      passed(row, 3, 'refused before spawning (no output file written); allowOptionArgs: true passes it')
    })

    it("exec: the program gets a minimal environment, never the runner's secrets, unless inheritEnv", async () => {
      const row = report.row('injection-exec-env', "exec children and the runner's environment (AUDIORISTA_KEY, SLACK_BOT_TOKEN)")
      const dir = tempDir('ar-inject-env-')
      const script = program(dir)
      const out = join(dir, 'out.json')
      const saved = { key: process.env.AUDIORISTA_KEY, slack: process.env.SLACK_BOT_TOKEN }
      process.env.AUDIORISTA_KEY = 'key-s3cr3t'
      process.env.SLACK_BOT_TOKEN = 'xoxb-s3cr3t'
      try {
        const step = (extra: Record<string, unknown> = {}): Step[] => [
          { action: 'exec', with: { command: process.execPath, args: [script], env: { OUT: out, TITLE: '{{name}}' }, ...extra } },
        ]
        const t = await runner(step(), {}, dir)
        const run = await one(t, { id: 1, name: 'Episode 1' })
        expect(run.state).toBe('done')
        const { env } = recorded(out)
        const allowed = new Set([
          'AUDIORISTA_EVENT',
          'AUDIORISTA_EVENT_ID',
          'AUDIORISTA_RUN_ID',
          'HOME',
          'LANG',
          'OUT',
          'PATH',
          'TITLE',
          'TZ',
        ])
        expect(Object.keys(env).filter((name) => !allowed.has(name))).toEqual([])
        expect(env).toMatchObject({ TITLE: 'Episode 1', AUDIORISTA_EVENT: 'title-ready', PATH: process.env.PATH })
        expect(JSON.stringify(env)).not.toContain('s3cr3t')

        const inherit = await runner(step({ inheritEnv: true }), {}, dir)
        expect((await one(inherit, { id: 2, name: 'Episode 2' })).state).toBe('done')
        expect(recorded(out).env.SLACK_BOT_TOKEN).toBe('xoxb-s3cr3t')
        passed(row, 2, 'PATH, HOME, LANG, TZ, AUDIORISTA_* and with.env only; inheritEnv: true passes the rest')
      } finally {
        for (const [name, value] of [
          ['AUDIORISTA_KEY', saved.key],
          ['SLACK_BOT_TOKEN', saved.slack],
        ] as const) {
          if (value === undefined) delete process.env[name]
          else process.env[name] = value
        }
      }
    })
  })

  it('email: a templated recipient is exactly one address; literal lists stay allowed', async () => {
    const row = report.row('injection-email', "email `to: '{{email}}'` with `victim@x, attacker@evil` and a `Bcc:` line")
    const smtp = open(await createSmtpSink())
    const settings = { actions: { email: { transport: smtp.url, from: 'Releases <releases@example.com>' } } }
    const t = await runner([{ action: 'email', with: { to: '{{email}}', subject: 'Live: {{name}}', text: 'hi' } }], settings)
    const attacks = [
      'victim@example.com, attacker@evil.example',
      'victim@example.com;attacker@evil.example',
      'victim@example.com\nBcc: attacker@evil.example',
      'not an address',
      '',
    ]
    const runs: StepRun[] = []
    for (const email of attacks) runs.push(await one(t, { email, name: 'x' }))
    expect(runs.map((r) => r.state)).toEqual(attacks.map(() => 'dead'))
    expect(runs.every((r) => r.attempt === 0)).toBe(true)
    expect(runs[0]!.error).toContain('rendered 2 addresses')
    expect(smtp.messages).toEqual([])

    expect((await one(t, { email: '"Doe, Jane" <jane@example.com>', name: 'ok' })).state).toBe('done')
    const list = await runner(
      [{ action: 'email', with: { to: ['a@example.com', 'b@example.com'], cc: '{{email}}', subject: 's', text: 't' } }],
      settings,
    )
    expect((await one(list, { email: 'c@example.com' })).state).toBe('done')
    expect(smtp.messages.map((m) => m.to)).toEqual([['jane@example.com'], ['a@example.com', 'b@example.com', 'c@example.com']])
    passed(row, attacks.length + 2, 'several, none or a header line: dead before SMTP; a quoted name with a comma is one address')
  })

  it('HTML email: a javascript: link from the payload renders as an empty href in the shipped template', async () => {
    const row = report.row('injection-html-link', 'shipped creator-ready.hbs with `share.url = javascript:alert(1)`')
    const smtp = open(await createSmtpSink())
    const dir = tempDir('ar-inject-html-')
    cpSync(fileURLToPath(new URL('../../recipes/templates', import.meta.url)), join(dir, 'recipes', 'templates'), { recursive: true })
    const t = await runner(
      [{ action: 'email', with: { to: 'jane@example.com', subject: 's', template: 'creator-ready' } }],
      { actions: { email: { transport: smtp.url, from: 'r@example.com' } } },
      dir,
    )
    expect((await one(t, { name: '<b>x</b>', creator: 'Jane', share: { url: 'javascript:alert(document.cookie)' } })).state).toBe('done')
    expect((await one(t, { name: 'Good', creator: 'Jane', share: { url: 'https://site.example/t/1' } })).state).toBe('done')
    const [bad, good] = smtp.messages
    expect(bad!.html).not.toMatch(/javascript:/i)
    expect(bad!.html).toContain('&lt;b&gt;x&lt;/b&gt;')
    expect(good!.html).toContain('<a href="https://site.example/t/1">')
    passed(row, 2, 'safeUrl lets only http, https and mailto through')
  })

  it("redirects: a cross-origin redirect never carries the step's headers or body to the other host", async () => {
    const row = report.row('injection-redirect', 'http step answered with a 307 to another origin')
    const other = open(await createHttpSink())
    const first = open(await createHttpSink({ reply: { status: 307, headers: { location: `${other.url}/steal` } } }))
    const t = await runner([
      {
        action: 'http',
        with: { url: `${first.url}/hook`, headers: { cookie: 'sid=s3cr3t', 'x-api-key': 's3cr3t' }, body: { id: '{{id}}' } },
      },
    ])
    const run = await one(t, { id: 1 })
    expect(run.state).toBe('dead')
    expect(run.error).toContain('redirected to another origin')
    expect(other.requests).toEqual([])
    const followed = await runner([
      {
        action: 'http',
        with: { url: `${first.url}/hook`, headers: { cookie: 'sid=s3cr3t', 'x-api-key': 's3cr3t' }, followRedirects: 'any' },
      },
    ])
    expect((await one(followed, { id: 2 })).state).toBe('done')
    expect(JSON.stringify(other.requests[0]!.headers)).not.toContain('s3cr3t')
    passed(row, 2, "refused by default; followRedirects: 'any' follows without the step's headers")
  })

  it('secrets: a token in a log message or in an error never reaches the log or the stored run', async () => {
    const row = report.row('injection-secrets', "URLs with `?token=` in a log message and in a failing program's stderr")
    const t = await runner([
      { action: 'log', with: { message: 'see https://hooks.example/x?token=s3cr3t' }, continueOnError: true },
      {
        action: 'exec',
        with: {
          command: process.execPath,
          args: ['-e', "console.error('see https://h.example/?trigger_token=s3cr3t'); process.exit(3)"],
          permanentExitCodes: [3],
        },
      },
    ])
    const runs = await t.deliver('title-ready', { id: 1 })
    expect(runs.map((r) => r.state)).toEqual(['done', 'dead'])
    expect(runs[1]!.error).toContain('trigger_token=[redacted]')
    expect(JSON.stringify(runs)).not.toContain('s3cr3t')
    expect(t.logs()).not.toContain('s3cr3t')
    passed(row, 2, 'log messages, stored errors and inputs go through the same masking')
  })
})
