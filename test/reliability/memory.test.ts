/**
 * Memory is bounded by bytes, not by counts. A payload of empty objects
 * (`{"a":[{},{},…]}`) parses to about twenty times its size, so anything that
 * keeps N parsed payloads (a cache, a backlog) holds N × 20 × the body limit.
 * Before the fix, 189 distinct ~1 MB deliveries took a runner to 3.6 GB and a
 * fatal heap OOM. Here: 200 distinct ~900 KB deliveries, 8 in flight, each
 * matching a recipe, against a child runner whose peak RSS (VmHWM) is read.
 * Then the same bodies all at once (200 and 1,000 connections opened
 * together, both shapes): the receiver's in-flight budget
 * (`server.inflightBytes`) keeps the memory bounded at the socket, and every
 * sender gets an answer (202, or 503 with Retry-After), never a reset.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeConfig } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'
import { type Answer, type BodyShape, bodyBytes, postAll } from './concurrent-bodies.js'
import { pool, spawnRunner, storeCounts, waitUntil, killRunnersAfterEach } from './helpers.js'
import { createReport } from './report.js'

const report = createReport()
afterAll(() => report.write())

killRunnersAfterEach()

const MB = 1024 * 1024
const DELIVERIES = 200
const IN_FLIGHT = 8
const LIMIT = 400 * MB

function peakRss(pid: number): number {
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
  return kb * 1024
}

/** ~900 KB of `{},` : the worst ratio of parsed size to body size JSON allows. */
function body(i: number): string {
  return `{"id":"m${i}","name":"Episode ${i}","a":[${'{},'.repeat(300_000)}{}]}`
}

describe('memory under large bodies', () => {
  it('stays under 400 MB with 200 distinct ~900 KB deliveries, 8 in flight, all matching a recipe', { timeout: 240_000 }, async () => {
    const row = report.row(
      'memory-large-bodies',
      `${DELIVERIES} distinct ~900 KB bodies of empty objects, ${IN_FLIGHT} in flight, every one matching a recipe`,
    )
    const dir = tempDir('ar-memory-')
    writeMatchingConfig(dir, 'a.0')
    const child = await spawnRunner(dir)
    const before = peakRss(child.pid)
    const statuses = await pool(DELIVERIES, IN_FLIGHT, async (i) => {
      const res = await fetch(`${child.url}/webhooks/title-updated`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(i),
      })
      await res.text()
      return res.status
    })
    const accepted = statuses.filter((s) => s === 202).length
    const store = join(dir, '.audiorista', 'runner.db')
    const finished = await waitUntil(async () => (await storeCounts(store)).done >= DELIVERIES, 120_000, 250)
    const peak = peakRss(child.pid)
    const alive = child.proc.exitCode === null && child.proc.signalCode === null

    row.tried = DELIVERIES
    row.lost = DELIVERIES - accepted
    row.duplicated = 0
    row.notes = `peak RSS (VmHWM) ${Math.round(peak / MB)} MB (limit ${LIMIT / MB} MB; ${Math.round(before / MB)} MB at ready); ${accepted} × 202; every step done: ${finished}; process alive: ${alive}`
    console.log(`memory: ${row.notes}`)
    expect(statuses.filter((s) => s !== 202)).toEqual([])
    expect(finished).toBe(true)
    expect(alive).toBe(true)
    expect(peak).toBeLessThan(LIMIT)
    row.result = 'pass'
  })
})

const CONCURRENT = [
  { count: 200, shape: 'objects', limit: 400 * MB },
  { count: 200, shape: 'numbers', limit: 400 * MB },
  { count: 1000, shape: 'objects', limit: 500 * MB },
  { count: 1000, shape: 'numbers', limit: 500 * MB },
] as const satisfies ReadonlyArray<{ count: number; shape: BodyShape; limit: number }>

const SHAPE_TEXT: Record<BodyShape, string> = { objects: '`{"items":[{},{},…]}`', numbers: '`{"items":[1,1,…]}`' }

/** What the senders saw, counted: `202`, `503+retry-after`, `503` (without), `ECONNRESET`, … */
function tally(answers: Answer[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const a of answers) {
    const key = a.error ?? (a.status === 503 && a.retryAfter ? '503+retry-after' : String(a.status))
    out[key] = (out[key] ?? 0) + 1
  }
  return out
}

describe('memory under concurrent large bodies', () => {
  for (const { count, shape, limit } of CONCURRENT) {
    const what = `${count} distinct ~${Math.round(bodyBytes(shape) / 1000)} KB ${SHAPE_TEXT[shape]} bodies sent at once`
    it(`stays under ${limit / MB} MB with ${what}: every answer 202 or 503 with Retry-After, no reset`, { timeout: 600_000 }, async () => {
      const row = report.row(`memory-concurrent-${count}-${shape}`, `${what}, each on its own connection, every one matching a recipe`)
      const dir = tempDir('ar-memory-')
      writeMatchingConfig(dir, 'items.0')
      const child = await spawnRunner(dir)
      const answers = await postAll(`${child.url}/webhooks/title-updated`, count, shape, 300_000)
      const counts = tally(answers)
      if (process.env.MEMORY_DEBUG) {
        const kinds = new Map<string, Answer[]>()
        for (const a of answers) {
          const k = a.error ?? String(a.status)
          kinds.set(k, [...(kinds.get(k) ?? []), a])
        }
        for (const [k, list] of kinds) {
          const q = (xs: number[]) => {
            xs.sort((x, y) => x - y)
            return [xs[0], xs[xs.length >> 1], xs.at(-1)]
          }
          console.log(
            k,
            list.length,
            'answer ms min/med/max',
            q(list.map((a) => a.ms ?? -1)),
            'connect ms',
            q(list.map((a) => a.connectedMs ?? -1)),
          )
        }
        console.log(
          child
            .output()
            .split('\n')
            .filter((l) => /rejected|error|warn/i.test(l))
            .slice(0, 5)
            .join('\n'),
        )
      }
      const accepted = counts['202'] ?? 0
      const store = join(dir, '.audiorista', 'runner.db')
      const finished = await waitUntil(async () => (await storeCounts(store)).done >= accepted, 180_000, 500)
      const peak = peakRss(child.pid)
      const alive = child.proc.exitCode === null && child.proc.signalCode === null

      row.tried = count
      row.lost = 0
      row.duplicated = 0
      row.notes = `peak RSS (VmHWM) ${Math.round(peak / MB)} MB (limit ${limit / MB} MB); answers ${JSON.stringify(counts)}; steps of every 202 done: ${finished}; process alive: ${alive}`
      console.log(`memory: ${count} ${shape}: ${row.notes}`)
      expect(Object.keys(counts).filter((k) => k !== '202' && k !== '503+retry-after')).toEqual([])
      // A budget that refused everything would pass the rest (the sender retries what got 503).
      expect(accepted).toBeGreaterThan(0)
      expect(finished).toBe(true)
      expect(alive).toBe(true)
      expect(peak).toBeLessThan(limit)
      row.result = 'pass'
    })
  }
})

/** A runner config with one recipe that matches every delivery holding `path` (so every body is parsed and logged). */
function writeMatchingConfig(dir: string, path: string): void {
  writeConfig(dir, {
    auth: { allowUnauthenticated: true },
    server: { bodyLimit: '1mb' },
    recipes: [
      {
        name: 'every-title',
        on: 'title-updated',
        when: { [path]: { exists: true } },
        do: [{ action: 'log', with: { message: 'title {{id}} {{name}}' } }],
      },
    ],
  })
}
