import { RunnerError } from '../errors.js'
import type { Engine } from '../queue/engine.js'
import {
  type EventDetail,
  type EventPage,
  type EventSearch,
  eventDetail,
  MAX_PAGE,
  type RunView,
  searchEvents,
  toRunView,
} from '../queue/inspect.js'
import { EVENT_STATUSES, type EventStatus, eventStatus, retryRun } from '../queue/rules.js'
import { eventType, type Simulation, simulate } from '../queue/simulate.js'
import type { ConfigIssue } from '../errors.js'
import type { ReloadOutcome } from '../reload/reloader.js'
import type { Setup } from '../setup.js'
import type { Backend } from '../store/backend.js'
import { EVENT_TYPES, type EventType, type Payload } from '../types.js'
import { createRecentReader, type RecipeSummary, recipeSummaries, type Stats, stats } from './activity.js'

/**
 * What the console can do, once: the JSON API and the pages both call these,
 * and these call the same functions as the CLI (`retryRun`, `replayEvent`,
 * `simulate`), so a retry from the browser is the CLI's retry.
 */
export interface ConsoleService {
  events(search: EventSearch): Promise<EventPage>
  /** Throws a 404 RunnerError for an unknown id. */
  event(id: string): Promise<EventDetail>
  retry(runId: string): Promise<RunView>
  replay(eventId: string): Promise<{ id: string; replayOf: string }>
  recipes(): Promise<RecipeSummary[]>
  simulate(event: unknown, payload: unknown): Promise<Simulation>
  stats(): Promise<Stats>
  /** The newest of the last day's dead events (up to `limit`), with their runs: what needs a person. */
  deadEvents(limit: number): Promise<EventDetail[]>
  /** The names of the recipes in effect (they change with a reload). */
  recipeNames(): string[]
  /** The last config reload, if there was one: what it changed, or every problem that kept the old config running. */
  lastReload(): ReloadView | undefined
}

/** A reload as the console shows it. */
export type ReloadView =
  | { ok: true; at: string; trigger: string; summary: string }
  | { ok: false; at: string; trigger: string; problems: ConfigIssue[] }

export interface ServiceOptions {
  store: Backend
  engine: Pick<Engine, 'stats'>
  /** The recipes in effect and the last reload, read at each call: a reload changes them. */
  live: { readonly setup: Pick<Setup, 'config' | 'plan' | 'renderer'>; readonly lastReload?: ReloadOutcome | undefined }
}

export function createConsoleService({ store, engine, live }: ServiceOptions): ConsoleService {
  const recent = createRecentReader(store)
  return {
    events: (search) => searchEvents(store, search),
    async event(id) {
      const detail = await eventDetail(store, id)
      if (!detail) throw eventNotFound(id)
      return detail
    },
    async retry(runId) {
      return toRunView(await retryRun(store, live.setup.plan, runId))
    },
    async replay(eventId) {
      const id = await store.replayEvent(eventId, Date.now())
      if (!id) throw eventNotFound(eventId)
      return { id, replayOf: eventId }
    },
    recipes: async () => recipeSummaries(live.setup.plan, await recent()),
    recipeNames: () => live.setup.plan.recipes.map((r) => r.recipe.name),
    lastReload() {
      const last = live.lastReload
      if (!last) return undefined
      const { at, trigger } = last
      const when = new Date(at).toISOString()
      return last.ok ? { ok: true, at: when, trigger, summary: last.summary } : { ok: false, at: when, trigger, problems: last.problems }
    },
    async simulate(event, payload) {
      const type = eventType(event)
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw badRequest('payload: must be a JSON object')
      return simulate(live.setup, type, payload as Payload)
    },
    async deadEvents(limit) {
      // From the cached read of the last day, not a search: an open overview refreshes often.
      const ids = (await recent()).records.filter((r) => eventStatus(r) === 'dead').slice(0, limit)
      const details = await Promise.all(ids.map((r) => eventDetail(store, r.id)))
      // An event pruned since is left out.
      return details.filter((d) => d !== undefined)
    },
    async stats() {
      const [r, queue] = await Promise.all([recent(), store.stats()])
      const { running, queued } = engine.stats()
      return stats(r, { ...queue, running, waiting: queued })
    },
  }
}

function eventNotFound(id: string): RunnerError {
  return new RunnerError('event_not_found', `no event ${id.slice(0, 100)} in the store`, { status: 404 })
}

export function badRequest(message: string): RunnerError {
  return new RunnerError('bad_request', message, { status: 400 })
}

/** `?status=&type=&recipe=&q=&limit=&before=` checked, for the API and the events page alike. */
export function parseSearch(query: Record<string, unknown>, recipes: readonly string[]): EventSearch {
  const one = (name: string): string | undefined => {
    const v = query[name]
    if (v === undefined || v === '') return undefined
    if (typeof v !== 'string') throw badRequest(`${name}: give it once`)
    return v
  }
  const listed = <T extends string>(name: string, values: readonly T[]): T | undefined => {
    const v = one(name)
    if (v !== undefined && !(values as readonly string[]).includes(v)) throw badRequest(`${name}: use one of ${values.join(', ')}`)
    return v as T | undefined
  }
  const search: EventSearch = {}
  const status = listed<EventStatus>('status', EVENT_STATUSES)
  if (status !== undefined) search.status = status
  const type = listed<EventType>('type', EVENT_TYPES)
  if (type !== undefined) search.type = type
  const recipe = one('recipe')
  if (recipe !== undefined) {
    if (!recipes.includes(recipe)) throw badRequest(`recipe: no recipe "${recipe.slice(0, 100)}" in the config`)
    search.recipe = recipe
  }
  const q = one('q')
  if (q !== undefined) search.q = q.slice(0, 200)
  const limit = one('limit')
  if (limit !== undefined) {
    if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_PAGE)
      throw badRequest(`limit: a whole number from 1 to ${MAX_PAGE}`)
    search.limit = Number(limit)
  }
  const before = one('before')
  if (before !== undefined) search.before = before
  return search
}
