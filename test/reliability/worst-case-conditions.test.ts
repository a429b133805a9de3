/**
 * No payload can freeze the process through a condition. A real runner (a
 * child process) whose recipes use every operator gets ~1 MB adversarial
 * payloads while /healthz is polled every 20 ms: no answer may take 100 ms.
 * Before the fix, one delivery of 100 tags whose slugs are "1" × 9,999 + "x",
 * against `'tags.slug': { matches: '\\d+$' }`, kept the process from answering
 * for about 70 s: the 10,000-character cap was per value, not per delivery.
 */
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { writeConfig } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'
import type { Recipe } from '../../src/types.js'
import { CORPUS_RECIPES, corpusPayloads } from './adversarial-conditions.js'
import { type Child, sleep, spawnRunner, waitUntil } from './helpers.js'

const BOUND = 100
const DECIDED = /"msg":"event matched/g
// A frozen runner would keep the poll waiting for minutes: give up at this, and count it as this slow.
const GIVE_UP = 5_000

let child: Child | undefined
afterEach(async () => {
  await child?.kill()
  child = undefined
})

// In a worker thread: the test's own event loop (sending 1 MB bodies) must not delay the measurement.
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads')
const times = []
let running = true
parentPort.on('message', () => { running = false })
;(async () => {
  // The first fetch of a thread loads the HTTP client: a warm-up, not a measurement.
  await fetch(workerData.url + '/healthz').then((res) => res.text(), () => {})
  parentPort.postMessage('ready')
  while (running) {
    const start = performance.now()
    try {
      const res = await fetch(workerData.url + '/healthz', { signal: AbortSignal.timeout(workerData.giveUp) })
      await res.text()
    } catch {}
    times.push(performance.now() - start)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  parentPort.postMessage(times)
})()
`

/** Polls `${url}/healthz` every 20 ms until stopped; the answer times in ms. */
function pollHealth(url: string): { ready: Promise<void>; stop(): Promise<number[]> } {
  const worker = new Worker(POLLER, { eval: true, workerData: { url, giveUp: GIVE_UP } })
  const times = new Promise<number[]>((resolve, reject) => {
    worker.on('message', (message: unknown) => Array.isArray(message) && resolve(message as number[]))
    worker.once('error', reject)
  })
  const ready = new Promise<void>((resolve) => worker.on('message', (message: unknown) => message === 'ready' && resolve()))
  return {
    ready,
    async stop() {
      worker.postMessage('stop')
      const result = await times
      await worker.terminate()
      return result
    },
  }
}

/** Starts a runner with `recipes`, delivers each body in turn, waits until each is matched, and returns the /healthz times. */
async function deliverWhilePolling(recipes: Recipe[], bodies: Array<{ label: string; body: string }>) {
  const dir = tempDir('ar-worst-conditions-')
  writeConfig(dir, { auth: { allowUnauthenticated: true }, server: { bodyLimit: '2mb' }, recipes })
  child = await spawnRunner(dir)
  const poll = pollHealth(child.url)
  await poll.ready
  const statuses: number[] = []
  const perBody: string[] = []
  for (const [i, { label, body }] of bodies.entries()) {
    const res = await fetch(`${child.url}/webhooks/title-updated`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(60_000),
    }).catch(() => undefined)
    statuses.push(res?.status ?? 0)
    await res?.text()
    // Its recipes decided (the runner logs it) before the next one is sent.
    const matched = await waitUntil(() => (child!.output().match(DECIDED) ?? []).length > i, 60_000, 25)
    perBody.push(`${label}: ${res?.status ?? 'no answer'}${matched ? '' : ', never matched'}`)
  }
  await sleep(100)
  const times = await poll.stop()
  return { times, statuses, perBody, output: child.output() }
}

const summary = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1)
  return `${times.length} polls, median ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`
}

describe('worst-case payloads against every condition operator', () => {
  it("the issue's case: 100 tags × 10,000 characters against matches '\\d+$' never holds up /healthz", { timeout: 120_000 }, async () => {
    const recipes: Recipe[] = [
      { name: 'numbered-tag', on: 'title-updated', when: { 'tags.slug': { matches: '\\d+$' } }, do: [{ action: 'log' }] },
    ]
    const tags = Array.from({ length: 100 }, (_, i) => ({ name: `t${i}`, slug: `${'1'.repeat(9_999)}x` }))
    const body = JSON.stringify({ id: 'issue-23-2', name: 'tags', tags })
    const { times, statuses, output } = await deliverWhilePolling(recipes, [{ label: 'issue', body }])
    console.log(`issue case: ${summary(times)}`)
    expect(statuses).toEqual([202])
    // The budget ran out: the recipe does not match, and the log says so, naming it.
    expect(output).toMatch(/recipe \\"numbered-tag\\" did not match: when.tags.slug: the condition budget of one delivery ran out/)
    expect(Math.max(...times)).toBeLessThan(BOUND)
  })

  it('1 MB values (long runs, repeated delimiters, deep nesting, many elements and keys) never hold up /healthz', {
    timeout: 600_000,
  }, async () => {
    const bodies = corpusPayloads().map(({ label, payload }) => ({ label, body: JSON.stringify(payload) }))
    for (const { label, body } of bodies) expect(body.length, label).toBeGreaterThan(900_000)
    const { times, statuses, perBody } = await deliverWhilePolling(CORPUS_RECIPES, bodies)
    console.log(`corpus: ${summary(times)}\n  ${perBody.join('\n  ')}`)
    expect(statuses).toEqual(bodies.map(() => 202))
    expect(perBody.filter((line) => line.endsWith('never matched'))).toEqual([])
    expect(Math.max(...times)).toBeLessThan(BOUND)
  })
})
