import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMetrics, type Metrics, type MetricsOptions } from '../../src/admin/metrics.js'
import type { RunState } from '../../src/store/backend.js'
import { createTelemetry, type Telemetry } from '../../src/telemetry.js'

type Stats = Awaited<ReturnType<MetricsOptions['queue']>>

const opened: Metrics[] = []
afterEach(() => {
  vi.useRealTimers()
  for (const m of opened.splice(0)) m.close()
})

function setup(options: Partial<MetricsOptions> = {}): { telemetry: Telemetry; metrics: Metrics } {
  const telemetry = options.telemetry ?? createTelemetry()
  const metrics = createMetrics({
    telemetry,
    recipes: (name) => ['podcast-ready', 'rebuild-site'].includes(name),
    actions: (name) => ['slack', 'http', 'email'].includes(name),
    queue: async () => ({ scheduled: 0, due: 0, leased: 0 }),
    engine: () => ({ held: 0, queued: 0, running: 0 }),
    ...options,
  })
  opened.push(metrics)
  return { telemetry, metrics }
}

/** One sample of the text exposition format: `name{a="b",c="d"} value`. */
interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

function parse(text: string): { samples: Sample[]; help: Map<string, string>; type: Map<string, string> } {
  const samples: Sample[] = []
  const help = new Map<string, string>()
  const type = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta) {
      ;(meta[1] === 'HELP' ? help : type).set(meta[2]!, meta[3]!)
      continue
    }
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = v!
    samples.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return { samples, help, type }
}

