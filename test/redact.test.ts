import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveConfig } from '../src/config/resolve.js'
import { maskSecretsOf, redact } from '../src/redact.js'
import type { Config } from '../src/types.js'
import { runCli, writeConfig } from './helpers/child.js'
import { createHttpSink } from './helpers/http-sink.js'
import { startTestRunner, tempDir } from './helpers/runner.js'

describe('redact: field names', () => {
  it('masks secret-looking fields at any depth and in any case, and keeps the rest', () => {
    const secret = ['Cookie', 'Set-Cookie', 'X-Api-Key', 'x-custom-token', 'x-hook-secret', 'Authorization']
    secret.push('signature', 'x-hub-sig', 'x-signing-key')
    const more = ['password', 'githubToken', 'auth', 'pass', 'sig', 'key', 'AUDIORISTA_KEY', 'AWS_ACCESS_KEY_ID']
    const input = {
      url: 'https://example.com/hook',
      headers: {
        ...Object.fromEntries(secret.map((k) => [k, 'v'])),
        'X-Trace': 't',
        'Content-Type': 'text/plain',
        'X-Request-Id': 'run_1',
      },
      nested: [{ ...Object.fromEntries(more.map((k) => [k, { user: 'u' }])), title: 'Episode 42', keyword: 'k', author: 'a' }],
      empty: { token: '' },
    }
    expect(redact(input)).toEqual({
      url: 'https://example.com/hook',
      // Headers: every value but an allow-list of harmless ones.
      headers: {
        ...Object.fromEntries(secret.map((k) => [k, '[redacted]'])),
        'X-Trace': '[redacted]',
        'Content-Type': 'text/plain',
        'X-Request-Id': 'run_1',
      },
      nested: [{ ...Object.fromEntries(more.map((k) => [k, '[redacted]'])), title: 'Episode 42', keyword: 'k', author: 'a' }],
      empty: { token: '' },
    })
  })

  it('leaves the original untouched, and a __proto__ key stays a plain field of the copy', () => {
    const input = JSON.parse('{"__proto__":{"polluted":true},"cookie":"c"}')
    const out = redact(input) as Record<string, unknown>
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.hasOwn(out, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(input.cookie).toBe('c')
  })
})

describe('redact: URLs in strings', () => {
  const cases: Array<[string, string]> = [
    [
      'https://api.netlify.com/build_hooks/abc?trigger_token=s3cr3t&title=x',
      'https://api.netlify.com/build_hooks/abc?trigger_token=[redacted]&title=x',
    ],
    ['https://user:pa55@host.example/x', 'https://user:***@host.example/x'],
    ['https://ghp_t0ken@github.com/o/r.git', 'https://***@github.com/o/r.git'],
    ['http://u:p@127.0.0.1:8080/?a=1', 'http://u:***@127.0.0.1:8080/?a=1'],
    ...'TOKEN Key api_key apiKey apikey x_token X-Amz-Signature sig password access_token auth client_secret SID'
      .split(' ')
      .map((name): [string, string] => [`https://x.example/?id=1&${name}=v#top`, `https://x.example/?id=1&${name}=[redacted]#top`]),
    ['https://x.example/?keyword=a&monkey=b&author=c&id=4211&token=', 'https://x.example/?keyword=a&monkey=b&author=c&id=4211&token='],
    ['https://x.example/cb#access_token=abc&state=1', 'https://x.example/cb#access_token=[redacted]&state=1'],
    ['https://x.example/?trigger%5Ftoken=abc', 'https://x.example/?trigger%5Ftoken=[redacted]'],
    ['no url here, token=abc', 'no url here, token=***'],
  ]
  it.each(cases)('%s', (input, expected) => {
    expect(redact(input)).toBe(expected)
    expect(redact({ v: input })).toEqual({ v: expected })
  })

  it('finds URLs inside longer text: Slack links, markdown, sentences', () => {
    const text =
      'Rebuilt <https://h.example/hook?x=1&amp;token=s3cr3t|the site> (see https://h.example/?sig=s3cr3t). [log](https://a:s3cr3t@h.example/l).'
    expect(redact({ text })).toEqual({
      text: 'Rebuilt <https://h.example/hook?x=1&amp;token=[redacted]|the site> (see https://h.example/?sig=[redacted]). [log](https://a:***@h.example/l).',
    })
  })

  it('is idempotent: redacting a redacted copy changes nothing', () => {
    const once = redact({ u: 'see https://u:p@h.example/?token=a), then https://h.example/#sig=b' })
    expect(redact(once)).toEqual(once)
  })

  it('masks URLs inside values that are not plain objects, as JSON would show them', () => {
    const out = redact({ at: new URL('https://h.example/?token=s3cr3t'), when: new Date(0) })
    expect(out).toEqual({ at: 'https://h.example/?token=[redacted]', when: '1970-01-01T00:00:00.000Z' })
  })
})

describe('redact: odd input', () => {
  it('never throws: cycles, deep nesting, throwing getters', () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    cyclic.both = [cyclic, cyclic]
    expect(redact(cyclic)).toEqual({ a: 1, self: '[circular]', both: ['[circular]', '[circular]'] })
    let deep: unknown = 'https://h.example/?token=s3cr3t'
    for (let i = 0; i < 200; i++) deep = { d: deep }
    expect(JSON.stringify(redact(deep))).not.toContain('s3cr3t')
    const getter = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get: () => {
        throw new Error('no')
      },
    })
    expect(redact({ ok: 1, getter })).toEqual({ ok: 1, getter: '[unreadable]' })
    for (const v of [undefined, null, 0, true, 1n, Symbol('s'), () => 1]) expect(() => redact(v)).not.toThrow()
  })

  it('stays linear on long hostile strings', () => {
    const letters = `${'a'.repeat(200_000)} x:// ${'.'.repeat(200_000)}a https://h/?${'&'.repeat(200_000)}token=s`
    // No timing assertion: a quadratic scan of these 600k characters would run for minutes and time the test out.
    expect((redact(letters) as string).endsWith('token=[redacted]')).toBe(true)
  })
})

