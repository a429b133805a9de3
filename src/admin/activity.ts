import { describeCondition } from '../match/condition.js'
import { eventPages } from '../queue/inspect.js'
import type { Plan } from '../queue/plan.js'
import { EVENT_STATUSES, type EventStatus, eventStatus } from '../queue/rules.js'
import type { Backend, EventRecord, RunBrief, RunState, ScheduleStats } from '../store/backend.js'

/**
 * The console's numbers, from the store (so every replica shows the same):
 * one bounded read of the last day's events and their runs, kept for a
 * moment so several dashboards do not each read it.
 */

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** At most this many events are read for the last day's figures (`truncated` says when there were more). */
export const RECENT_LIMIT = 20_000
const FRESH_FOR = 2_000

export interface Recent {
  records: EventRecord[]
  /** True when the last day held more events than were read. */
  truncated: boolean
  now: number
}

/** The last day's events, read at most once per `FRESH_FOR` ms. */
export function createRecentReader(backend: Backend, { limit = RECENT_LIMIT, now = Date.now } = {}): () => Promise<Recent> {
  let cached: { at: number; value: Promise<Recent> } | undefined
  return () => {
    const at = now()
    if (!cached || at - cached.at > FRESH_FOR) {
      const value = readRecent(backend, at, limit)
      cached = { at, value }
      // A failed read is not kept: the next request tries again.
      value.catch(() => {
        if (cached?.value === value) cached = undefined
      })
    }
    return cached.value
  }
}

async function readRecent(backend: Backend, now: number, limit: number): Promise<Recent> {
  const records: EventRecord[] = []
  for await (const page of eventPages(backend, { size: 500 })) {
    for (const r of page.records) {
      if (r.receivedAt < now - DAY) return { records, truncated: false, now }
      if (records.length === limit) return { records, truncated: true, now }
      records.push(r)
    }
  }
  return { records, truncated: false, now }
}

/** How a step run can end. */
export const OUTCOMES = ['done', 'dead', 'skipped', 'previewed'] as const
type Outcome = (typeof OUTCOMES)[number]

export interface Bucket {
  /** Start of the bucket, ms since epoch. */
  at: number
  /** Deliveries stored (new events). */
  deliveries: number
  /** Step runs that ended in the bucket, by state. */
  outcomes: Record<Outcome, number>
}

export interface Stats {
  /** Events of the last day by status. */
  events: Record<EventStatus, number>
  /** Step runs of the last day's events by state. */
  runs: Record<RunState, number>
  queue: ScheduleStats & { running: number; waiting: number }
  /** The last hour, minute by minute, oldest first. */
  perMinute: Bucket[]
  /** The last day, hour by hour, oldest first. */
  perHour: Bucket[]
  truncated: boolean
}

const RUN_STATES: readonly RunState[] = ['pending', 'running', 'retrying', 'done', 'dead', 'skipped', 'previewed']

/** Counts by state, the queue, and deliveries and outcomes over time. */
export function stats(recent: Recent, queue: Stats['queue']): Stats {
  const events = Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>
  const runs = Object.fromEntries(RUN_STATES.map((s) => [s, 0])) as Record<RunState, number>
  const perMinute = buckets(recent.now, MINUTE, 60)
  const perHour = buckets(recent.now, HOUR, 24)
  for (const r of recent.records) {
    events[eventStatus(r)]++
    count(perMinute, MINUTE, r.receivedAt, (b) => b.deliveries++)
    count(perHour, HOUR, r.receivedAt, (b) => b.deliveries++)
    for (const run of r.runs) {
      runs[run.state]++
      if (!isOutcome(run.state)) continue
      const state = run.state
      count(perMinute, MINUTE, run.updatedAt, (b) => b.outcomes[state]++)
      count(perHour, HOUR, run.updatedAt, (b) => b.outcomes[state]++)
    }
  }
  return { events, runs, queue, perMinute, perHour, truncated: recent.truncated }
}

function isOutcome(state: RunState): state is Outcome {
  return (OUTCOMES as readonly string[]).includes(state)
}

function buckets(now: number, size: number, n: number): Bucket[] {
  const last = Math.floor(now / size) * size
  return Array.from({ length: n }, (_, i) => ({
    at: last - (n - 1 - i) * size,
    deliveries: 0,
    outcomes: { done: 0, dead: 0, skipped: 0, previewed: 0 },
  }))
}

function count(list: Bucket[], size: number, at: number, add: (b: Bucket) => void): void {
  const i = Math.floor((at - list[0]!.at) / size)
  if (i >= 0 && i < list.length) add(list[i]!)
}

export interface RecipeSummary {
  name: string
  enabled: boolean
  events: string[]
  /** The condition as `check` prints it. */
  when: string
  flags: string[]
  steps: Array<{ step: number; action: string; name?: string; flags: string[]; preview?: string }>
  /** Of the last day's events that ran this recipe: how each ended (or `running`). */
  last24h: Record<Outcome | 'running', number>
  lastRun?: { eventId: string; at: number; outcome: Outcome | 'running'; title?: string }
}

/** Each recipe as `check` prints it, with how its runs of the last day ended. */
export function recipeSummaries(plan: Plan, recent: Recent): RecipeSummary[] {
  return plan.recipes.map(({ recipe, events, steps }) => {
    const summary: RecipeSummary = {
      name: recipe.name,
      enabled: recipe.enabled !== false,
      events: [...events],
      when: describeCondition(recipe.when),
      flags: [recipe.once ? 'once' : '', recipe.debounce ? 'debounced' : ''].filter(Boolean),
      steps: steps.map((s) => ({
        step: s.index + 1,
        action: s.step.action,
        ...(s.step.name ? { name: s.step.name } : {}),
        flags: [
          s.step.if ? `if ${describeCondition(s.step.if)}` : '',
          s.step.once ? 'once' : '',
          s.step.debounce ? 'debounced' : '',
          s.step.continueOnError ? 'continueOnError' : '',
        ].filter(Boolean),
        ...(s.previewReason ? { preview: s.previewReason } : {}),
      })),
      last24h: { done: 0, dead: 0, skipped: 0, previewed: 0, running: 0 },
    }
    // Records are newest first: the first one with this recipe's runs is its last run.
    for (const r of recent.records) {
      const mine = r.runs.filter((b) => b.recipe === recipe.name)
      if (mine.length === 0) continue
      const outcome = jobOutcome(mine)
      summary.last24h[outcome]++
      summary.lastRun ??= { eventId: r.id, at: r.receivedAt, outcome, ...(r.title !== undefined ? { title: r.title } : {}) }
    }
    return summary
  })
}

/** How one recipe's steps for one event ended, told like an event's status. */
function jobOutcome(runs: RunBrief[]): Outcome | 'running' {
  const status = eventStatus({ dispatched: true, runs })
  if (status === 'running') return 'running'
  if (status === 'dead' || status === 'previewed') return status
  return runs.every((r) => r.state === 'skipped') ? 'skipped' : 'done'
}
