/**
 * What a new user hit on the first day (issue 10, "Rough edges"), each tried
 * the way they tried it: the real CLI in a temporary folder.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type ChildRunner, runCli, runCliAsync, startChild, writeConfig } from '../helpers/child.js'
import { createHttpSink } from '../helpers/http-sink.js'
import { tempDir } from '../helpers/runner.js'

const recipes = [{ name: 'log', on: 'title-ready', do: [{ action: 'log' }] }]
const post = (url: string, body: string) =>
  fetch(`${url}/webhooks/title-ready`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })

const logLines = (child: ChildRunner) =>
  child
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown })
const warnings = (child: ChildRunner) =>
  logLines(child)
    .filter((l) => l.level === 40)
    .map((l) => l.msg)

async function until(what: string, holds: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function stop(child: ChildRunner): Promise<void> {
  child.proc.kill('SIGTERM')
  expect(await child.exited).toBe(0)
}

describe('start', () => {
  it('prints the address it really binds (all interfaces), and the webhook URLs to reach it locally', async () => {
    const dir = tempDir()
    writeConfig(dir, { auth: { allowUnauthenticated: true }, recipes })
    const child = await startChild(dir, { args: ['--host', '0.0.0.0'] })
    try {
      const port = new URL(child.url).port
      expect(child.output()).toContain(`audiorista-runner is listening on 0.0.0.0:${port} (all interfaces)`)
      expect(child.output()).not.toContain('listening on http://')
      expect(child.output()).toContain(`Title ready       http://127.0.0.1:${port}/webhooks/title-ready`)
      expect(child.output()).toContain('public https address in place of 127.0.0.1')
      expect(logLines(child).find((l) => l.msg === 'ready')).toMatchObject({ bind: `0.0.0.0:${port}`, url: `http://127.0.0.1:${port}` })
    } finally {
      await stop(child)
    }
  })

  it('says when it listens on loopback only', async () => {
    const dir = tempDir()
    writeConfig(dir, { auth: { allowUnauthenticated: true }, recipes })
    const child = await startChild(dir)
    try {
      expect(child.output()).toContain(`listening on 127.0.0.1:${new URL(child.url).port} (loopback: this machine only)`)
    } finally {
      await stop(child)
    }
  })

  it('on SIGHUP reloads the config and keeps running; SIGTERM then exits 0 and releases the lock', async () => {
    const dir = tempDir()
    writeConfig(dir, { auth: { allowUnauthenticated: true }, store: { path: join(dir, 'runner.db') }, recipes })
    const child = await startChild(dir)
    child.proc.kill('SIGHUP')
    await until('the reload', () => child.output().includes('"msg":"config reloaded: recipes: +0 ~0 -0; keys: unchanged"'))
    const res = await post(child.url, '{"id":1}')
    expect(res.status).toBe(202)
    expect(existsSync(join(dir, 'runner.db.owner'))).toBe(true)
    await stop(child)
    expect(existsSync(join(dir, 'runner.db.owner'))).toBe(false)
    await stop(await startChild(dir))
  })

  it('warns when there are no recipes, naming the config to add them to', async () => {
    const dir = tempDir()
    writeConfig(dir, { auth: { allowUnauthenticated: true } })
    const child = await startChild(dir)
    try {
      expect(warnings(child)).toContain('no recipes: deliveries are stored but nothing runs; add recipes to audiorista.config.json')
    } finally {
      await stop(child)
    }
  })

  it('does not warn about recipes when there are some', async () => {
    const dir = tempDir()
    writeConfig(dir, { auth: { allowUnauthenticated: true }, recipes })
    const child = await startChild(dir)
    try {
      expect(warnings(child).filter((w) => w.includes('nothing runs'))).toEqual([])
    } finally {
      await stop(child)
    }
  })
})

describe('check without a config', () => {
  it('exits 1, saying no config was found, where it looked, and what to do', () => {
    const dir = tempDir()
    const r = runCli(['check'], { cwd: dir })
    expect(r.status).toBe(1)
    expect(r.stdout).not.toContain('ok')
    expect(r.stderr).toContain(`no config file found in ${dir} (looked for audiorista.config.ts, audiorista.config.mts,`)
    expect(r.stderr).toContain('.audioristarc.json')
    expect(r.stderr).toContain('package.json#audiorista); create one (npx audiorista-runner init) or pass --config')
  })

  it('names the folder given with --config', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'conf'))
    const r = runCli(['check', '--config', 'conf'], { cwd: dir })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(`no config file found in ${join(dir, 'conf')} (looked for`)
  })
})

describe('send: the key without putting it on the command line', () => {
  it('takes --key, then --key-file, then $AUDIORISTA_KEY', async () => {
    const dir = tempDir()
    writeConfig(dir, { auth: { keys: ['the-right-key'] }, store: { path: join(dir, 'runner.db') }, recipes })
    writeFileSync(join(dir, 'right.key'), '  the-right-key\n')
    writeFileSync(join(dir, 'payload.json'), '{"id":7,"name":"Seven"}')
    const child = await startChild(dir, { env: { AUDIORISTA_KEY: '' } })
    try {
      const url = `${child.url}/webhooks/title-ready`
      const send = (args: string[], env: Record<string, string> = {}) =>
        runCliAsync(['send', 'title-ready', 'payload.json', '--url', url, ...args], { cwd: dir, env: { AUDIORISTA_KEY: '', ...env } })
      // The file beats the environment.
      const fromFile = await send(['--key-file', 'right.key'], { AUDIORISTA_KEY: 'wrong' })
      expect(fromFile.stdout).toMatch(/^202 /)
      const fromEnv = await send([], { AUDIORISTA_KEY: 'the-right-key' })
      expect(fromEnv.stdout).toMatch(/^200 /)
      // --key beats the file.
      const flag = await send(['--key', 'wrong', '--key-file', 'right.key'])
      expect(flag.status).toBe(1)
      expect(flag.stdout).toMatch(/^401 /)
      const missing = await send(['--key-file', 'nope.key'])
      expect(missing.status).toBe(1)
      expect(missing.stderr).toContain('cannot read the key file nope.key: no such file')
    } finally {
      await stop(child)
    }
  })

  it('--help recommends $AUDIORISTA_KEY or --key-file over --key', () => {
    const help = runCli(['send', '--help'], { cwd: tempDir() }).stdout.replace(/\s+/g, ' ')
    expect(help).toContain('--key-file <file>')
    expect(help).toContain('prefer $AUDIORISTA_KEY or --key-file')
    expect(help).toContain('--key, --key-file, $AUDIORISTA_KEY, the generated .audiorista/key')
  })
})

describe('previewed events', () => {
  it('are listed as previewed, and retry sends them for real once the credential is set', async () => {
    const sink = await createHttpSink()
    const dir = tempDir()
    // An unset BUILD_HOOK_URL is "not configured yet": both steps preview.
    writeFileSync(
      join(dir, 'audiorista.config.mjs'),
      `const hook = process.env.BUILD_HOOK_URL
export default {
  auth: { allowUnauthenticated: true },
  store: { path: 'runner.db' },
  recipes: [{ name: 'rebuild', on: 'title-ready', do: [
    { action: 'http', with: { url: hook && hook + '/a' } },
    { action: 'http', with: { url: hook && hook + '/b' } },
  ] }],
}
`,
    )
    try {
      const child = await startChild(dir, { env: { BUILD_HOOK_URL: '', NODE_ENV: '' } })
      await post(child.url, '{"id":1,"name":"One"}')
      await until('both previews', () => logLines(child).filter((l) => l.msg.startsWith('preview:')).length === 2)
      await stop(child)

      const listed = await runCliAsync(['events'], { cwd: dir, env: { BUILD_HOOK_URL: '' } })
      expect(listed.stdout).toMatch(/evt_\S+\s+title-ready\s+\S+\s+previewed\s+2\s+One/)
      const runId = /(run_\S+) rebuild step 1 \(http\): previewed, nothing was sent/.exec(listed.stdout)?.[1]
      expect(runId, listed.stdout).toBeDefined()
      expect(listed.stdout).toContain(`once its credentials are set: audiorista-runner retry ${runId}`)
      expect((await runCliAsync(['events', '--status', 'previewed'], { cwd: dir })).stdout).toContain('previewed')
      expect((await runCliAsync(['events', '--status', 'done'], { cwd: dir })).stdout).toContain('no events with status done')

      // Still no credential: retrying would only preview again, so it says what is missing.
      const early = await runCliAsync(['retry', runId!], { cwd: dir, env: { BUILD_HOOK_URL: '' } })
      expect(early.status).toBe(1)
      expect(early.stderr).toContain('would only preview again (with.url is not set')
      expect(sink.count).toBe(0)

      const retried = await runCliAsync(['retry', runId!], { cwd: dir, env: { BUILD_HOOK_URL: sink.url } })
      expect(retried.status, retried.stderr).toBe(0)
      expect(retried.stdout).toMatch(/rebuild step 1 \(http\): done/)
      expect(retried.stdout).toMatch(/rebuild step 2 \(http\): done/)
      expect(sink.requests.map((r) => r.path)).toEqual(['/a', '/b'])
      const after = await runCliAsync(['events'], { cwd: dir })
      expect(after.stdout).toMatch(/evt_\S+\s+title-ready\s+\S+\s+done\s+2\s+One/)
    } finally {
      await sink.close()
    }
  })

  it('events --help explains the statuses, previewed among them', () => {
    const help = runCli(['events', '--help'], { cwd: tempDir() }).stdout.replace(/\s+/g, ' ')
    expect(help).toContain('only events with this status: received, unmatched, running, dead, previewed, done')
    expect(help).toContain('else previewed if a step only logged what it would send')
  })
})
