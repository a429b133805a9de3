/** SQLite-only behaviour the shared conformance suite cannot see: the file format across versions. */
import { createHash, randomUUID } from 'node:crypto'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/store/backend.js'
import { createSqliteBackend } from '../../src/store/sqlite.js'
import { tempDir } from '../helpers/runner.js'

const opened: Backend[] = []
afterEach(async () => {
  for (const b of opened.splice(0)) await b.close().catch(() => {})
})

function open(path: string): Backend {
  const backend = createSqliteBackend({ path, lease: 1000 })
  opened.push(backend)
  return backend
}

async function takeAll(backend: Backend) {
  return backend.take({ worker: 'T', limit: 10, wait: 200 })
}

describe('sqlite backend: a store written by an older version', () => {
  it('is upgraded at open: the first open run of each job is due again, and flow control works on it', async () => {
    const path = join(tempDir(), 'runner.db')
    const before = open(path)
    const body = JSON.stringify({ id: randomUUID() })
    const { id } = await before.accept({
      type: 'title-ready',
      body,
      hash: createHash('sha256').update(body).digest('hex'),
      receivedAt: Date.now(),
      dedupeWindow: 60_000,
    })
    const [match] = await takeAll(before)
    expect(match).toMatchObject({ kind: 'match', id })
    const runs = (await before.dispatch(match!, [
      { recipe: 'r', stepIndex: 0, action: 'log', runAt: Date.now(), queue: true },
      { recipe: 'r', stepIndex: 1, action: 'log', runAt: Date.now() },
    ]))!
    await before.close()
    opened.pop()

    // What the version before the schedule moved into the store wrote: no due_at.
    const db = new Database(path)
    db.exec('DROP INDEX runs_due; ALTER TABLE runs DROP COLUMN due_at;')
    db.close()

    const after = open(path)
    const due = await takeAll(after)
    expect(
      due.map((w) => [w.kind, w.id]),
      'the first open run of the job is due; the next follows it',
    ).toEqual([['step', runs[0]!.id]])
    const first = await after.debounce({ key: 'k', runId: runs[0]!.id, now: Date.now(), wait: 1000, scope: 'run', reason: 'coalesced' })
    const second = await after.debounce({ key: 'k', runId: runs[1]!.id, now: Date.now(), wait: 1000, scope: 'run', reason: 'coalesced' })
    expect(first.replaced).toEqual([])
    expect(second.replaced.map((r) => r.id)).toEqual([runs[0]!.id])
  })
})

describe('sqlite backend: WAL checkpoints', () => {
  it('are made by the checkpoint thread (the writer does not make them), and close leaves no WAL behind', async () => {
    const path = join(tempDir(), 'runner.db')
    const backend = open(path)
    const padding = 'x'.repeat(1500)
    // Some 3 MB of WAL: well past the 1,000 pages at which a commit would checkpoint by itself.
    for (let i = 0; i < 2000; i++) {
      const body = JSON.stringify({ id: i, padding })
      await backend.accept({
        type: 'title-ready',
        body,
        hash: createHash('sha256').update(body).digest('hex'),
        receivedAt: Date.now(),
        dedupeWindow: 60_000,
      })
    }
    const reader = new Database(path, { readonly: true })
    try {
      // The writer's own connection does not checkpoint (0); the database file fills as the thread copies pages in.
      const fileBytes = () => statSync(path).size
      const deadline = Date.now() + 5_000
      while (fileBytes() < 2_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(fileBytes()).toBeGreaterThan(2_000_000)
      expect(reader.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 2000 })
    } finally {
      reader.close()
    }
    await backend.close()
    expect(existsSync(`${path}-wal`)).toBe(false)
  })
})
