import { randomUUID } from 'node:crypto'
import type { Job } from 'bullmq'
import type { RedisOptions } from 'ioredis'
import { StoreUnavailableError } from '../errors.js'
import type { ScheduleStats, Work } from './backend.js'
import { retryStrategy, shownError, withTimeout } from './redis-connection.js'

/**
 * The schedule of the Redis backend, on BullMQ: one queue, and one worker
 * that never processes anything itself (manual fetching): the engine takes
 * jobs, and the job id is the event id (match work) or the run id (step
 * work). BullMQ holds the leases (job locks) and hands expired ones back
 * (its stalled check); our rules decide what a cut-off run means, so BullMQ
 * never fails a job. The records live beside it (redis.ts); this module only
 * moves jobs.
 */
export interface RedisSchedule {
  take(worker: string, limit: number, wait: number): Promise<Work[]>
  extend(work: Work[]): Promise<Work[]>
  release(work: Work[]): Promise<void>
  /** The work ends: its job is removed, so the id can be scheduled again later. */
  complete(work: Work): Promise<void>
  /** The work's own job goes back in the schedule, due at `at`. */
  requeue(work: Work, at: number): Promise<void>
  /** Jobs for work due at a time; a job that exists already is moved to that time if it is waiting for a later one. */
  add(kind: Work['kind'], entries: Array<{ id: string; at: number; existed?: boolean }>): Promise<void>
  stats(): Promise<ScheduleStats>
  /**
   * Ids of the due, unleased jobs handed out first: up to `count` waiting ones (steps) and `count` prioritized
   * ones (matches). BullMQ keeps no due time once a job is due; the records' intent does (redis.ts).
   */
  nextDue(count: number): Promise<string[]>
  close(): Promise<void>
}

export interface RedisScheduleOptions {
  connection: RedisOptions
  prefix: string
  lease: number
}

/** The queue's name under the prefix: its keys are `<prefix>:schedule:*`, a job's hash `<prefix>:schedule:<id>` (the scripts look for that hash). */
export const QUEUE_NAME = 'schedule'

/** How much longer than its block a fetch may take before `take` stops waiting for it (Redis slow or gone). */
const FETCH_SLACK = 1500

/** How long `close` waits for takes and the fetch in flight, and then for the jobs they got to go back, ms. */
const CLOSE_WAIT = 2000

/** How long an extension at hand-out may take before the job is kept for a later take instead, ms. */
const HAND_EXTEND_TIMEOUT = 1000

/** The smallest interface of a Redis client this module needs to let go of it. */
interface Client {
  status: string
  disconnect(reconnect?: boolean): void
  on(event: string, listener: (...args: unknown[]) => void): unknown
}

/** BullMQ's errors for a lock that is not ours any more carry a negative code. */
const lostLease = (err: unknown) => typeof (err as { code?: unknown })?.code === 'number' && (err as { code: number }).code < 0

