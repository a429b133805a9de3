/**
 * Times and durations as the console prints them. Pages are rendered on the
 * server, which does not know the reader's time zone: times are UTC, in a
 * `<time datetime>` that console.js shows in local time when it runs.
 */

const pad = (n: number) => String(n).padStart(2, '0')

export function isoTime(ms: number): string {
  return new Date(ms).toISOString()
}

/** `2026-12-02 10:42:05 UTC` */
export function utcTime(ms: number): string {
  const d = new Date(ms)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`
}

/** `10:42` (UTC), for chart axes. */
export function shortTime(ms: number): string {
  const d = new Date(ms)
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

/** `850 ms`, `4.2 s`, `3 min 4 s`, `2 h 5 min`. */
export function duration(ms: number): string {
  if (ms < 0) return '0 ms'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`
  const m = Math.round(s / 60)
  if (m < 1440) return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`
  return `${Math.floor(m / 1440)} d${Math.floor(m / 60) % 24 ? ` ${Math.floor(m / 60) % 24} h` : ''}`
}
