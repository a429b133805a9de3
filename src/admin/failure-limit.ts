/**
 * Refused admin credentials per client, in a fixed window that starts with
 * the client's first counted attempt. Synchronous on purpose: the check and
 * the count are one step, so parallel guesses cannot all pass a check made
 * before any of them was counted.
 */

export interface FailureLimitOptions {
  /** Refusals allowed per client per window. */
  limit: number
  /** ms. */
  window: number
  /** Clients tracked at once; past it, new ones share one budget (see `key`). */
  maxClients?: number
  now?: () => number
}

/** One attempt counted; settled once its answer is known. */
export interface Attempt {
  /** Keeps the count when the answer refused the credential (401), else gives it back. */
  settle(refused: boolean): void
}

export type Admission = { kind: 'counted'; attempt: Attempt } | { kind: 'over'; retryAfter: number }

export interface FailureLimit {
  /** ms until `client` may try again, 0 when it is under the limit; counts nothing (a valid token). */
  wait(client: string): number
  /** Counts an attempt that may be refused, unless the client is already over the limit. */
  admit(client: string): Admission
  /** True once per window, when a settled refusal brings `client` to the limit (to log it once). */
  reached(client: string): boolean
  close(): void
}

interface Entry {
  hits: number
  resetAt: number
  reported: boolean
}

/** The shared budget of clients beyond `maxClients`. */
const OVERFLOW = '(overflow)'

export function createFailureLimit({ limit, window, maxClients = 100_000, now = Date.now }: FailureLimitOptions): FailureLimit {
  const entries = new Map<string, Entry>()
  const sweep = setInterval(() => {
    for (const [key, entry] of entries) if (entry.resetAt <= now()) entries.delete(key)
  }, window)
  sweep.unref()

  const live = (key: string) => {
    const entry = entries.get(key)
    if (entry && entry.resetAt <= now()) entries.delete(key)
    else return entry
  }
  // Made-up addresses (a forged X-Forwarded-For that `trustProxy: true` believes) cannot grow the map
  // without bound: past the cap, new clients share one budget.
  const key = (client: string) => (entries.size < maxClients || live(client) ? client : OVERFLOW)
  const remaining = (k: string) => {
    const entry = live(k)
    return entry && entry.hits >= limit ? entry.resetAt - now() : 0
  }

  return {
    wait: (client) => remaining(key(client)),
    admit(client) {
      const k = key(client)
      const retryAfter = remaining(k)
      if (retryAfter > 0) return { kind: 'over', retryAfter }
      const entry = live(k) ?? { hits: 0, resetAt: now() + window, reported: false }
      entry.hits++
      entries.set(k, entry)
      let settled = false
      const attempt: Attempt = {
        settle(refused) {
          const first = !settled
          settled = true
          if (!first || refused) return
          // Only a live entry gives a count back: one whose window ended has started over.
          if (live(k) === entry && --entry.hits === 0) entries.delete(k)
        },
      }
      return { kind: 'counted', attempt }
    },
    reached(client) {
      const entry = live(key(client))
      if (!entry || entry.hits < limit || entry.reported) return false
      entry.reported = true
      return true
    },
    close: () => clearInterval(sweep),
  }
}
