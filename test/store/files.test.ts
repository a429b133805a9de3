/**
 * The data folder and its files are private whatever the umask. The umask is
 * set in a child process (it is per process, and shared by the tests of a
 * worker), which then calls the built module, as the runner does.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createSqliteBackend } from '../../src/store/sqlite.js'
import { tempDir } from '../helpers/runner.js'

const FILES = fileURLToPath(new URL('../../dist/store/files.js', import.meta.url))
const SQLITE = fileURLToPath(new URL('../../dist/store/sqlite.js', import.meta.url))

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8)

/** Runs `code` (an ES module body; `files` and `sqlite` are the built modules) under `umask`, printing what it returns as JSON. */
function under(umask: number, code: string): unknown {
  const script = `process.umask(${umask})
    const files = await import(${JSON.stringify(FILES)})
    const sqlite = await import(${JSON.stringify(SQLITE)})
    const out = await (async () => { ${code} })(); console.log(JSON.stringify(out ?? null))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

describe.each([0o000, 0o022, 0o277])('private data files under umask %s', (umask) => {
  it('creates every missing folder level 0700, and leaves the existing parent alone', () => {
    const root = tempDir()
    chmodSync(root, 0o755)
    const dir = join(root, 'a', 'b', 'c')
    const result = under(umask, `return files.ensurePrivateDir(${JSON.stringify(dir)})`)
    expect(result).toEqual({ warnings: [] })
    expect([mode(join(root, 'a')), mode(join(root, 'a', 'b')), mode(dir)]).toEqual(['700', '700', '700'])
    expect(mode(root)).toBe('755')
  })

  it('creates the database 0600 before SQLite opens it, so -wal and -shm are 0600 too', () => {
    const dir = join(tempDir(), 'data')
    const db = join(dir, 'runner.db')
    // Kept open while the modes are read: closing the last connection removes -wal and -shm.
    const modes = under(
      umask,
      `const s = sqlite.createSqliteBackend({ path: ${JSON.stringify(db)} })
       await s.accept({ type: 'title-ready', body: '{}', hash: 'h', receivedAt: Date.now(), dedupeWindow: 1000 })
       const fs = await import('node:fs')
       const m = (f) => (fs.statSync(f).mode & 0o777).toString(8)
       const db = ${JSON.stringify(db)}
       return { dir: m(${JSON.stringify(dir)}), db: m(db), wal: m(db + '-wal'), shm: m(db + '-shm') }`,
    )
    expect(modes).toEqual({ dir: '700', db: '600', wal: '600', shm: '600' })
  })

  it('writes new files 0600 from the first byte', () => {
    const dir = tempDir()
    const [key, empty] = [JSON.stringify(join(dir, 'key')), JSON.stringify(join(dir, 'empty'))]
    under(umask, `files.writePrivateFile(${key}, 'k\\n', 'wx'); files.privateFile(${empty})`)
    expect([mode(join(dir, 'key')), mode(join(dir, 'empty'))]).toEqual(['600', '600'])
    expect(readFileSync(join(dir, 'key'), 'utf8')).toBe('k\n')
  })
})

describe('existing data folders and files', () => {
  it('leaves an existing 0755 folder as is, with a warning naming it and the fix', () => {
    const dir = join(tempDir(), 'data')
    mkdirSync(dir)
    chmodSync(dir, 0o755)
    const { warnings } = under(0o022, `return files.ensurePrivateDir(${JSON.stringify(dir)})`) as { warnings: string[] }
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`data folder ${dir} is readable or writable by group or others (mode 755)`)
    expect(warnings[0]).toContain(`chmod 700 ${dir}`)
    expect(mode(dir)).toBe('755')
  })

  it('says nothing about an existing 0700 folder', () => {
    const dir = join(tempDir(), 'data')
    mkdirSync(dir, { mode: 0o700 })
    expect(under(0o022, `return files.ensurePrivateDir(${JSON.stringify(dir)})`)).toEqual({ warnings: [] })
  })

  it('makes a database, -wal and -shm that an older version left 0644 private, keeping the data', async () => {
    const dir = tempDir()
    const db = join(dir, 'runner.db')
    // An older runner killed with -9: its -wal (holding the last commit) and -shm are still there, all 0644.
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `process.umask(0o022); const { default: Database } = await import('better-sqlite3'); const db = new Database(${JSON.stringify(db)});
         db.pragma('journal_mode = WAL'); db.exec('CREATE TABLE old (v TEXT)'); db.prepare('INSERT INTO old VALUES (?)').run('kept');
         process.kill(process.pid, 'SIGKILL')`,
      ],
      { encoding: 'utf8', cwd: fileURLToPath(new URL('../../', import.meta.url)) },
    )
    expect(r.signal).toBe('SIGKILL')
    expect([mode(db), mode(`${db}-wal`), mode(`${db}-shm`)]).toEqual(['644', '644', '644'])

    const store = createSqliteBackend({ path: db })
    try {
      expect([mode(db), mode(`${db}-wal`), mode(`${db}-shm`)]).toEqual(['600', '600', '600'])
    } finally {
      await store.close()
    }
    const { default: Database } = await import('better-sqlite3')
    const check = new Database(db, { readonly: true })
    expect(check.prepare('SELECT v FROM old').all()).toEqual([{ v: 'kept' }])
    check.close()
  })

  it('tightens an existing loose file, keeps its content, and does not create a missing one', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'key'), 'old-key\n')
    chmodSync(join(dir, 'key'), 0o644)
    under(0o022, `files.privateFile(${JSON.stringify(join(dir, 'key'))}); files.tightenFile(${JSON.stringify(join(dir, 'absent'))})`)
    expect(mode(join(dir, 'key'))).toBe('600')
    expect(readFileSync(join(dir, 'key'), 'utf8')).toBe('old-key\n')
    expect(existsSync(join(dir, 'absent'))).toBe(false)
  })
})
