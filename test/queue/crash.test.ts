import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createSqliteBackend } from '../../src/store/sqlite.js'
import type { StepRun } from '../../src/store/backend.js'
import { startChild, writeConfig } from '../helpers/child.js'
import { createHttpSink } from '../helpers/http-sink.js'
import { tempDir } from '../helpers/runner.js'

async function allRuns(dbPath: string): Promise<StepRun[]> {
  const store = createSqliteBackend({ path: dbPath, lock: false })
  try {
    const events = await store.listEvents({ limit: 10_000 })
    return (await Promise.all(events.map((e) => store.runsForEvent(e.id)))).flat()
  } finally {
    await store.close()
  }
}

describe('crash mid-step: kill -9 while steps are in flight', () => {
  it('finishes every step after a restart and never repeats a step recorded done', async () => {
    const dir = tempDir()
    const db = join(dir, 'runner.db')
    const sink = await createHttpSink({ reply: { status: 200, delay: 150 } })
    writeConfig(dir, {
      auth: { allowUnauthenticated: true },
      store: { path: db },
      queue: { concurrency: 4, retry: { attempts: 5, delay: '100ms' } },
      recipes: [{ name: 'hook', on: 'title-ready', do: [{ action: 'http', with: { url: `${sink.url}/build?title={{id}}` } }] }],
    })
    const events = 24
    const first = await startChild(dir)
    const ids: string[] = []
    for (let i = 0; i < events; i++) {
      const res = await fetch(`${first.url}/webhooks/title-ready`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: i, name: `t${i}` }),
      })
      expect(res.status).toBe(202)
      ids.push(((await res.json()) as { id: string }).id)
    }
    // Let some steps finish and some be in flight, then pull the plug.
    await sink.waitFor(6, 10_000)
    first.proc.kill('SIGKILL')
    await first.exited
    const requestsAtKill = sink.requests.length
    const doneBeforeKill = new Set((await allRuns(db)).filter((r) => r.state === 'done').map((r) => r.id))
    expect(doneBeforeKill.size).toBeGreaterThan(0)
    expect(doneBeforeKill.size).toBeLessThan(events)

    const second = await startChild(dir)
    try {
      const deadline = Date.now() + 20_000
      let runs = await allRuns(db)
      while (Date.now() < deadline && !(runs.length === events && runs.every((r) => r.state === 'done'))) {
        await new Promise((r) => setTimeout(r, 100))
        runs = await allRuns(db)
      }
      // Every acknowledged event got its step, and every step ended done.
      expect(runs).toHaveLength(events)
      expect(runs.every((r) => r.state === 'done')).toBe(true)
      expect(new Set(runs.map((r) => r.eventId))).toEqual(new Set(ids))
      // No step that was done before the kill ran again after it.
      const after = sink.requests.slice(requestsAtKill).map((r) => r.headers['idempotency-key'] as string)
      expect(after.filter((key) => doneBeforeKill.has(key))).toEqual([])
      // Every run reached the sink at least once; repeats only for steps cut off in flight (≤ concurrency).
      const perRun = new Map<string, number>()
      for (const r of sink.requests)
        perRun.set(r.headers['idempotency-key'] as string, (perRun.get(r.headers['idempotency-key'] as string) ?? 0) + 1)
      expect(perRun.size).toBe(events)
      expect([...perRun.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(4)
    } finally {
      second.proc.kill('SIGKILL')
      await second.exited
      await sink.close()
    }
  }, 60_000)
})