export async function createRedisSchedule({ connection, prefix, lease }: RedisScheduleOptions): Promise<RedisSchedule> {
  const { Queue, Worker, Job } = await import('bullmq')

  // A block never outlasts the `wait` of the take that asked for it, even when a delayed job is further away:
  // BullMQ blocks for its fixed drainDelay, or until the next delayed job, and only a subclass can cap that.
  // And `close` ends a block at once: the fetch then moves no job to active (BullMQ does so only when the
  // wait says a job is due), where force-closing the connection under it could lose a job just moved.
  class ManualWorker extends Worker {
    maxBlock = 5
    private stopped = false
    private stopWaiting: (() => void) | undefined
    protected override getBlockTimeout(blockUntil: number): number {
      return Math.min(super.getBlockTimeout(blockUntil), this.maxBlock)
    }
    /** Wraps BullMQ's (private) `waitForJob`, the one place a block can be cut short without closing a connection. */
    cutShortBlocks() {
      const self = this as unknown as { waitForJob(blockUntil: number): Promise<number> }
      const original = self.waitForJob.bind(this)
      self.waitForJob = async (blockUntil) => {
        if (this.stopped) return Number.POSITIVE_INFINITY
        const waiting = original(blockUntil)
        waiting.catch(() => {})
        const stop = new Promise<number>((resolve) => {
          this.stopWaiting = () => resolve(Number.POSITIVE_INFINITY)
        })
        try {
          return await Promise.race([waiting, stop])
        } finally {
          this.stopWaiting = undefined
        }
      }
    }
    /** No block from now on, and the one in progress ends as if nothing were due (so no job is moved to active). */
    stopBlocking() {
      this.stopped = true
      this.stopWaiting?.()
    }
  }

  const queue = new Queue(QUEUE_NAME, {
    // Adding a job fails fast while Redis is down: the intent is recorded already and the sweep adds it later.
    connection: { ...connection, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy },
    prefix,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    streams: { events: { maxLen: 100 } },
  })
  const worker = new ManualWorker(QUEUE_NAME, null, {
    connection: { ...connection, retryStrategy },
    prefix,
    autorun: false,
    lockDuration: lease,
    stalledInterval: Math.max(50, Math.floor(lease / 2)),
    // A lease that runs out puts the job back, however often: never BullMQ's failure.
    maxStalledCount: 1_000_000_000,
    skipLockRenewal: true,
    removeOnComplete: { count: 0 },
    removeOnFail: { count: 0 },
  })
  worker.cutShortBlocks()
  // Connection trouble shows in isReady and in failed writes; BullMQ reconnects by itself.
  queue.on('error', () => {})
  worker.on('error', () => {})
  // Our clients, and BullMQ's: `close` disconnects them all, since BullMQ's own close only asks them to quit,
  // which a client without a connection refuses, and then it reconnects forever.
  const clients = new Set<Client>()
  const own = (client: Client | undefined) => {
    if (!client || clients.has(client)) return
    clients.add(client)
    // After BullMQ's close nobody listens: without this, ioredis prints each failed reconnection.
    client.on('error', () => {})
  }
  const letGo = async () => {
    for (const backend of [queue.getBackend(), worker.getBackend()]) {
      for (const client of [backend.client, backend.blockingClient]) if (client) own(await withTimeout(client, 200).catch(() => undefined))
    }
  }
  const disconnectAll = () => {
    for (const client of clients) client.disconnect()
  }
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()])
    await letGo()
    await worker.startStalledCheckTimer()
  } catch (err) {
    await Promise.allSettled([worker.close(true), queue.close()])
    await letGo().catch(() => {})
    disconnectAll()
    throw err
  }

  const held = new Map<string, Job>()
  // Jobs fetched and not handed out yet (a fetch that came back after its take had stopped waiting): the next take hands them out.
  const fetched: Array<{ job: Job; at: number }> = []
  let fetching: Promise<void> | undefined
  // Takes in progress: `close` waits for them, and what they got but did not hand out goes back.
  const taking = new Set<Promise<unknown>>()
  let closed = false
  // Set once `close` has given the fetched jobs back: a fetch that lands later gives its job back itself.
  let gaveBack = false

  const giveBack = (job: Job) => job.moveToWait(job.token).catch(() => {})
  /** Not handed out: kept for the next take, or given back once `close` has given the others back. */
  const keep = (entries: typeof fetched) => {
    if (gaveBack) for (const { job } of entries) void giveBack(job)
    else fetched.unshift(...entries)
  }

  const fetch = (name: string, block: boolean, seconds: number): Promise<void> => {
    if (closed) return Promise.resolve()
    if (!fetching) {
      worker.maxBlock = seconds
      const p = worker
        .getNextJob(`${name}:${randomUUID()}`, { block })
        .then((job) => {
          if (!job) return
          if (gaveBack) void giveBack(job)
          else fetched.push({ job, at: Date.now() })
        })
        .finally(() => {
          if (fetching === p) fetching = undefined
        })
      // Awaited by whichever take is waiting; a fetch nobody waits for any more must not crash the process.
      p.catch(() => {})
      fetching = p
    }
    return fetching
  }

  const toWork = (job: Job): Work => ({ kind: job.name === 'match' ? 'match' : 'step', id: job.id!, token: job.token! })

  const add: RedisSchedule['add'] = async (kind, entries) => {
    if (entries.length === 0) return
    const now = Date.now()
    // A job id that exists already is left as it is by BullMQ: that is what makes adding again safe.
    // Steps before matches (as on SQLite): BullMQ hands out jobs without a priority before prioritized ones.
    const priority = kind === 'match' ? { priority: 1 } : {}
    await queue.addBulk(entries.map((e) => ({ name: kind, data: {}, opts: { jobId: e.id, delay: Math.max(0, e.at - now), ...priority } })))
    await Promise.all(
      entries
        .filter((e) => e.existed)
        .map(async (e) => {
          const job = await Job.fromId(queue, e.id)
          if (!job || (await job.getState()) !== 'delayed') return
          const delay = e.at - Date.now()
          await (delay > 0 ? job.changeDelay(delay) : job.promote()).catch(() => {})
        }),
    )
  }

  /**
   * Hands fetched jobs out, up to `limit` in `out`. A job fetched more than a quarter of a lease ago has its
   * lock extended first, so what is handed out has close to a full lease; one whose lock is lost is dropped
   * (it expired: BullMQ hands it to someone again), one that cannot be extended now stays for a later take.
   */
  const hand = async (out: Work[], limit: number) => {
    while (!closed && out.length < limit && fetched.length > 0) {
      const batch = fetched.splice(0, limit - out.length)
      const now = Date.now()
      const kept = await Promise.all(
        batch.map(async ({ job, at }): Promise<boolean | undefined> => {
          if (now - at <= lease / 4) return true
          try {
            return (await withTimeout(job.extendLock(job.token!, lease), HAND_EXTEND_TIMEOUT)) === 1
          } catch (err) {
            return lostLease(err) ? false : undefined
          }
        }),
      )
      const later: typeof fetched = []
      batch.forEach((entry, i) => {
        if (kept[i] === false) return
        if (kept[i] === undefined) later.push(entry)
        else if (closed) later.push({ ...entry, at: Date.now() })
        else {
          held.set(entry.job.token!, entry.job)
          out.push(toWork(entry.job))
        }
      })
      keep(later)
      if (later.length > 0) break
    }
  }

  const takeSome = async (name: string, limit: number, wait: number): Promise<Work[]> => {
    const out: Work[] = []
    try {
      await hand(out, limit)
      const deadline = Date.now() + Math.max(0, wait)
      while (out.length < limit && !closed) {
        const left = deadline - Date.now()
        // Block only while nothing was found: once something is due, the rest is taken without waiting.
        const block = out.length === 0 && left > 0
        const had = out.length
        const started = Date.now()
        let late: boolean
        try {
          late = await within(fetch(name, block, Math.max(0.001, left / 1000)), (block ? left : 0) + FETCH_SLACK)
        } catch (err) {
          await hand(out, limit)
          if (out.length > 0) break
          throw new StoreUnavailableError('could not take work from Redis', { cause: shownError(err) })
        }
        await hand(out, limit)
        if (late) break
        if (out.length === had) {
          if (!block || Date.now() >= deadline) break
          // A fetch that answered at once with nothing (a delayed job due any moment): do not spin on Redis.
          if (Date.now() - started < 5) await new Promise((r) => setTimeout(r, 5))
        }
      }
    } finally {
      // Closing: nothing is handed out. What this take got goes back with the rest of the fetched jobs.
      if (closed) {
        const back: typeof fetched = []
        for (const w of out.splice(0)) {
          const job = held.get(w.token)
          held.delete(w.token)
          if (job) back.push({ job, at: Date.now() })
        }
        keep(back)
      }
    }
    return out
  }

  return {
    async take(name, limit, wait) {
      if (closed) throw new StoreUnavailableError('the store is closed')
      const p = takeSome(name, limit, wait)
      taking.add(p)
      try {
        return await p
      } finally {
        taking.delete(p)
      }
    },
    async extend(work) {
      const lost: Work[] = []
      await Promise.all(
        work.map(async (w) => {
          const job = held.get(w.token)
          if (!job || (await job.extendLock(w.token, lease)) !== 1) {
            held.delete(w.token)
            lost.push(w)
          }
        }),
      )
      return lost
    },
    async release(work) {
      await Promise.all(
        work.map(async (w) => {
          const job = held.get(w.token)
          if (!job) return
          try {
            await job.moveToWait(w.token)
          } catch (err) {
            if (!lostLease(err)) throw err
          }
          held.delete(w.token)
        }),
      )
    },
    async complete(work) {
      const job = held.get(work.token)
      if (!job) return
      try {
        await job.moveToCompleted(null, work.token, false)
      } catch (err) {
        // Lost meanwhile: the next holder finds the records as this settlement left them.
        if (!lostLease(err)) throw err
      }
      held.delete(work.token)
    },
    async requeue(work, at) {
      const job = held.get(work.token)
      if (!job) return add(work.kind, [{ id: work.id, at, existed: true }])
      try {
        if (at > Date.now()) await job.moveToDelayed(at, work.token)
        else await job.moveToWait(work.token)
      } catch (err) {
        if (!lostLease(err)) throw err
      }
      held.delete(work.token)
    },
    add,
    async stats() {
      const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active')
      const due = (c.waiting ?? 0) + (c.prioritized ?? 0)
      return { scheduled: due + (c.delayed ?? 0) + (c.active ?? 0), due, leased: c.active ?? 0 }
    },
    nextDue: (count) => queue.getRanges(['waiting', 'prioritized'], 0, count - 1, true),
    async close() {
      if (closed) return
      closed = true
      // No new fetch, and a block in progress ends: then the takes and the fetch in flight come back soon.
      worker.stopBlocking()
      await within(
        Promise.allSettled([...taking, fetching]).then(() => {}),
        CLOSE_WAIT,
      )
      // Fetched but never handed out: back for anyone now, as `release` does. What was handed out keeps its lease until it expires.
      gaveBack = true
      const unhanded = fetched.splice(0)
      await within(
        Promise.all(unhanded.map(({ job }) => giveBack(job))).then(() => {}),
        CLOSE_WAIT,
      )
      await within(
        worker.close(true).catch(() => {}),
        CLOSE_WAIT,
      )
      await within(
        queue.close().catch(() => {}),
        CLOSE_WAIT,
      )
      await letGo().catch(() => {})
      disconnectAll()
      held.clear()
    },
  }
}

/** Resolves true when `p` has not settled within `ms` (it is left running), false when it has (resolved or rejected: the rejection is thrown). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms)
  })
  try {
    return await Promise.race([p.then(() => false), late])
  } finally {
    clearTimeout(timer)
  }
}
