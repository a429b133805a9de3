import type { ResolvedRetry } from '../config/resolved.js'

/**
 * Delay before attempt `attempt + 1`: exponential from `delay`, capped at
 * `maxDelay`, with ±20% jitter so that a burst of failures does not retry in
 * lockstep against a recovering service.
 */
export function backoff(retry: ResolvedRetry, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(retry.maxDelay, retry.delay * retry.factor ** Math.max(0, attempt - 1))
  const jittered = base * (0.8 + 0.4 * random())
  // Above the cap, fold back below it rather than clamp: clamped retries would run in lockstep.
  return Math.round(jittered > retry.maxDelay ? 2 * retry.maxDelay - jittered : jittered)
}
