/**
 * The Dockerfile's conditions, reproduced without a Docker engine: an app
 * folder laid out like the image's /app (dist, package.json, the shipped
 * config, recipes and plugins), owned by root and read-only; the runner as a
 * non-root uid; only the data folder (AUDIORISTA_DATA_DIR) writable. Start,
 * deliver, SIGTERM, start again: the data is intact and /app unchanged.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/runner.js'

const REPO = resolve(import.meta.dirname, '../..')
/** The image's `node` user. */
const UID = 1000
const GID = 1000
const isRoot = process.getuid?.() === 0

interface Started {
  proc: ChildProcess
  url: string
  output(): string
  exited: Promise<number | null>
}

/** Every path under `dir` with its type, mode, size and mtime; symlinks (node_modules) are not followed. */
function listing(dir: string): string[] {
  const out: string[] = []
  const walk = (at: string) => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name)
      const s = lstatSync(path)
      out.push(`${relative(dir, path)} ${s.isSymbolicLink() ? 'link' : s.isDirectory() ? 'dir' : 'file'} ${s.mode} ${s.size} ${s.mtimeMs}`)
      if (s.isDirectory()) walk(path)
    }
  }
  walk(dir)
  return out
}

/** chmod a-w, recursively, without following symlinks. */
function readOnly(path: string): void {
  const s = lstatSync(path)
  if (s.isSymbolicLink()) return
  if (s.isDirectory()) for (const name of readdirSync(path)) readOnly(join(path, name))
  chmodSync(path, s.mode & 0o555)
}

/**
 * The image's /app: what the Dockerfile copies, and our node_modules. Not a
 * link to ours: the clone may sit in a folder uid 1000 cannot enter (mkdtemp's
 * 0700, /root). Hard links cost no copy; their folders are new, root's and 0755.
 */
function appFolder(root: string): string {
  const app = join(root, 'app')
  mkdirSync(app)
  for (const entry of ['dist', 'package.json', 'audiorista.config.ts', 'recipes', 'plugins'])
    cpSync(join(REPO, entry), join(app, entry), { recursive: true })
  readOnly(app)
  // After readOnly: a hard link shares its file's mode with our own node_modules, which must stay as it is.
  const linked = spawnSync('cp', ['-al', join(REPO, 'node_modules'), join(app, 'node_modules')])
  if (linked.status !== 0) cpSync(join(REPO, 'node_modules'), join(app, 'node_modules'), { recursive: true })
  return app
}

/** `node dist/cli/main.js start` in `app` as the image runs it: uid 1000, a container's small environment. */
function start(app: string, data: string): Promise<Started> {
  const proc = spawn(process.execPath, ['dist/cli/main.js', 'start'], {
    cwd: app,
    uid: UID,
    gid: GID,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', AUDIORISTA_DATA_DIR: data, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const exited = new Promise<number | null>((done) => proc.on('exit', (code) => done(code)))
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      fail(new Error(`runner did not get ready:\n${out}`))
    }, 15_000)
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const url = /"url":"(http:\/\/[^"]+)".*"msg":"ready"/.exec(out)?.[1]
      if (url) {
        clearTimeout(timer)
        ready({ proc, url, output: () => out, exited })
      }
    })
    proc.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()))
    void exited.then((code) => {
      clearTimeout(timer)
      fail(new Error(`runner exited with ${code} before ready:\n${out}`))
    })
  })
}

/** SIGTERM, as `docker stop` sends it; resolves with the exit code, or fails after 15 s. */
async function stop(runner: Started): Promise<number | null> {
  runner.proc.kill('SIGTERM')
  const late = new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`no exit 15 s after SIGTERM:\n${runner.output()}`)), 15_000))
  return Promise.race([runner.exited, late])
}

