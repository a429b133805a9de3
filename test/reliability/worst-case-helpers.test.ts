/**
 * Every template helper is linear in its input: for each one, a ~1 MB
 * adversarial value (repeated delimiters, long runs, deep nesting, many array
 * elements) goes to a real runner (a child process from dist/cli/main.js)
 * whose log step uses that helper, while a separate poller process asks
 * `/healthz` every 20 ms. No answer may take 100 ms or more. Before the fix,
 * `stripHtml` of `'<p'` × 75,000 kept `/healthz` waiting 15 s.
 */
import { spawn } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { writeConfig } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'
import { type Child, consoleLoaded, spawnRunner, waitUntil, killRunnersAfterEach } from './helpers.js'
import { createReport } from './report.js'

const report = createReport()
afterAll(() => report.write())

killRunnersAfterEach()

const MB = 1024 * 1024
const fill = (unit: string, size = MB) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`

interface Case {
  id: string
  /** The log message template; `v` is the adversarial value. */
  template: string
  /** The JSON text of `v`. */
  value: string
}

// `truncate … 120` keeps the log line short; the helper inside still reads the whole value.
const t = (inner: string) => `{{truncate (${inner}) 120}}`
const str = (unit: string, size?: number) => JSON.stringify(fill(unit, size))

const CASES: Case[] = [
  // The same delivery with no helper reading it: what receiving and storing 1 MB costs on this machine.
  { id: 'control: no helper', template: 'kind {{kind}}', value: str('<p') },
  { id: 'stripHtml <p', template: '{{stripHtml v}}', value: str('<p') },
  { id: 'stripHtml <a href="', template: t('stripHtml v'), value: str('<a href="') },
  { id: 'stripHtml entities', template: t('stripHtml v'), value: str(`&${'a'.repeat(40)}`) },
  { id: 'stripHtml <!-- and >', template: t('stripHtml v'), value: str('<!--<p >') },
  { id: 'json deep, indented', template: t('json v 10'), value: `[${Array(3400).fill(nested(150)).join(',')}]` },
  { id: 'json many objects', template: t('json v 2'), value: `[${Array(300_000).fill('{}').join(',')}]` },
  { id: 'default', template: t('default missing v'), value: str('a') },
  { id: 'eq ne and or not', template: '{{#if (and (eq v v) (not (ne v v)) (or missing v))}}same{{/if}}', value: str('ab') },
  { id: 'join many elements', template: t('join v'), value: `[${Array(500_000).fill('1').join(',')}]` },
  { id: 'join objects by key', template: t('join v "name" " | "'), value: `[${Array(70_000).fill('{"name":"x"}').join(',')}]` },
  {
    id: 'join long separator',
    template: t('join v.items v.sep'),
    value: JSON.stringify({ items: Array(2000).fill('x'), sep: fill(',', MB / 2) }),
  },
  { id: 'truncate astral', template: '{{truncate v 100}}', value: str('\u{1F3A7}') },
  { id: 'truncate suffix', template: '{{truncate v 10 v}}', value: str('ab') },
  { id: 'lower expanding', template: t('lower v'), value: str('İ', MB / 2) },
  { id: 'upper expanding', template: t('upper v'), value: str('ß', MB / 2) },
  { id: 'duration digits', template: '{{duration v}}', value: str('9') },
  { id: 'bytes digits', template: '{{bytes v}}', value: str('9') },
  { id: 'date digits', template: '{{date v}}', value: str('1') },
  { id: 'date format', template: t('date 0 v'), value: str('YYYY-MM-DD HH:mm:ss ') },
  { id: 'urlencode astral', template: t('urlencode v'), value: str('\u{1F3A7}') },
  { id: 'urlencode lone surrogates', template: t('urlencode v'), value: JSON.stringify(fill('\uD800a')) },
  { id: 'safeUrl dots and percents', template: t('safeUrl v'), value: JSON.stringify(`https://x.example/${fill('/..%')}`) },
  { id: 'safeUrl not a URL', template: t('safeUrl v'), value: str('javascript:') },
]

