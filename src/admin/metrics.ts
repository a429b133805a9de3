import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { FINAL_STATES, type RunState } from '../store/backend.js'
import type { Signal, Telemetry } from '../telemetry.js'
import { withTimeout } from '../timeout.js'
import { EVENT_TYPES } from '../types.js'

export interface MetricsOptions {
  /** Where the receiver and the engine report; subscribed to at once. */
  telemetry: Telemetry
  /** Whether a recipe is in the config now: its names are the only `recipe` label values (others become `other`). */
  recipes: (name: string) => boolean
  /** Whether an action is in the config now: its names are the only `action` label values (others become `other`). */
  actions: (name: string) => boolean
  /** The backend's schedule stats, read at scrape time. */
  queue: () => Promise<{ scheduled: number; due: number; leased: number; oldestDueAt?: number }>
  /** This process's engine, read at scrape time. */
  engine: () => { held: number; queued: number; running: number }
  /** Clock for the age of the oldest due work, ms. */
  now?: () => number
}

export interface Metrics {
  /** The `Content-Type` of what `render` returns. */
  contentType: string
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>
  /** Stop counting signals. */
  close(): void
}

const PREFIX = 'audiorista_'
/** A scrape waits this long for the store's stats; past it, the queue gauges keep their last values. */
const STATS_TIMEOUT = 2_000

/**
 * Prometheus metrics on a registry of their own, so two runners in one
 * process (tests) count apart. Counters and histograms follow telemetry
 * signals; gauges are read at scrape time. Label values come from the config
 * or fixed sets only, never from payloads, so cardinality stays bounded.
 */
export function createMetrics({ telemetry, recipes, actions, queue, engine, now = Date.now }: MetricsOptions): Metrics {
  const registry = new Registry()
  const recipe = oneOf(recipes)
  const action = oneOf(actions)
  const series = createSeries(registry)
  createGauges(registry, { queue, engine, now })

  const final = new Set<RunState>(FINAL_STATES)
  const unsubscribe = telemetry.subscribe((signal: Signal) => {
    switch (signal.kind) {
      case 'delivery': {
        const event = signal.event !== undefined && EVENTS.has(signal.event) ? signal.event : 'unknown'
        series.deliveries.inc({ event, outcome: signal.outcome, status: statusLabel(signal.status) })
        return
      }
      case 'stored':
        series.storeWrite.observe(signal.ms / 1000)
        return
      case 'run': {
        const labels = { recipe: recipe(signal.recipe), action: action(signal.action) }
        if (final.has(signal.state)) series.finished.inc({ ...labels, state: signal.state })
        else if (signal.state === 'retrying') series.retries.inc(labels)
        if (signal.ms !== undefined) series.stepDuration.observe({ action: labels.action }, signal.ms / 1000)
        return
      }
    }
  })

  return {
    contentType: registry.contentType,
    async render() {
      const [own, shared] = await Promise.all([registry.metrics(), processRegistry().metrics()])
      return `${own}\n${shared}`
    },
    close: unsubscribe,
  }
}

const EVENTS = new Set<string>(EVENT_TYPES)

/** A name the config has now (recipes and actions change with a reload), else `other`. */
function oneOf(known: (name: string) => boolean): (value: string) => string {
  return (value) => (known(value) ? value : 'other')
}

function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other'
}

function createSeries(registry: Registry) {
  const registers = [registry]
  return {
    deliveries: new Counter({
      name: `${PREFIX}deliveries_total`,
      help: 'Webhook deliveries answered, by event (or unknown), outcome (accepted, duplicate, rejected) and HTTP status.',
      labelNames: ['event', 'outcome', 'status'] as const,
      registers,
    }),
    finished: new Counter({
      name: `${PREFIX}runs_finished_total`,
      help: 'Step runs that reached a final state (done, dead, skipped, previewed), by recipe and action.',
      labelNames: ['recipe', 'action', 'state'] as const,
      registers,
    }),
    retries: new Counter({
      name: `${PREFIX}run_retries_total`,
      help: 'Step run attempts that failed and were scheduled to run again, by recipe and action.',
      labelNames: ['recipe', 'action'] as const,
      registers,
    }),
    stepDuration: new Histogram({
      name: `${PREFIX}step_duration_seconds`,
      help: 'Time one attempt of a step took, by action.',
      labelNames: ['action'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    storeWrite: new Histogram({
      name: `${PREFIX}store_write_seconds`,
      help: "Time a delivery's store write took (the dedupe check and the durable insert).",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
  }
}

type GaugeSources = Pick<MetricsOptions, 'queue' | 'engine'> & { now: () => number }

function createGauges(registry: Registry, { queue, engine, now }: GaugeSources): void {
  const registers = [registry]
  const gauge = (name: string, help: string, collect?: () => void | Promise<void>) =>
    new Gauge({ name: `${PREFIX}${name}`, help, registers, ...(collect && { collect }) })

  // Registry.metrics() collects every metric at once: one stats() call serves the queue gauges and the error count.
  let reading: Promise<void> | undefined
  const readQueue = () => {
    reading ??= readStats().finally(() => {
      reading = undefined
    })
    return reading
  }
  const scheduled = gauge('queue_scheduled', 'Work in the backend schedule, due or not, leased or not.', readQueue)
  const backlog = gauge('queue_backlog', 'Work that is due and not leased: waiting for any worker.', readQueue)
  const leased = gauge('queue_leased', 'Work leased to a worker (any process sharing the store).', readQueue)
  const oldest = gauge('oldest_pending_age_seconds', 'Age of the oldest due work, 0 when none is due.', readQueue)
  const failures = new Counter({
    name: `${PREFIX}queue_stats_errors_total`,
    help: 'Scrapes whose read of the schedule failed or timed out; the queue gauges kept their last values.',
    registers,
    collect: readQueue,
  })

  async function readStats(): Promise<void> {
    try {
      const stats = await withTimeout(queue(), STATS_TIMEOUT, () => new Error(`no answer in ${STATS_TIMEOUT} ms`))
      scheduled.set(stats.scheduled)
      // Both schedules count leased work apart from due work.
      backlog.set(stats.due)
      leased.set(stats.leased)
      oldest.set(stats.oldestDueAt === undefined ? 0 : Math.max(0, now() - stats.oldestDueAt) / 1000)
    } catch {
      // The store is down or slow: keep the last values so the scrape (and process metrics) still answers.
      failures.inc()
    }
  }

  const running = gauge('steps_running', 'Steps this process is running now.', () => running.set(engine().running))
  const waiting = gauge('steps_waiting', 'Steps this process holds, waiting for a free slot or limit.', () => waiting.set(engine().queued))
}

/**
 * Process metrics (CPU, memory, event loop, GC) describe the process, not a
 * runner: one set per process, started on first use. prom-client 15 has no
 * timers to stop, but its GC observer and event-loop monitor are never
 * released, so one per runner would pile up in tests.
 */
let defaults: Registry | undefined
function processRegistry(): Registry {
  if (!defaults) {
    defaults = new Registry()
    collectDefaultMetrics({ register: defaults, prefix: PREFIX })
  }
  return defaults
}
