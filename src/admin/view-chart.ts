import { type Bucket, OUTCOMES } from './activity.js'
import { shortTime, utcTime } from './view-format.js'

/**
 * A bar chart as numbers for the `chart` partial's inline SVG: per bucket a
 * deliveries bar and beside it the outcomes stacked (done, dead, skipped,
 * previewed). Only numbers and fixed class names reach the SVG; each bucket
 * has a `<title>`, and the same figures go to a table for screen readers.
 */

const WIDTH = 480
const PLOT = 150
const TOP = 18
const AXIS = 20

export interface Chart {
  id: string
  caption: string
  width: number
  height: number
  /** y of the baseline, and of the top gridline with the scale's maximum. */
  baseline: number
  top: number
  max: number
  groups: Array<{ title: string; hit: Rect; bars: Array<Rect & { cls: string }> }>
  ticks: Array<{ x: number; y: number; label: string }>
  /** The buckets with any activity, for the table. */
  rows: Array<{ at: number; deliveries: number; done: number; dead: number; skipped: number; previewed: number }>
  empty: boolean
}

interface Rect {
  x: number
  y: number
  w: number
  h: number
}

export function chart(id: string, caption: string, buckets: Bucket[], size: number): Chart {
  const totals = buckets.map((b) => OUTCOMES.reduce((sum, o) => sum + b.outcomes[o], 0))
  const max = niceMax(Math.max(1, ...buckets.map((b) => b.deliveries), ...totals))
  const slot = WIDTH / Math.max(1, buckets.length)
  const baseline = TOP + PLOT
  const scale = (n: number) => (n / max) * PLOT
  const groups = buckets.map((b, i) => {
    const x0 = i * slot
    const bars: Chart['groups'][number]['bars'] = []
    if (b.deliveries)
      bars.push({ cls: 'bar-deliveries', ...rect(x0 + slot * 0.1, baseline - scale(b.deliveries), slot * 0.38, scale(b.deliveries)) })
    let y = baseline
    for (const o of OUTCOMES) {
      const h = scale(b.outcomes[o])
      if (!h) continue
      y -= h
      bars.push({ cls: `bar-${o}`, ...rect(x0 + slot * 0.52, y, slot * 0.38, h) })
    }
    const parts = OUTCOMES.filter((o) => b.outcomes[o]).map((o) => `${b.outcomes[o]} ${o}`)
    const span = `${utcTime(b.at).slice(11, 16)}–${shortTime(b.at + size)} UTC`
    const title = `${span}: ${b.deliveries} ${b.deliveries === 1 ? 'delivery' : 'deliveries'}${parts.length ? `; ${parts.join(', ')}` : ''}`
    return { title, hit: rect(x0, TOP, slot, PLOT), bars }
  })
  const every = Math.max(1, Math.round(buckets.length / 5))
  const ticks = buckets.flatMap((b, i) => (i % every === 0 ? [{ x: round(i * slot), y: baseline + 15, label: shortTime(b.at) }] : []))
  const rows = buckets.filter((b, i) => b.deliveries || totals[i]).map((b) => ({ at: b.at, deliveries: b.deliveries, ...b.outcomes }))
  return { id, caption, width: WIDTH, height: baseline + AXIS, baseline, top: TOP, max, groups, ticks, rows, empty: rows.length === 0 }
}

function rect(x: number, y: number, w: number, h: number): Rect {
  return { x: round(x), y: round(y), w: round(w), h: round(h) }
}

function round(n: number): number {
  return Math.round(n * 100) / 100
}

/** 1, 2, 5, 10, 20, 50…: a scale maximum a person reads at a glance. */
function niceMax(n: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(n))
  for (const step of [1, 2, 5, 10]) if (n <= step * magnitude) return step * magnitude
  return 10 * magnitude
}
