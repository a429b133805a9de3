import type { EventType } from '../types.js'
import type { Redis } from 'ioredis'
import type { Backend, EventRecord, RunPatch, RunState, StepRun, StoredEvent } from './backend.js'
import type { RunScript } from './redis-scripts.js'

/** A Redis hash as the scripts return it: field, value, field, value… */
export type FlatHash = string[]

const fields = (flat: FlatHash): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
  return out
}

export function toRun(flat: FlatHash | Record<string, string>): StepRun {
  const h = Array.isArray(flat) ? fields(flat) : flat
  const run: StepRun = {
    id: h.id!,
    eventId: h.eventId!,
    recipe: h.recipe!,
    stepIndex: Number(h.stepIndex),
    action: h.action!,
    state: h.state as RunState,
    attempt: Number(h.attempt),
    runAt: Number(h.runAt),
    createdAt: Number(h.createdAt),
    updatedAt: Number(h.updatedAt),
  }
  if (h.stepName !== undefined) run.stepName = h.stepName
  if (h.input !== undefined) run.input = JSON.parse(h.input)
  if (h.result !== undefined) run.result = JSON.parse(h.result)
  if (h.error !== undefined) run.error = h.error
  return run
}

export function toEvent(h: Record<string, string>): StoredEvent | undefined {
  if (h.id === undefined) return undefined
  const event: StoredEvent = { id: h.id, type: h.type as EventType, body: h.body!, hash: h.hash!, receivedAt: Number(h.receivedAt) }
  if (h.dispatchedAt !== undefined) event.dispatchedAt = Number(h.dispatchedAt)
  return event
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/**
 * JSON for a script's cjson. JSON.stringify writes a lone surrogate (a string
 * cut in the middle of an emoji) as an escape that cjson refuses, which would
 * make the write fail every time it is tried: such halves become U+FFFD, as
 * they do anyway when a string is sent to Redis as UTF-8.
 */
export function luaJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'string' ? v.replace(LONE_SURROGATE, '\ufffd') : v))
}

/** The longest expiry a script is given, ms (about 100 years): `PX` takes an integer, and far more than this overflows Redis's clock. */
const MAX_PX = 100 * 365 * 24 * 3600 * 1000

/**
 * A duration as a script's `PX` argument: an integer in [0, MAX_PX] written without an exponent (`String(1e21)`
 * is `1e+21`, which Redis refuses). Not a number is 0 (no expiry to wait for).
 */
export function pxArg(ms: number): string {
  if (Number.isNaN(ms) || ms <= 0) return '0'
  return String(Math.min(MAX_PX, Math.ceil(ms)))
}

/** A patch as the scripts take it: strings only, absent fields left alone. */
export function encodePatch(patch: RunPatch): string {
  const out: Record<string, string | boolean> = { state: patch.state }
  if (patch.runAt !== undefined) out.runAt = String(patch.runAt)
  if (patch.input !== undefined) out.input = JSON.stringify(patch.input)
  if (patch.result !== undefined) out.result = JSON.stringify(patch.result)
  if (typeof patch.error === 'string') out.error = patch.error
  if (patch.error === null) out.clearError = true
  if (patch.attempt !== undefined) out.attempt = String(patch.attempt)
  if (patch.skipLater !== undefined) out.skipLater = patch.skipLater
  if (patch.expect) {
    out.expectState = patch.expect.state
    out.expectAttempt = String(patch.expect.attempt)
  }
  return luaJson(out)
}

export interface RecordsOptions {
  redis: Redis
  run: RunScript
  /** Runs a read: closed and Redis errors become StoreUnavailableError. */
  guard: <T>(fn: () => Promise<T>) => Promise<T>
  prefix: string
}

type RecordMethods =
  | 'getEvent'
  | 'listEvents'
  | 'getRun'
  | 'runsForEvent'
  | 'updateRun'
  | 'claim'
  | 'claimOnce'
  | 'releaseOnce'
  | 'releaseDebounce'
  | 'prune'

/** The methods of the Redis backend that touch records only, never a job. */
export function createRedisRecords({ redis, run, guard, prefix }: RecordsOptions): Pick<Backend, RecordMethods> {
  const key = (...parts: string[]) => [prefix, ...parts].join(':')
  return {
    getEvent: (id) => guard(async () => toEvent(await redis.hgetall(key('event', id)))),
    async listEvents({ type, before, limit = 20 } = {}) {
      const rows = await run<Array<[string, string, string, number, string, number, Array<[string, string, string, string]>]>>(
        'arList',
        [],
        type ? key('events', type) : key('events'),
        String(limit),
        before ? String(before.receivedAt) : '',
        before?.id ?? '',
      )
      return rows.map(([id, t, receivedAt, hasTitle, title, dispatched, runs]) => {
        const record: EventRecord = {
          id,
          type: t as EventRecord['type'],
          receivedAt: Number(receivedAt),
          dispatched: dispatched === 1,
          runs: runs.map(([recipe, action, state, updatedAt]) => ({
            recipe,
            action,
            state: state as RunState,
            updatedAt: Number(updatedAt),
          })),
        }
        if (hasTitle === 1) record.title = title
        return record
      })
    },
    getRun: (id) =>
      guard(async () => {
        const h = await redis.hgetall(key('run', id))
        return h.id === undefined ? undefined : toRun(h)
      }),
    async runsForEvent(eventId) {
      const runs = (await run<FlatHash[]>('arRunsForEvent', [], eventId)).map(toRun)
      return runs.sort(
        (a, b) =>
          (a.recipe < b.recipe ? -1 : a.recipe > b.recipe ? 1 : 0) ||
          a.stepIndex - b.stepIndex ||
          a.createdAt - b.createdAt ||
          (a.id < b.id ? -1 : 1),
      )
    },
    async updateRun(id, patch) {
      return (await run<number>('arUpdate', [], id, String(Date.now()), encodePatch(patch))) === 1
    },
    async claim(work, now) {
      const flat = await run<FlatHash | null>('arClaim', [], work.id, String(now), work.token)
      return flat ? toRun(flat) : undefined
    },
    async claimOnce(onceKey, runId, now, expiresAt) {
      return (await run<number>('arClaimOnce', [], onceKey, runId, expiresAt === null ? '' : pxArg(expiresAt - now))) === 1
    },
    async releaseOnce(onceKey, runId) {
      await run('arReleaseOnce', [], onceKey, runId)
    },
    async releaseDebounce(debounceKey, runId) {
      await run('arReleaseDebounce', [], debounceKey, runId)
    },
    async prune(_now, before) {
      // Page by page, so no script holds Redis for long; what is kept stays at the front of the range.
      const page = 200
      let events = 0
      let runs = 0
      let kept = 0
      for (;;) {
        const [e, r, k, scanned] = await run<[number, number, number, number]>('arPrune', [], String(before), String(kept), String(page))
        events += e
        runs += r
        kept += k
        if (scanned < page) break
      }
      // Dedupe and once keys expire by themselves (PX); debounces left without a waiting run are deleted here.
      let keys = 0
      let cursor = '0'
      do {
        const [next, deleted] = await run<[string, number]>('arPruneDebounces', [], cursor)
        keys += deleted
        cursor = next
      } while (cursor !== '0')
      return { events, runs, keys }
    },
  }
}
