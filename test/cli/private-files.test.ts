/**
 * `start` as a user runs it from a shell whose umask lets everyone read new
 * files (umask 000): the data folder is 0700 and every file in it 0600 all
 * the same, including a store in folders that do not exist yet.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type ChildRunner, startChild, writeConfig } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8)
const recipes = [{ name: 'log', on: 'title-ready', do: [{ action: 'log' }] }]

/** Delivers one event and waits until its step is done, so the database, -wal and -shm all exist. */
async function deliverOne(child: ChildRunner, key?: string): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { 'x-audiorista-key': key } : {}) }
  const res = await fetch(`${child.url}/webhooks/title-ready`, { method: 'POST', headers, body: '{"id":4211,"name":"Episode 42"}' })
  expect(res.status).toBe(202)
  const deadline = Date.now() + 10_000
  while (!child.output().includes('(log) done') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
  expect(child.output()).toContain('(log) done')
}

const STORE_FILES = {
  'runner.db': '600',
  'runner.db-wal': '600',
  'runner.db-shm': '600',
  'runner.db.lock': '600',
  'runner.db.owner': '600',
}
const modes = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, mode(join(dir, f))]))
const warnings = (child: ChildRunner) =>
  child
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level === 40)
    .map((l) => l.msg)

async function stop(child: ChildRunner): Promise<void> {
  child.proc.kill('SIGTERM')
  expect(await child.exited).toBe(0)
}

describe('start keeps its data private, whatever the umask', () => {
  it.each(['000', '022'])(
    'first run under umask %s: .audiorista is 0700, the key, admin token, db, -wal, -shm and lock 0600',
    async (umask) => {
      const dir = tempDir()
      chmodSync(dir, 0o755)
      writeConfig(dir, { recipes })
      const child = await startChild(dir, { umask, env: { AUDIORISTA_KEY: '' } })
      try {
        await deliverOne(child, readFileSync(join(dir, '.audiorista/key'), 'utf8').trim())
        expect(mode(join(dir, '.audiorista'))).toBe('700')
        expect(modes(join(dir, '.audiorista'))).toEqual({ key: '600', 'admin-token': '600', ...STORE_FILES })
        expect(warnings(child).filter((w) => w.includes('chmod'))).toEqual([])
      } finally {
        await stop(child)
      }
    },
  )

  it('creates every missing folder of store.path a/b/c/runner.db as 0700', async () => {
    const dir = tempDir()
    chmodSync(dir, 0o755)
    writeConfig(dir, { auth: { allowUnauthenticated: true }, store: { path: 'a/b/c/runner.db' }, recipes })
    const child = await startChild(dir, { umask: '000', env: { AUDIORISTA_KEY: '' } })
    try {
      await deliverOne(child)
      expect(['a', 'a/b', 'a/b/c'].map((d) => mode(join(dir, d)))).toEqual(['700', '700', '700'])
      expect(modes(join(dir, 'a/b/c'))).toEqual(STORE_FILES)
      expect(mode(dir)).toBe('755')
    } finally {
      await stop(child)
    }
  })

  it('warns about an existing 0755 data folder and leaves it as is; the old 0644 key becomes 0600', async () => {
    const dir = tempDir()
    const data = join(dir, '.audiorista')
    mkdirSync(data)
    chmodSync(data, 0o755)
    writeFileSync(join(data, 'key'), 'key-from-an-older-version\n')
    chmodSync(join(data, 'key'), 0o644)
    writeConfig(dir, { recipes })
    const child = await startChild(dir, { umask: '022', env: { AUDIORISTA_KEY: '' } })
    try {
      await deliverOne(child, 'key-from-an-older-version')
      const about = warnings(child).filter((w) => w.includes(data))
      // Once, although both the key and the store live there.
      expect(about).toHaveLength(1)
      expect(about[0]).toContain('mode 755')
      expect(about[0]).toContain(`chmod 700 ${data}`)
      expect(mode(data)).toBe('755')
      expect(modes(data)).toEqual({ key: '600', 'admin-token': '600', ...STORE_FILES })
    } finally {
      await stop(child)
    }
  })
})
