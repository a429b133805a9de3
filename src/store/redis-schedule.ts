import { randomUUID } from 'node:crypto'
import type { Job } from 'bullmq'
import type { RedisOptions } from 'ioredis'
import { StoreUnavailableError } from '../errors.js'
import type { ScheduleStats, Work } from './backend.js'
import { retryStrategy } from './redis-connection.js'

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

/** BullMQ's errors for a lock that is not ours any more carry a negative code. */
const lostLease = (err: unknown) => typeof (err as { code?: unknown })?.code === 'number' && (err as { code: number }).code < 0

export async function createRedisSchedule({ connection, prefix, lease }: RedisScheduleOptions): Promise<RedisSchedule> {
  const { Queue, Worker, Job } = await import('bullmq')

  // A block never outlasts the `wait` of the take that asked for it, even when a delayed job is further away:
  // BullMQ blocks for its fixed drainDelay, or until the next delayed job, and only a subclass can cap that.
  class ManualWorker extends Worker {
    maxBlock = 5
    protected override getBlockTimeout(blockUntil: number): number {
      return Math.min(super.getBlockTimeout(blockUntil), this.maxBlock)
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
  // Connection trouble shows in isReady and in failed writes; BullMQ reconnects by itself.
  queue.on('error', () => {})
  worker.on('error', () => {})
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()])
    await worker.startStalledCheckTimer()
  } catch (err) {
    await Promise.allSettled([worker.close(true), queue.close()])
    throw err
  }

  const held = new Map<string, Job>()
  // Jobs a fetch got after the take that started it had stopped waiting: the next take hands them out.
  const fetched: Array<{ job: Job; at: number }> = []
  let fetching: Promise<void> | undefined
  let closed = false

  const fetch = (name: string, block: boolean, seconds: number): Promise<void> => {
    if (!fetching) {
      worker.maxBlock = seconds
      const p = worker
        .getNextJob(`${name}:${randomUUID()}`, { block })
        .then((job) => {
          if (job) fetched.push({ job, at: Date.now() })
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

  const within = async (p: Promise<void>, ms: number): Promise<boolean> => {
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

  const toWork = (job: Job): Work => ({ kind: job.name === 'match' ? 'match' : 'step', id: job.id!, token: job.token! })

  const add: RedisSchedule['add'] = async (kind, entries) => {
    if (entries.length === 0) return
    const now = Date.now()
    // A job id that exists already is left as it is by BullMQ: that is what makes adding again safe.
    await queue.addBulk(entries.map((e) => ({ name: kind, data: {}, opts: { jobId: e.id, delay: Math.max(0, e.at - now) } })))
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

  return {
    async take(name, limit, wait) {
      if (closed) throw new StoreUnavailableError('the store is closed')
      const out: Work[] = []
      const hand = () => {
        while (out.length < limit && fetched.length > 0) {
          const { job, at } = fetched.shift()!
          // Fetched long ago: most of its lease is gone, so it goes back for anyone rather than out.
          if (Date.now() - at > lease / 2) {
            job.moveToWait(job.token).catch(() => {})
            continue
          }
          held.set(job.token!, job)
          out.push(toWork(job))
        }
      }
      hand()
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
          hand()
          if (out.length > 0) return out
          throw new StoreUnavailableError('could not take work from Redis', { cause: err })
        }
        hand()
        if (late) break
        if (out.length === had) {
          if (!block || Date.now() >= deadline) break
          // A fetch that answered at once with nothing (a delayed job due any moment): do not spin on Redis.
          if (Date.now() - started < 5) await new Promise((r) => setTimeout(r, 5))
        }
      }
      return out
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
    async close() {
      if (closed) return
      closed = true
      // Fetched but never handed out: back for anyone now. What was handed out keeps its lease until it expires.
      const unhanded = fetched.splice(0)
      await within(
        Promise.all(unhanded.map(({ job }) => job.moveToWait(job.token).catch(() => {}))).then(() => {}),
        1000,
      )
      await worker.close(true).catch(() => {})
      await queue.close().catch(() => {})
      held.clear()
    },
  }
}