/** The value of the one sample with this name and exactly these labels; undefined when absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort())
  const found = parse(text).samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${want}`)
  return found[0]?.value
}

function samplesOf(text: string, name: string): Sample[] {
  return parse(text).samples.filter((s) => s.name === name)
}

function run(recipe: string, action: string, state: RunState, ms?: number) {
  return { kind: 'run', runId: 'r', eventId: 'e', recipe, action, state, ...(ms === undefined ? {} : { ms }) } as const
}

describe('createMetrics', () => {
  it('counts deliveries by event, outcome and status', async () => {
    const { telemetry, metrics } = setup()
    for (let i = 0; i < 7; i++) telemetry.emit({ kind: 'delivery', event: 'title-ready', outcome: 'accepted', status: 202, id: `e${i}` })
    for (let i = 0; i < 2; i++) telemetry.emit({ kind: 'delivery', event: 'title-ready', outcome: 'duplicate', status: 200, id: 'e0' })
    for (let i = 0; i < 3; i++) telemetry.emit({ kind: 'delivery', event: 'asset-transcoded', outcome: 'rejected', status: 401 })
    telemetry.emit({ kind: 'delivery', event: undefined, outcome: 'rejected', status: 404 })
    // A value outside the typed set (the receiver casts) still cannot add a label value.
    telemetry.emit({ kind: 'delivery', event: 'title-<script>' as never, outcome: 'rejected', status: 404 })

    const text = await metrics.render()
    const name = 'audiorista_deliveries_total'
    expect(value(text, name, { event: 'title-ready', outcome: 'accepted', status: '202' })).toBe(7)
    expect(value(text, name, { event: 'title-ready', outcome: 'duplicate', status: '200' })).toBe(2)
    expect(value(text, name, { event: 'asset-transcoded', outcome: 'rejected', status: '401' })).toBe(3)
    expect(value(text, name, { event: 'unknown', outcome: 'rejected', status: '404' })).toBe(2)
    expect(samplesOf(text, name)).toHaveLength(4)
    expect(parse(text).type.get(name)).toBe('counter')
  })

  it('counts signals emitted before it subscribed', async () => {
    const telemetry = createTelemetry()
    telemetry.emit({ kind: 'delivery', event: 'title-updated', outcome: 'accepted', status: 202, id: 'early' })
    const { metrics } = setup({ telemetry })
    telemetry.emit({ kind: 'delivery', event: 'title-updated', outcome: 'accepted', status: 202, id: 'late' })
    expect(
      value(await metrics.render(), 'audiorista_deliveries_total', { event: 'title-updated', outcome: 'accepted', status: '202' }),
    ).toBe(2)
  })

  it('counts finished runs by final state and retries apart', async () => {
    const { telemetry, metrics } = setup()
    for (let i = 0; i < 5; i++) telemetry.emit(run('podcast-ready', 'slack', 'done'))
    telemetry.emit(run('podcast-ready', 'slack', 'dead'))
    telemetry.emit(run('podcast-ready', 'email', 'skipped'))
    telemetry.emit(run('rebuild-site', 'http', 'previewed'))
    for (let i = 0; i < 4; i++) telemetry.emit(run('podcast-ready', 'slack', 'retrying'))
    // Not final, not a retry: no counter moves.
    telemetry.emit(run('podcast-ready', 'slack', 'pending'))
    telemetry.emit(run('podcast-ready', 'slack', 'running'))

    const text = await metrics.render()
    const finished = 'audiorista_runs_finished_total'
    expect(value(text, finished, { recipe: 'podcast-ready', action: 'slack', state: 'done' })).toBe(5)
    expect(value(text, finished, { recipe: 'podcast-ready', action: 'slack', state: 'dead' })).toBe(1)
    expect(value(text, finished, { recipe: 'podcast-ready', action: 'email', state: 'skipped' })).toBe(1)
    expect(value(text, finished, { recipe: 'rebuild-site', action: 'http', state: 'previewed' })).toBe(1)
    expect(samplesOf(text, finished)).toHaveLength(4)
    expect(value(text, 'audiorista_run_retries_total', { recipe: 'podcast-ready', action: 'slack' })).toBe(4)
    expect(samplesOf(text, 'audiorista_run_retries_total')).toHaveLength(1)
  })

  it("labels recipes and actions not in the config as 'other'", async () => {
    const { telemetry, metrics } = setup()
    telemetry.emit(run('removed-recipe', 'slack', 'done', 10))
    telemetry.emit(run('podcast-ready', 'carrier-pigeon', 'dead', 20))
    telemetry.emit(run('{{payload.name}}', '__proto__', 'retrying', 30))

    const text = await metrics.render()
    expect(value(text, 'audiorista_runs_finished_total', { recipe: 'other', action: 'slack', state: 'done' })).toBe(1)
    expect(value(text, 'audiorista_runs_finished_total', { recipe: 'podcast-ready', action: 'other', state: 'dead' })).toBe(1)
    expect(value(text, 'audiorista_run_retries_total', { recipe: 'other', action: 'other' })).toBe(1)
    expect(value(text, 'audiorista_step_duration_seconds_count', { action: 'other' })).toBe(2)
    const values = parse(text).samples.flatMap((s) => Object.values(s.labels))
    for (const leaked of ['removed-recipe', 'carrier-pigeon', '{{payload.name}}', '__proto__']) expect(values).not.toContain(leaked)
  })

  it('observes step durations per action in seconds', async () => {
    const { telemetry, metrics } = setup()
    telemetry.emit(run('podcast-ready', 'slack', 'done', 3))
    telemetry.emit(run('podcast-ready', 'slack', 'retrying', 700))
    telemetry.emit(run('podcast-ready', 'slack', 'dead', 90_000))
    // No attempt ran (skipped by a rule): nothing observed.
    telemetry.emit(run('podcast-ready', 'slack', 'skipped'))
    telemetry.emit(run('rebuild-site', 'http', 'done', 40))

    const text = await metrics.render()
    const h = 'audiorista_step_duration_seconds'
    expect(parse(text).type.get(h)).toBe('histogram')
    expect(value(text, `${h}_count`, { action: 'slack' })).toBe(3)
    expect(value(text, `${h}_sum`, { action: 'slack' })).toBeCloseTo(90.703, 6)
    expect(value(text, `${h}_bucket`, { action: 'slack', le: '0.005' })).toBe(1)
    expect(value(text, `${h}_bucket`, { action: 'slack', le: '1' })).toBe(2)
    expect(value(text, `${h}_bucket`, { action: 'slack', le: '60' })).toBe(2)
    expect(value(text, `${h}_bucket`, { action: 'slack', le: '+Inf' })).toBe(3)
    expect(value(text, `${h}_count`, { action: 'http' })).toBe(1)
    expect(value(text, `${h}_bucket`, { action: 'http', le: '0.025' })).toBe(0)
    expect(value(text, `${h}_bucket`, { action: 'http', le: '0.05' })).toBe(1)
  })

  it('observes store writes in seconds', async () => {
    const { telemetry, metrics } = setup()
    for (const ms of [0.05, 0.4, 2, 2, 1500]) telemetry.emit({ kind: 'stored', ms })

    const text = await metrics.render()
    const h = 'audiorista_store_write_seconds'
    expect(parse(text).type.get(h)).toBe('histogram')
    expect(value(text, `${h}_count`)).toBe(5)
    expect(value(text, `${h}_sum`)).toBeCloseTo(1.50445, 9)
    expect(value(text, `${h}_bucket`, { le: '0.0001' })).toBe(1)
    expect(value(text, `${h}_bucket`, { le: '0.0005' })).toBe(2)
    expect(value(text, `${h}_bucket`, { le: '0.0025' })).toBe(4)
    expect(value(text, `${h}_bucket`, { le: '1' })).toBe(4)
    expect(value(text, `${h}_bucket`, { le: '+Inf' })).toBe(5)
  })

  it('reads the queue and the engine at scrape time', async () => {
    let stats: Stats = { scheduled: 12, due: 5, leased: 3, oldestDueAt: 100_000 }
    let engine = { held: 4, queued: 1, running: 3 }
    let calls = 0
    const { metrics } = setup({
      queue: async () => {
        calls++
        return stats
      },
      engine: () => engine,
      now: () => 142_500,
    })

    let text = await metrics.render()
    expect(calls).toBe(1)
    expect(value(text, 'audiorista_queue_scheduled')).toBe(12)
    expect(value(text, 'audiorista_queue_backlog')).toBe(5)
    expect(value(text, 'audiorista_queue_leased')).toBe(3)
    expect(value(text, 'audiorista_oldest_pending_age_seconds')).toBe(42.5)
    expect(value(text, 'audiorista_steps_running')).toBe(3)
    expect(value(text, 'audiorista_steps_waiting')).toBe(1)
    expect(parse(text).type.get('audiorista_queue_backlog')).toBe('gauge')

    stats = { scheduled: 0, due: 0, leased: 0 }
    engine = { held: 0, queued: 0, running: 0 }
    text = await metrics.render()
    expect(calls).toBe(2)
    expect(value(text, 'audiorista_queue_scheduled')).toBe(0)
    expect(value(text, 'audiorista_oldest_pending_age_seconds')).toBe(0)
    expect(value(text, 'audiorista_steps_running')).toBe(0)
    expect(value(text, 'audiorista_steps_waiting')).toBe(0)
  })

  it('keeps the last queue values and still answers when the store fails', async () => {
    let down = false
    const { telemetry, metrics } = setup({
      queue: async () => {
        if (down) throw new Error('SQLITE_BUSY')
        return { scheduled: 9, due: 2, leased: 1 }
      },
      engine: () => ({ held: 2, queued: 1, running: 1 }),
    })
    let text = await metrics.render()
    expect(value(text, 'audiorista_queue_scheduled')).toBe(9)
    expect(value(text, 'audiorista_queue_stats_errors_total')).toBe(0)

    down = true
    telemetry.emit({ kind: 'delivery', event: 'title-ready', outcome: 'rejected', status: 503 })
    text = await metrics.render()
    expect(value(text, 'audiorista_queue_scheduled')).toBe(9)
    expect(value(text, 'audiorista_queue_backlog')).toBe(2)
    expect(value(text, 'audiorista_queue_leased')).toBe(1)
    expect(value(text, 'audiorista_queue_stats_errors_total')).toBe(1)
    expect(value(text, 'audiorista_steps_running')).toBe(1)
    expect(value(text, 'audiorista_deliveries_total', { event: 'title-ready', outcome: 'rejected', status: '503' })).toBe(1)
    expect(value(text, 'audiorista_process_cpu_seconds_total')).toBeGreaterThan(0)
  })

  it('answers when the store never does', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { metrics } = setup({ queue: () => new Promise<never>(() => {}) })
    const rendering = metrics.render()
    await vi.advanceTimersByTimeAsync(2_000)
    const text = await rendering
    expect(value(text, 'audiorista_queue_scheduled')).toBe(0)
    expect(value(text, 'audiorista_queue_stats_errors_total')).toBe(1)
  })

  it('keeps two instances apart', async () => {
    const a = setup()
    const b = setup()
    a.telemetry.emit({ kind: 'delivery', event: 'title-ready', outcome: 'accepted', status: 202, id: 'a' })
    a.telemetry.emit({ kind: 'delivery', event: 'title-ready', outcome: 'accepted', status: 202, id: 'b' })
    b.telemetry.emit({ kind: 'delivery', event: 'title-ready', outcome: 'accepted', status: 202, id: 'c' })
    const labels = { event: 'title-ready', outcome: 'accepted', status: '202' }
    expect(value(await a.metrics.render(), 'audiorista_deliveries_total', labels)).toBe(2)
    expect(value(await b.metrics.render(), 'audiorista_deliveries_total', labels)).toBe(1)
  })

  it('stops counting once closed', async () => {
    const { telemetry, metrics } = setup()
    telemetry.emit({ kind: 'stored', ms: 1 })
    metrics.close()
    telemetry.emit({ kind: 'stored', ms: 1 })
    expect(value(await metrics.render(), 'audiorista_store_write_seconds_count')).toBe(1)
  })

  it('names every metric audiorista_*, documents it and exposes process metrics', async () => {
    const { metrics } = setup()
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    const { samples, help, type } = parse(await metrics.render())
    for (const s of samples) expect(s.name).toMatch(/^audiorista_/)
    for (const [name, text] of help) expect(text, name).not.toBe('')
    expect([...type.keys()]).toEqual([...help.keys()])
    expect(type.get('audiorista_process_resident_memory_bytes')).toBe('gauge')
    expect(type.get('audiorista_nodejs_eventloop_lag_seconds')).toBe('gauge')
    // Every family once, though the process metrics are shared by every instance.
    expect(new Set(type.keys()).size).toBe(type.size)
  })
})