describe('secrets in a step stay out of run rows, logs and simulate', () => {
  const headers = { cookie: 'sid=s3cr3t', 'x-api-key': 's3cr3t' }
  const step = (url: string) => ({ action: 'http', with: { url: `${url}/hook?trigger_token=s3cr3t&title={{id}}`, headers } })
  const config = (url: string): Config => ({
    auth: { allowUnauthenticated: true },
    recipes: [{ name: 'rebuild', on: 'title-ready', do: [step(url)] }],
  })

  it('the target gets the real values; the stored input and the log do not contain them', async () => {
    const sink = await createHttpSink()
    const t = await startTestRunner(config(sink.url))
    try {
      const [run] = await t.deliver('title-ready', { id: 4211, name: 'Episode 42' })
      expect(run!.state).toBe('done')
      expect(sink.requests[0]).toMatchObject({ path: '/hook?trigger_token=s3cr3t&title=4211', headers })
      const masked = { cookie: '[redacted]', 'x-api-key': '[redacted]' }
      expect(run!.input).toMatchObject({ url: `${sink.url}/hook?trigger_token=[redacted]&title=4211`, headers: masked })
      expect(JSON.stringify(await t.runner.store.runsForEvent(run!.eventId))).not.toContain('s3cr3t')
      expect(t.logs()).toContain('done')
      expect(t.logs()).not.toContain('s3cr3t')
    } finally {
      await t.close()
      await sink.close()
    }
  })

  it('simulate prints the rendered input without them', () => {
    const dir = tempDir()
    const file = writeConfig(dir, config('http://127.0.0.1:9'))
    writeFileSync(join(dir, 'payload.json'), JSON.stringify({ id: 4211, name: 'Episode 42' }))
    const r = runCli(['simulate', 'title-ready', join(dir, 'payload.json'), '--config', file], { cwd: dir })
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain('trigger_token=[redacted]&title=4211')
    expect(r.stdout).toContain('"cookie": "[redacted]"')
    expect(r.stdout).not.toContain('s3cr3t')
  })
})

