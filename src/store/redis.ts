import type { Redis } from 'ioredis'
import { RunnerError, StoreUnavailableError } from '../errors.js'
import type { Backend, StepRun } from './backend.js'
import { newId } from './ids.js'
import { createRedisLimiter } from './redis-limiter.js'
import { checkDurability, connectionOptions, retryStrategy, shownError, withTimeout } from './redis-connection.js'
import { createRedisRecords, encodePatch, type FlatHash, luaJson, pxArg, toRun } from './redis-records.js'
import { createRedisSchedule } from './redis-schedule.js'
import { type RunScript, SCRIPTS } from './redis-scripts.js'
import { startSweep } from './redis-sweep.js'

export interface RedisBackendOptions {
  /** `redis://[user:password@]host:port[/db]` (`rediss://` for TLS). */
  url: string
  /** Every key and the BullMQ queue live under it (default `audiorista`). */
  prefix?: string
  /** How long a lease lasts, ms (default 30 s): BullMQ's lock duration. */
  lease?: number
  /** AOF off: called with a warning; with `requireDurable`, createRedisBackend throws RunnerError('redis_not_durable', ...) instead. */
  onWarning?: (message: string) => void
  /** Told when the connection comes back after a loss (the loss itself goes to `onWarning`). */
  onNotice?: (message: string) => void
  requireDurable?: boolean
}

/** The longest a job move may take before the call fails (see `jobOp`). */
const JOB_OP_TIMEOUT = 3000

/** Intent younger than this is not swept: its job is being added right now. */
const SWEEP_GRACE = 3000

/**
 * How many jobs of each due list (waiting steps, prioritized matches) `stats` reads for `oldestDueAt`: the
 * next to be handed out. Jobs queue in the order they became due, so the oldest is among them, unless work
 * scheduled at a time already past (a recipe's next step after a long one) queued behind more than this.
 */
const OLDEST_DUE_RANGE = 16

/**
 * The backend for replicas: records in Redis hashes and sorted sets, written
 * by Lua scripts (redis-scripts.ts) so each write is atomic across replicas,
 * and the schedule on BullMQ (redis-schedule.ts). Keys, under the prefix P:
 *
 *   P:event:<id>            hash: id type body hash title? receivedAt dispatchedAt?
 *   P:event:<id>:runs       set of its run ids
 *   P:events, P:events:<type>  zset of event ids by receivedAt (listing, pruning)
 *   P:dedupe:<type>:<hash>  event id, PX the dedupe window
 *   P:run:<id>              hash: the run; input and result as JSON; claim: the lease token while running
 *   P:run:<id>:once         set of the once keys it took
 *   P:once:<key>            run id, PX until it expires (none: never)
 *   P:debounce:<key>        hash: runId firstAt dueAt; P:debounces: set of keys
 *   P:unmatched             zset: events due for matching, by when recorded (intent)
 *   P:scheduled             zset: runs in the schedule, by due time (intent)
 *   P:lane:<lane>:slots|starts  the limiter's zsets
 *   P:sweep                 which replica sweeps this interval
 *   P:schedule:*            BullMQ's queue; a job's id is its event or run id
 *
 * Intent is written in the same script as the records, then the job is
 * added; the sweep (redis-sweep.ts) adds jobs that a killed process left out.
 */
