/**
 * Slow clients: headers dribbled a byte a second (slowloris), bodies
 * dribbled, sockets that say nothing. Server timeouts (short ones in this
 * config: headersTimeout 1s, requestTimeout 2s) cut them off, and normal
 * deliveries sent meanwhile keep getting their 202 quickly.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeConfig } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'
import { readStore, sleep, spawnRunner, killRunnersAfterEach } from './helpers.js'
import { type RawPart, type RawResponse, rawHttp } from './raw-http.js'
import { createReport } from './report.js'

const report = createReport()
afterAll(() => report.write())

killRunnersAfterEach()

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0

describe('slow clients are cut off without starving others', () => {
  it('slow headers, slow bodies and silent sockets are closed by the server timeouts while normal deliveries get 202 quickly', async () => {
    const row = report.row(
      'slow-clients',
      'Slow clients: 30 slowloris (a header byte/s), 20 slow bodies (a byte/0.5 s), 10 silent sockets; headersTimeout 1s, requestTimeout 2s; normal deliveries in parallel',
    )
    const dir = tempDir('ar-slow-')
    const db = join(dir, 'runner.db')
    writeConfig(dir, {
      auth: { allowUnauthenticated: true },
      store: { path: db },
      server: { headersTimeout: '1s', requestTimeout: '2s', keepAliveTimeout: '1s' },
      recipes: [],
    })
    const child = await spawnRunner(dir, { env: { LOG_LEVEL: 'info' } })
    const port = Number(new URL(child.url).port)

    // A header byte every second, 12 bytes at most (bounded even if never cut).
    const slowloris = (i: number): RawPart[] => [
      `POST /webhooks/title-ready HTTP/1.1\r\nhost: x\r\nx-slow-${i}: `,
      ...Array.from({ length: 12 }, (): RawPart[] => [{ wait: 1000 }, 'a']).flat(),
    ]
    // Complete headers, then a body byte every 500 ms.
    const slowBody = (i: number): RawPart[] => {
      const body = `{"slow":${i},"pad":"${'p'.repeat(40)}"}`
      return [
        `POST /webhooks/title-ready HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
        ...[...body].flatMap((ch): RawPart[] => [{ wait: 500 }, ch]),
      ]
    }
    const started = Date.now()
    const slow: Array<Promise<RawResponse & { kind: string }>> = [
      ...Array.from({ length: 30 }, (_, i) => rawHttp(port, slowloris(i), { timeout: 15_000 }).then((r) => ({ ...r, kind: 'headers' }))),
      ...Array.from({ length: 20 }, (_, i) => rawHttp(port, slowBody(i), { timeout: 15_000 }).then((r) => ({ ...r, kind: 'body' }))),
      ...Array.from({ length: 10 }, () => rawHttp(port, [{ wait: 12_000 }], { timeout: 15_000 }).then((r) => ({ ...r, kind: 'silent' }))),
    ]

    // Meanwhile, normal deliveries every 50 ms for 4 s.
    const normal: Array<{ status: number; ms: number }> = []
    for (let i = 0; Date.now() - started < 4000 && i < 200; i++) {
      const t0 = Date.now()
      const res = await fetch(`${child.url}/webhooks/title-ready`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: i, name: `normal ${i}` }),
        signal: AbortSignal.timeout(5000),
      })
      await res.text()
      normal.push({ status: res.status, ms: Date.now() - t0 })
      await sleep(50)
    }
    const results = await Promise.all(slow)
    const health = await fetch(`${child.url}/healthz`)

    const cut = (kind: string) => results.filter((r) => r.kind === kind)
    const describeKind = (kind: string) => {
      const rs = cut(kind)
      const statuses = [...new Set(rs.map((r) => r.status ?? 'close'))].join('/')
      return `${kind}: ${rs.length} cut after ${Math.min(...rs.map((r) => r.ms))}–${Math.max(...rs.map((r) => r.ms))} ms (${statuses})`
    }
    const stored = await readStore(db)
    const latencies = normal.map((n) => n.ms)
    row.tried = `${results.length} slow sockets, ${normal.length} normal deliveries`
    row.lost = normal.filter((n) => n.status !== 202).length
    row.duplicated = 0
    row.notes = `${describeKind('headers')}; ${describeKind('body')}; ${describeKind('silent')}; normal deliveries meanwhile: ${normal.filter((n) => n.status === 202).length}/${normal.length} × 202, p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${Math.max(...latencies)} ms`

    // Every slow socket was cut by the server (not by our own 15 s bound), near its timeout.
    for (const r of results) {
      expect(r.timedOut, `${r.kind} socket not cut by the server`).toBe(false)
      expect([408, undefined]).toContain(r.status)
    }
    // headersTimeout 1 s (checked every 500 ms), requestTimeout 2 s; a wide margin for a loaded CI machine.
    for (const r of cut('headers')) expect(r.ms).toBeLessThan(1000 + 2500)
    for (const r of cut('body')) expect(r.ms).toBeLessThan(2000 + 2500)
    for (const r of cut('silent')) expect(r.ms).toBeLessThan(2000 + 2500)
    // Normal traffic never waited on them.
    expect(normal.every((n) => n.status === 202)).toBe(true)
    expect(Math.max(...latencies)).toBeLessThan(1000)
    // Nothing of the slow bodies was stored; the normal ones all were.
    expect(stored.events.filter((e) => e.body.includes('"slow"'))).toEqual([])
    expect(stored.events).toHaveLength(normal.length)
    expect(health.status).toBe(200)
    row.result = 'pass'
  }, 40_000)
})
