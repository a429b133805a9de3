import PQueue from 'p-queue'
import type { ActionEntry } from '../actions/registry.js'

/**
 * Per-action concurrency and rate limits. Each action (and limit key, such
 * as a Slack channel) gets its own small queue in front of the global one,
 * so a slow or rate-limited target never holds the global slots.
 */
export function createLimits() {
  const queues = new Map<string, PQueue>()
  return {
    run<T>(name: string, entry: ActionEntry, key: string | undefined, task: () => Promise<T>): Promise<T> {
      if (entry.concurrency === undefined && entry.rateLimit === undefined) return task()
      const id = `${name}\u0000${key ?? ''}`
      let queue = queues.get(id)
      if (!queue) {
        queue = new PQueue({
          concurrency: entry.concurrency ?? Number.POSITIVE_INFINITY,
          ...(entry.rateLimit ? { intervalCap: entry.rateLimit.limit, interval: entry.rateLimit.interval, strict: true } : {}),
        })
        queues.set(id, queue)
      }
      return queue.add(task) as Promise<T>
    },
    clear() {
      for (const q of queues.values()) q.clear()
    },
  }
}