export async function createRedisBackend(options: RedisBackendOptions): Promise<Backend> {
  const { prefix = 'audiorista', lease = 30_000, onWarning, onNotice, requireDurable = false } = options
  const base = connectionOptions(options.url)
  const { Redis } = await import('ioredis')
  // Writes fail at once while Redis is unreachable, so a delivery gets a quick 503 rather than hanging.
  const redis: Redis = new Redis({
    ...base,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 5000,
    retryStrategy,
  })
  let closed = false
  // Shown in failed commands and isReady; kept to say why the first connection failed.
  let lastError: Error | undefined
  redis.on('error', (err: Error) => {
    lastError = err
  })
  // One line when the connection goes, one when it is back: not one per retry.
  let wasReady = false
  let lost = false
  redis.on('ready', () => {
    if (lost) onNotice?.('Redis is reachable again: accepting deliveries')
    wasReady = true
    lost = false
  })
  redis.on('close', () => {
    if (!wasReady || lost || closed) return
    lost = true
    onWarning?.('lost the connection to Redis: deliveries get 503 until it is back; reconnecting')
  })
  for (const [name, lua] of Object.entries(SCRIPTS))
    redis.defineCommand(name, { lua, numberOfKeys: name === 'arAcquire' ? 2 : name === 'arRelease' ? 1 : 0 })
  try {
    await redis.connect()
    await checkDurability(redis, onWarning, requireDurable)
  } catch (err) {
    redis.disconnect()
    if (err instanceof RunnerError) throw err
    // Why the connection failed, rather than that it did; and never the command (AUTH's is the password).
    throw shownError(lastError ?? err)
  }
  const schedule = await createRedisSchedule({ connection: base, prefix, lease }).catch((err) => {
    redis.disconnect()
    throw err instanceof RunnerError ? err : shownError(err)
  })

  /** Every call to Redis: closed and Redis errors are StoreUnavailableError, never carrying the command (AUTH's is the password). */
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new StoreUnavailableError('the store is closed')
    try {
      return await fn()
    } catch (err) {
      if (err instanceof RunnerError) throw err
      throw new StoreUnavailableError(`Redis could not do this (${(err as Error).message})`, { cause: shownError(err) })
    }
  }
  const run: RunScript = <T>(name: string, keys: string[], ...args: string[]) =>
    guard(async () => {
      const fn = (redis as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[name]!
      return (await fn.call(redis, ...keys, prefix, ...args)) as T
    })
  /**
   * Job moves go over BullMQ's worker connection, which waits for Redis to come back rather than
   * failing: bounded here, so an outage does not hold up a shutdown. A move that lands later is
   * harmless (it needs the lease, and the records are written already).
   */
  const jobOp = <T>(fn: () => Promise<T>): Promise<T> =>
    guard(() => {
      if (redis.status !== 'ready') throw new StoreUnavailableError('Redis is not reachable')
      return withTimeout(fn(), JOB_OP_TIMEOUT)
    })
  /** A job after its records: when adding it fails, the intent is recorded and the sweep adds it. */
  const addLater = (kind: 'match' | 'step', entries: Array<{ id: string; at: number; existed?: boolean }>) =>
    schedule.add(kind, entries).catch(() => {})

  const sweeper = startSweep({ redis, run, prefix, schedule, interval: Math.max(50, Math.floor(lease / 2)), grace: SWEEP_GRACE })
  const entriesJson = (entries: Array<{ runId: string; at: number }>) => luaJson(entries.map((e) => ({ runId: e.runId, at: String(e.at) })))
  const scheduled = (rows: Array<[string, string, number]>) =>
    rows.map(([id, at, existed]) => ({ id, at: Number(at), existed: existed === 1 }))

  return {
    driver: 'redis',
    lease,
    limiter: createRedisLimiter(run, prefix),
    ...createRedisRecords({ redis, run, guard, prefix }),
    async accept(d) {
      const id = newId('evt')
      const [got, duplicate] = await run<[string, number]>(
        'arAccept',
        [],
        id,
        d.type,
        d.body,
        d.hash,
        d.title === undefined ? '0' : '1',
        d.title ?? '',
        String(d.receivedAt),
        pxArg(d.dedupeWindow),
        String(Date.now()),
      )
      if (duplicate === 1) return { id: got, duplicate: true }
      await addLater('match', [{ id, at: 0 }])
      return { id, duplicate: false }
    },
    async replayEvent(id, now) {
      const copy = newId('evt')
      if ((await run<number>('arReplay', [], id, copy, String(now))) !== 1) return undefined
      await addLater('match', [{ id: copy, at: 0 }])
      return copy
    },
    take: ({ worker, limit, wait }) =>
      guard(() => {
        if (redis.status !== 'ready') throw new StoreUnavailableError('Redis is not reachable')
        return schedule.take(worker, limit, wait)
      }),
    extend: (work) => jobOp(() => schedule.extend(work)),
    release: (work) => jobOp(() => schedule.release(work)),
    async dispatch(work, runs) {
      const now = Date.now()
      const records = runs.map((r) => ({ ...r, id: newId('run') }))
      const encoded = records.map((r) => ({
        id: r.id,
        recipe: r.recipe,
        stepIndex: String(r.stepIndex),
        action: r.action,
        runAt: String(r.runAt),
        ...(r.stepName !== undefined ? { stepName: r.stepName } : {}),
        ...(r.queue ? { queue: true } : {}),
      }))
      const recorded = (await run<number>('arDispatch', [], work.id, String(now), luaJson(encoded))) === 1
      if (recorded)
        await addLater(
          'step',
          records.filter((r) => r.queue).map((r) => ({ id: r.id, at: r.runAt })),
        )
      // Matched already or not: no match work is left for this event.
      await jobOp(() => schedule.complete(work))
      if (!recorded) return undefined
      return records.map(
        ({ queue: _, ...r }): StepRun => ({ ...r, eventId: work.id, state: 'pending', attempt: 0, createdAt: now, updatedAt: now }),
      )
    },
    async settle(work, { patch, schedule: entries = [] }) {
      const patchJson = patch && work.kind === 'step' ? encodePatch(patch) : ''
      const rows = await run<Array<[string, string, number]>>(
        'arSettle',
        [],
        work.kind,
        work.id,
        String(Date.now()),
        patchJson,
        entriesJson(entries),
      )
      const due = scheduled(rows)
      const own = work.kind === 'step' ? due.find((e) => e.id === work.id) : undefined
      await jobOp(async () => {
        await schedule.add(
          'step',
          due.filter((e) => e !== own),
        )
        if (own) await schedule.requeue(work, own.at)
        else await schedule.complete(work)
      })
    },
    async schedule(entries) {
      const rows = await run<Array<[string, string, number]>>('arSettle', [], 'none', '', String(Date.now()), '', entriesJson(entries))
      await jobOp(() => schedule.add('step', scheduled(rows)))
    },
    async debounce({ key, runId, now, wait, maxWait, scope, reason }) {
      const [dueAt, replaced, rows] = await run<[string, FlatHash[], Array<[string, string, number]>]>(
        'arDebounce',
        [],
        key,
        runId,
        String(now),
        String(wait),
        maxWait === undefined ? '' : String(maxWait),
        scope,
        reason,
      )
      await addLater('step', scheduled(rows))
      return { dueAt: Number(dueAt), replaced: replaced.map(toRun) }
    },
    stats: () =>
      guard(async () => {
        const [counts, next] = await Promise.all([schedule.stats(), schedule.nextDue(OLDEST_DUE_RANGE)])
        // Due times are in the intent (the records' own schedule), read in one script.
        const at = next.length > 0 ? await run<string | null>('arOldestDue', [], ...next) : null
        // A job already waiting stays due when its run is rescheduled later: due no later than now.
        return at === null ? counts : { ...counts, oldestDueAt: Math.min(Number(at), Date.now()) }
      }),
    isReady: () => !closed && redis.status === 'ready',
    async close() {
      if (closed) return
      closed = true
      sweeper.stop()
      await schedule.close()
      // quit lets commands in flight finish; without a connection it is refused (no offline queue), and a
      // client that is not disconnected keeps reconnecting: disconnect in any case.
      await withTimeout(redis.quit(), 1000).catch(() => {})
      redis.disconnect()
    },
  }
}
