/**
 * Case 9 of issue 23: secrets that masking by field name missed — an exec
 * step's `Authorization: Bearer …` and `--password …` arguments (echoed to
 * stdout), a form-encoded string body, custom credential headers — stay out
 * of everything a person or the store sees: the admin API, the console page,
 * `events show`, the log, `simulate`, and the SQLite file's bytes.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Config } from '../../src/types.js'
import { runCli } from '../helpers/child.js'
import { startConsoleRunner } from '../helpers/console.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { tempDir } from '../helpers/runner.js'

// From the environment, as a deployment passes them; the names look secret, the values are what must not leak.
const ENV = {
  MASKTEST_API_TOKEN: 'envtok-7Qm2Lx9Pz4Rw',
  MASKTEST_CLIENT_SECRET: 'envsec-3Hd8Kv1Ny6Ub',
  MASKTEST_PAT: 'envpat-5Gc0Bj7Ts2Ea',
}
// Written in the config as literals.
const PASSWORD = 'litpass-9Wf4Zq1Xk8'
const X_AUTH = 'litauth-2Vn6Mr3Jy0'
const JWT = 'eyJhbGciOi.litjwt-4Pd9Sc'
const SECRETS = [...Object.values(ENV), PASSWORD, X_AUTH, JWT]

function config(dir: string, sink: string): Config {
  return {
    auth: { allowUnauthenticated: true },
    recipes: [
      {
        name: 'leaky',
        on: 'title-ready',
        do: [
          {
            action: 'exec',
            name: 'curl',
            with: {
              command: process.execPath,
              args: [join(dir, 'echo.mjs'), '-H', `Authorization: Bearer ${ENV.MASKTEST_API_TOKEN}`, '--password', PASSWORD],
            },
          },
          {
            action: 'http',
            with: {
              url: `${sink}/hook`,
              headers: {
                'content-type': 'application/x-www-form-urlencoded',
                'x-auth': X_AUTH,
                'x-pat': ENV.MASKTEST_PAT,
                'x-goog-iap-jwt-assertion': JWT,
              },
              body: `title={{name}}&api_token=${ENV.MASKTEST_API_TOKEN}&client_secret=${ENV.MASKTEST_CLIENT_SECRET}`,
            },
          },
        ],
      },
    ],
  }
}

function leaked(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s))
}

describe('case 9: secrets are masked by value and by name, wherever they appear', () => {
  const dir = tempDir('ar-mask-')
  let sink: HttpSink
  let eventId = ''
  const seen: Record<string, string> = {}

  beforeAll(async () => {
    Object.assign(process.env, ENV)
    writeFileSync(join(dir, 'echo.mjs'), 'console.log(process.argv.slice(2).join("\\n"))\n')
    sink = await createHttpSink()
    const t = await startConsoleRunner({ ...config(dir, sink.url), store: { path: join(dir, 'runner.db') } })
    try {
      const runs = await t.deliver('title-ready', { id: 4211, name: 'Episode 42' })
      expect(runs.map((r) => r.state)).toEqual(['done', 'done'])
      eventId = runs[0]!.eventId
      seen.api = (await t.call(`/admin/api/events/${eventId}`)).text
      seen.page = (await t.call(`/admin/events/${eventId}`)).text
      seen.log = t.logs()
    } finally {
      await t.close()
    }
  })

  afterAll(async () => {
    for (const name of Object.keys(ENV)) delete process.env[name]
    await sink.close()
  })

  it('the program and the sink still get the real values', () => {
    const req = sink.requests[0]!
    expect(req.headers['x-auth']).toBe(X_AUTH)
    expect(req.form().get('client_secret')).toBe(ENV.MASKTEST_CLIENT_SECRET)
    // The program echoed its arguments; what is kept of its stdout is masked.
    expect(JSON.parse(seen.api!).runs[0].result.stdout).toBe(`-H\nAuthorization: ***\n--password\n***`)
  })

  it('the admin API, the console page and the log show none of them, and show ***', () => {
    for (const what of ['api', 'page', 'log']) {
      expect({ what, leaked: leaked(seen[what]!) }).toEqual({ what, leaked: [] })
    }
    const { runs } = JSON.parse(seen.api!)
    expect(runs[0].input.args).toEqual([join(dir, 'echo.mjs'), '-H', 'Authorization: ***', '--password', '***'])
    expect(runs[0].result.stdout).toContain('***')
    expect(runs[1].input.body).toBe('title=Episode 42&api_token=***&client_secret=***')
    expect(runs[1].input.headers).toMatchObject({ 'x-auth': '[redacted]', 'x-pat': '[redacted]', 'x-goog-iap-jwt-assertion': '[redacted]' })
    expect(seen.page).toContain('***')
  })

  it('the SQLite file holds none of them', () => {
    const files = readdirSync(dir).filter((f) => f.startsWith('runner.db'))
    expect(files).toContain('runner.db')
    for (const f of files) expect({ f, leaked: leaked(readFileSync(join(dir, f)).toString('latin1')) }).toEqual({ f, leaked: [] })
  })

  it('events show and simulate print none of them', () => {
    const mjs = join(dir, 'audiorista.config.mjs')
    const body = { ...config(dir, 'http://127.0.0.1:9'), store: { path: join(dir, 'runner.db') } }
    // The config reads the secrets from the environment, as a deployment's does.
    let source = `export default ${JSON.stringify(body, null, 2)}\n`
    for (const [name, value] of Object.entries(ENV)) source = source.replaceAll(`"${value}`, `"\${process.env.${name}}`)
    writeFileSync(mjs, source.replace(/"([^"\n]*\$\{process\.env\.[^"\n]*)"/g, '`$1`'))
    const show = runCli(['events', 'show', eventId, '--json', '--config', mjs], { cwd: dir, env: ENV })
    expect(show.status).toBe(0)
    expect(leaked(show.stdout + show.stderr)).toEqual([])
    expect(show.stdout).toContain('***')
    writeFileSync(join(dir, 'payload.json'), JSON.stringify({ id: 4211, name: 'Episode 42' }))
    const sim = runCli(['simulate', 'title-ready', join(dir, 'payload.json'), '--config', mjs], { cwd: dir, env: ENV })
    expect(sim.stdout).toContain('api_token=***')
    expect(leaked(sim.stdout + sim.stderr)).toEqual([])
  })
})
