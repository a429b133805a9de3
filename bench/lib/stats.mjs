/**
 * The arithmetic every part shares, with no imports: the load generator
 * processes (bench/load/paced.mjs) use it too.
 */

/** p50/p99/p99.9/max of a list of ms. */
export function percentiles(values) {
  const sorted = Float64Array.from(values).sort()
  const at = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : Number.NaN)
  return { count: sorted.length, p50: at(50), p99: at(99), p99_9: at(99.9), max: sorted.length ? sorted[sorted.length - 1] : Number.NaN }
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Answers counted by status code (`{ "202": n, ... }`), split into 2xx and the rest. */
export function byClass(statuses) {
  let ok = 0
  let other = 0
  for (const [code, n] of Object.entries(statuses)) {
    if (Number(code) >= 200 && Number(code) < 300) ok += n
    else other += n
  }
  return { ok, other }
}
