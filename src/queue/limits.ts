import PQueue from 'p-queue'
import type { ActionEntry } from '../actions/registry.js'
import type { Logger } from '../types.js'

/**
 * Per-action concurrency and rate limits. Each action (and limit key, such
 * as a Slack channel) gets its own small queue in front of the global one,
 * so a slow or rate-limited target never holds the global slots.
 */
export function createLimits() {
  const queues = new Map<string, PQueue>()
  return {
    run<T>(name: string, entry: ActionEntry, key: string | undefined, log: Logger, task: () => Promise<T>): Promise<T> {
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
      const busy = queue.size > 0 || queue.pending >= (entry.concurrency ?? Number.POSITIVE_INFINITY) || queue.isPaused
      if (busy || (entry.rateLimit && queue.pending + queue.size >= entry.rateLimit.limit)) {
        const limit = [entry.concurrency !== undefined ? `concurrency ${entry.concurrency}` : '', entry.rateLimit ? `${entry.rateLimit.limit} per ${entry.rateLimit.interval} ms` : ''].filter(Boolean).join(', ')
        log.info({ waiting: queue.size + 1, limitKey: key }, `waiting for the ${name} limit (${limit}${key ? ` for ${key}` : ''})`)
      }
      return queue.add(task) as Promise<T>
    },
    clear() {
      for (const q of queues.values()) q.clear()
    },
  }
}