// Tests start, use and stop a real process: on a busy machine, more than the default 20 s.
describe.skipIf(!isRoot && !process.env.CI)(
  'in container conditions (needs root to run as uid 1000; never skipped under CI)',
  { timeout: 60_000 },
  () => {
    let root: string
    let app: string
    let data: string
    let before: string[]
    let eventId: string
    const secret = (name: string) => readFileSync(join(data, name), 'utf8').trim()
    /** The console API's answer, once the console has started (it answers 503 `starting` until then). */
    const admin = async (url: string, path: string): Promise<any> => {
      const deadline = Date.now() + 10_000
      for (;;) {
        const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${secret('admin-token')}` } })
        if (res.status !== 503 || Date.now() > deadline) return { status: res.status, ...((await res.json()) as object) }
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const deliver = (url: string) =>
      fetch(`${url}/webhooks/title-ready`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-audiorista-key': secret('key') },
        body: JSON.stringify({ id: 4211, name: 'Episode 42' }),
      })

    beforeAll(() => {
      if (!isRoot) throw new Error('this test runs the runner as uid 1000, which needs root (CI runs as root)')
      root = tempDir('ar-container-')
      // mkdtemp makes it 0700: the runner's uid must reach /app inside it.
      chmodSync(root, 0o755)
      app = appFolder(root)
      data = join(root, 'data')
      mkdirSync(data, { mode: 0o700 })
      chownSync(data, UID, GID)
      before = listing(app)
    })

    afterAll(() => {
      if (root) rmSync(root, { recursive: true, force: true })
    })

    it('starts as uid 1000 with /app read-only, takes a delivery, runs its step, and stops on SIGTERM with exit 0', async () => {
      const runner = await start(app, data)
      try {
        expect((await fetch(`${runner.url}/readyz`)).status).toBe(200)
        const res = await deliver(runner.url)
        expect(res.status).toBe(202)
        eventId = ((await res.json()) as { id: string }).id
        // The shipped config's log-every-event recipe: one log step.
        const deadline = Date.now() + 10_000
        let shown = await admin(runner.url, `/admin/api/events/${eventId}`)
        while (Date.now() < deadline && shown.runs?.[0]?.state !== 'done') {
          await new Promise((r) => setTimeout(r, 50))
          shown = await admin(runner.url, `/admin/api/events/${eventId}`)
        }
        expect(shown).toMatchObject({ status: 200, runs: [{ recipe: 'log-every-event', state: 'done' }] })
      } finally {
        expect(await stop(runner)).toBe(0)
      }
      expect(runner.output()).toContain(`saved in ${join(data, 'key')}`)
    })

    it('wrote only in the data folder: the store, key and admin token there, private and the runner uid’s', () => {
      expect(listing(app)).toEqual(before)
      const files = readdirSync(data)
      expect(files).toEqual(expect.arrayContaining(['key', 'admin-token', 'runner.db']))
      for (const name of ['key', 'admin-token', 'runner.db']) {
        const s = statSync(join(data, name))
        expect({ name, uid: s.uid, mode: (s.mode & 0o777).toString(8) }).toEqual({ name, uid: UID, mode: '600' })
      }
      // jiti's transpile cache for the TypeScript config, since /app/node_modules is not writable.
      expect((statSync(join(data, 'cache')).mode & 0o777).toString(8)).toBe('700')
    })

    it('starts again on the same data: the event, its run, the key and the dedupe record are still there', async () => {
      const key = secret('key')
      const runner = await start(app, data)
      try {
        expect((await fetch(`${runner.url}/readyz`)).status).toBe(200)
        expect(await admin(runner.url, `/admin/api/events/${eventId}`)).toMatchObject({
          status: 200,
          event: { id: eventId, status: 'done' },
          runs: [{ recipe: 'log-every-event', state: 'done' }],
        })
        const again = await deliver(runner.url)
        expect({ status: again.status, body: await again.json() }).toEqual({
          status: 200,
          body: { accepted: true, duplicate: true, id: eventId },
        })
        expect(secret('key')).toBe(key)
        expect(runner.output()).not.toContain('was generated')
      } finally {
        expect(await stop(runner)).toBe(0)
      }
      expect(listing(app)).toEqual(before)
    })

    it('says how to fix a data folder the runner may not write (a bind mount owned by root)', async () => {
      const rootOwned = join(root, 'root-owned')
      mkdirSync(rootOwned, { mode: 0o755 })
      const failed = await start(app, rootOwned).then(
        () => expect.unreachable('started with a data folder it cannot write'),
        (err: Error) => err.message,
      )
      expect(failed).toContain('exited with 1 before ready')
      expect(failed).toContain(
        `cannot write ${join(rootOwned, 'key')}: permission denied. The runner keeps its data there (store, key, admin token): make ${rootOwned} writable by this user (uid ${UID}), or set AUDIORISTA_DATA_DIR`,
      )
      expect(listing(app)).toEqual(before)
    })
  },
)