describe('redact: secrets by value', () => {
  const resolved = (raw: Config) => resolveConfig(raw, { rootDir: tempDir() })
  afterEach(() => maskSecretsOf(resolved({})))

  it('masks every secret the config resolves, wherever it appears, and forgets them on the next load', () => {
    const env = { DEPLOY_TOKEN: 'envtoken-123456', PATH: '/usr/local/bin:/usr/bin', HOME: '/home/runner' }
    maskSecretsOf(
      resolved({
        auth: { keys: ['whk-key-0123456789'] },
        admin: { token: 'admin-token-0123456789' },
        actions: { email: { smtp: 'smtp://mailer:smtp-pass-42@mail.example:587' }, slack: { token: 'xoxb-slack-1234' } },
        recipes: [
          {
            name: 'r',
            on: 'title-ready',
            do: [{ action: 'http', with: { url: 'https://h.example/x', headers: { 'x-deploy': `Bearer ${env.DEPLOY_TOKEN}` } } }],
          },
        ],
      }),
      env,
    )
    const text = 'key whk-key-0123456789, admin-token-0123456789 then smtp-pass-42 and xoxb-slack-1234 or envtoken-123456 in /usr/bin'
    expect(redact({ stdout: text })).toEqual({ stdout: 'key ***, *** then *** and *** or *** in /usr/bin' })
    maskSecretsOf(resolved({}))
    expect(redact(text)).toBe(text)
  })

  it('ignores values shorter than 6 characters, so *** does not eat ordinary text', () => {
    maskSecretsOf(resolved({ actions: { http: { githubToken: 'abc12' } }, vars: { password: 'hunter2!' } }))
    expect(redact('abc12 hunter2!')).toBe('abc12 ***')
  })

  it('scans a 1 MB output once, whatever the number of secrets', () => {
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}-abcdef`)
    maskSecretsOf(resolved({ auth: { keys } }))
    const big = `${'a'.repeat(500_000)} key-199-abcdef ${'key-1'.repeat(100_000)}`
    const started = performance.now()
    const out = redact(big) as string
    const ms = performance.now() - started
    expect(out).toContain(' *** ')
    expect(out).not.toContain('key-199-abcdef')
    // Not a timing assertion (the machine is shared): printed for the record.
    console.log(`redact of ${big.length} characters with 200 secrets: ${ms.toFixed(0)} ms`)
  })
})

describe('redact: secrets named inside strings', () => {
  const cases: Array<[string, string]> = [
    ['Authorization: Bearer abc.def-123', 'Authorization: ***'],
    ['x-goog-iap-jwt-assertion: eyJhbGci.x', 'x-goog-iap-jwt-assertion: ***'],
    ['curl -H "X-Api-Key: k3y-value" https://h.example/', 'curl -H "X-Api-Key: ***" https://h.example/'],
    ['sent with bearer tok3n-abcdef ok', 'sent with bearer *** ok'],
    ['mysql --password hunter22 --user bob', 'mysql --password *** --user bob'],
    ['tool --token=s3cr3t-x --verbose', 'tool --token=*** --verbose'],
    ['title=Ep+42&api_token=abc&client_secret=def', 'title=Ep+42&api_token=***&client_secret=***'],
    ['SMTP_PASSWORD=pa55 node x.js', 'SMTP_PASSWORD=*** node x.js'],
    ['Reset your password: click the link', 'Reset your password: click the link'],
    ['config reloaded: keys: rotated; auth: Enabled; --token none', 'config reloaded: keys: rotated; auth: Enabled; --token none'],
    ['keyword=podcast&id=4211 key: Season 2', 'keyword=podcast&id=4211 key: Season 2'],
  ]
  it.each(cases)('%s', (input, expected) => {
    expect(redact(input)).toBe(expected)
  })

  it('masks the argument after a secret option, and every header but the harmless ones', () => {
    const input = {
      args: ['-H', 'Authorization: Basic dXNlcjpwYXNz', '--password', 'hunter22', '-v', 'file.txt'],
      headers: { 'Content-Type': 'text/plain', 'user-agent': 'ua', 'x-auth': 'a', 'x-pat': 'p', 'x-custom': 'c' },
    }
    expect(redact(input)).toEqual({
      args: ['-H', 'Authorization: ***', '--password', '***', '-v', 'file.txt'],
      headers: {
        'Content-Type': 'text/plain',
        'user-agent': 'ua',
        'x-auth': '[redacted]',
        'x-pat': '[redacted]',
        'x-custom': '[redacted]',
      },
    })
  })

  it('stays linear on long hostile strings for every in-text rule', () => {
    const hostile = [
      'a'.repeat(300_000),
      '-a '.repeat(100_000),
      'a: '.repeat(100_000),
      'a='.repeat(100_000),
      `x: ${' '.repeat(300_000)}y z`,
    ]
    for (const text of hostile) expect((redact(text) as string).length).toBeGreaterThan(0)
  })
})

describe('redact: errors', () => {
  it('keeps an error without secrets, and masks the message and stack of one that quotes a secret', () => {
    maskSecretsOf(resolveConfig({ auth: { keys: ['err-key-0123456789'] } }, { rootDir: tempDir() }))
    try {
      const plain = new Error('plain')
      expect(redact({ err: plain })).toEqual({ err: plain })
      const masked = redact({ err: new Error('refused err-key-0123456789') }) as { err: { message: string; stack: string } }
      expect(masked.err.message).toBe('refused ***')
      expect(masked.err.stack).not.toContain('err-key-0123456789')
    } finally {
      maskSecretsOf(resolveConfig({}, { rootDir: tempDir() }))
    }
  })
})