// A process of its own, so that the test's own work (building and sending bodies) never shows as latency.
const POLLER = `
const url = process.argv[1]
const slow = []
let count = 0, max = 0, stop = false
process.on('SIGTERM', () => { stop = true })
// The test is gone (stdin closed) or forgot us: stop too.
process.stdin.on('end', () => { stop = true }).resume()
setTimeout(() => { stop = true }, 600_000).unref()
;(async () => {
  // The first fetch of a new process loads undici: warm up, uncounted, then say so.
  for (let i = 0; i < 3; i++) await fetch(url).then((res) => res.text()).catch(() => {})
  process.stderr.write('ready')
  while (!stop) {
    const start = performance.now()
    let status = 0
    try { const res = await fetch(url, { signal: AbortSignal.timeout(5000) }); await res.text(); status = res.status } catch (err) { status = String(err) }
    const ms = performance.now() - start
    count++
    if (ms > max) max = ms
    if (ms >= 100 || status !== 200) slow.push({ at: Date.now(), ms: Math.round(ms), status })
    const wait = 20 - (performance.now() - start)
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
  process.stdout.write(JSON.stringify({ count, max: Math.round(max), slow }), () => process.exit(0))
})()
`

interface PollResult {
  count: number
  max: number
  slow: Array<{ at: number; ms: number; status: number | string }>
}

function startPoller(url: string): { ready: Promise<void>; stop(): Promise<PollResult> } {
  const proc = spawn(process.execPath, ['-e', POLLER, `${url}/healthz`], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  const ready = new Promise<void>((resolve) => proc.stderr!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve()))
  const closed = new Promise<void>((resolve) => proc.on('close', () => resolve()))
  return {
    ready,
    async stop() {
      proc.kill('SIGTERM')
      await closed
      return JSON.parse(out) as PollResult
    },
  }
}

/** Steps finished (done or failed for good), counted from the runner's log lines as they come. */
function finishedSteps(proc: Child['proc']): () => number {
  const FINISHED = /"msg":"recipes\[\d+\].*(?: done"| failed for good)/
  let finished = 0
  let partial = ''
  proc.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) if (FINISHED.test(line.slice(-2000))) finished++
  })
  return () => finished
}

describe('worst-case values for every template helper', () => {
  it('never delays /healthz by 100 ms or more', { timeout: 300_000 }, async () => {
    const row = report.row('worst-case-helpers', `every template helper given a ~1 MB adversarial value (${CASES.length} cases)`)
    const dir = tempDir('ar-worst-helpers-')
    writeConfig(dir, {
      auth: { allowUnauthenticated: true },
      server: { bodyLimit: '4mb' },
      recipes: CASES.map((c, i) => ({
        name: `case-${i}`,
        on: 'title-updated',
        when: { kind: c.id },
        do: [{ action: 'log', with: { message: `case ${i}: ${c.template}` } }],
      })),
    })
    const bodies = CASES.map((c, i) => `{"id":"w${i}","kind":${JSON.stringify(c.id)},"v":${c.value}}`)
    const child = await spawnRunner(dir, { keep: 20_000 })
    await consoleLoaded(child.url)
    const finished = finishedSteps(child.proc)
    const poller = startPoller(child.url)
    await poller.ready
    const spans: Array<{ id: string; from: number; to: number }> = []
    const statuses: number[] = []
    let polled: PollResult
    try {
      for (const [i, body] of bodies.entries()) {
        const from = Date.now()
        const res = await fetch(`${child.url}/webhooks/title-updated`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
        await res.text()
        statuses.push(res.status)
        const ended = await waitUntil(() => finished() >= i + 1, 30_000, 20)
        expect(ended, `case "${CASES[i]!.id}" (${res.status}) never finished:\n${child.output().slice(-3000)}`).toBe(true)
        spans.push({ id: CASES[i]!.id, from, to: Date.now() })
      }
    } finally {
      polled = await poller.stop()
    }
    const blame = polled.slow.map((s) => ({ ...s, case: spans.find((c) => s.at >= c.from && s.at <= c.to + 100)?.id ?? 'between cases' }))
    row.tried = CASES.length
    row.lost = statuses.filter((s) => s !== 202).length
    row.duplicated = 0
    const perCase = [...new Set(blame.map((b) => b.case))].map(
      (id) =>
        `${id}: ${blame
          .filter((b) => b.case === id)
          .map((b) => b.ms)
          .join('/')} ms`,
    )
    row.notes = `${polled.count} /healthz answers, slowest ${polled.max} ms (bound 100 ms)${perCase.length ? `; slow: ${perCase.join('; ')}` : ''}`
    console.log(`worst-case helpers: ${row.notes}`)
    expect(statuses).toEqual(CASES.map(() => 202))
    expect(blame).toEqual([])
    expect(polled.max).toBeLessThan(100)
    row.result = 'pass'
  })
})
