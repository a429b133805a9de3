import { randomUUID } from 'node:crypto'
import type { Limiter } from './backend.js'
import { pxArg } from './redis-records.js'
import type { RunScript } from './redis-scripts.js'

/**
 * Per-action limits for every replica on one Redis, one script per call:
 * a lane's concurrency slots are a sorted set of holders scored by when
 * their slot expires, its rate a sorted set of start times (a sliding
 * window). The scripts read Redis's clock, so replicas with skewed clocks
 * agree on when a slot expires or a start leaves the window.
 */
export function createRedisLimiter(run: RunScript, prefix: string): Limiter {
  const lane = (name: string) => `${prefix}:lane:${name}`
  return {
    async acquire(name, holder, limits, lease) {
      const key = lane(name)
      const wait = await run<number>(
        'arAcquire',
        [`${key}:slots`, `${key}:starts`],
        holder,
        limits.concurrency === undefined ? '' : String(limits.concurrency),
        limits.rate ? String(limits.rate.limit) : '',
        limits.rate ? pxArg(limits.rate.interval) : '0',
        pxArg(lease),
        // Each start is its own member: one holder may start more than once in a window.
        `${holder}:${randomUUID()}`,
      )
      return Number(wait)
    },
    async release(name, holder) {
      await run('arRelease', [`${lane(name)}:slots`], holder)
    },
  }
}
