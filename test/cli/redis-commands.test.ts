/**
 * `events`, `retry` and `replay` on a Redis store, beside a running replica:
 * they go through the backend seam, and the replica does the work they
 * schedule (on SQLite the command would take the lock and work it itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCliAsync, startChild, writeConfig } from '../helpers/child.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { haveRedis, startRedis, type TestRedis } from '../helpers/redis.js'
import { retryThenReplay, twoStepConfig } from '../helpers/retry-replay.js'
import { tempDir } from '../helpers/runner.js'

describe.skipIf(!haveRedis())('audiorista-runner events, retry and replay on Redis', () => {
  let redis: TestRedis
  let sink: HttpSink
  beforeAll(async () => {
    redis = await startRedis()
    sink = await createHttpSink()
  })
  afterAll(async () => {
    await sink?.close()
    await redis?.close()
  })

  it('list a dead step, retry it and replay its event, run by the replica', async () => {
    sink.replyOnce({ status: 404 })
    const dir = tempDir()
    writeConfig(dir, twoStepConfig(sink.url, { driver: 'redis', url: redis.url, prefix: 'cli', lease: '2s' }))
    const child = await startChild(dir)
    try {
      const res = await fetch(`${child.url}/webhooks/title-ready`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"id":1,"name":"Redis"}',
      })
      expect(res.status).toBe(202)
      const { id } = (await res.json()) as { id: string }
      await sink.waitFor(1)

      let listed = await runCliAsync(['events', '--status', 'dead'], { cwd: dir })
      for (let i = 0; i < 50 && !listed.stdout.includes(id); i++) {
        await new Promise((r) => setTimeout(r, 100))
        listed = await runCliAsync(['events', '--status', 'dead'], { cwd: dir })
      }
      expect(listed.stdout).toMatch(new RegExp(`${id}\\s+title-ready\\s+\\S+\\s+dead\\s+2\\s+Redis`))
      const runId = /(run_\S+) two step 1 \(http\)/.exec(listed.stdout)?.[1]
      expect(runId, listed.stdout).toBeDefined()

      await retryThenReplay(dir, runId!, id, sink)
      // The replica did the work: its log has the steps of the retry and of the replay.
      expect(child.output().match(/step 2 \(http\) done/g)).toHaveLength(2)

      const all = await runCliAsync(['events', '--json'], { cwd: dir })
      const events = JSON.parse(all.stdout) as Array<{ id: string; status: string }>
      expect(events.map((e) => e.status)).toEqual(['done', 'done'])
      expect(events.map((e) => e.id)).toContain(id)
    } finally {
      child.proc.kill('SIGTERM')
      await child.exited
    }
  }, 40_000)
})
