/**
 * Dot-paths into the template context (`share.url`, `tags.slug`,
 * `assets.0.media_type`). Only own properties are walked, so a path can never
 * reach `Object.prototype`, a constructor or a function, whatever the payload.
 */
import { type Budget, charge, UNLIMITED } from './budget.js'

/** Segments that could reach a prototype or a function; such a path reaches nothing. */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

const INDEX = /^(?:0|[1-9]\d*)$/
// Arrays of arrays fan out recursively; the cap keeps a hostile, deeply nested body off the stack.
const MAX_ARRAY_NESTING = 16
// Paths come from the config, so the cache stays small; the cap guards odd callers.
const MAX_CACHED = 1000
const cache = new Map<string, readonly string[] | null>()

/** The segments of a dot-path, or null when a segment is forbidden. */
export function splitPath(path: string): readonly string[] | null {
  let segments = cache.get(path)
  if (segments !== undefined) return segments
  const parts = path.split('.')
  segments = parts.some((s) => FORBIDDEN_SEGMENTS.has(s)) ? null : parts
  if (cache.size >= MAX_CACHED) cache.clear()
  cache.set(path, segments)
  return segments
}

/**
 * Every value `path` reaches from `root`. An array met before the last
 * segment fans out (any element), unless the segment is an index; the value at
 * the end is kept as is, arrays included. A missing path gives an empty list.
 */
export function getPath(root: unknown, path: string, budget: Budget = UNLIMITED): unknown[] {
  const segments = splitPath(path)
  const found: unknown[] = []
  if (segments) walk(root, segments, 0, 0, { found, budget })
  return found
}

/** Every value the walk reaches is a visit charged to `budget`: a path through arrays fans out to every element. */
function walk(value: unknown, segments: readonly string[], i: number, nesting: number, to: { found: unknown[]; budget: Budget }): void {
  charge(to.budget, 'visits', 1)
  const { found } = to
  if (i === segments.length) {
    found.push(value)
    return
  }
  if (typeof value !== 'object' || value === null) return
  const segment = segments[i]!
  if (Array.isArray(value) && !INDEX.test(segment)) {
    if (nesting >= MAX_ARRAY_NESTING) return
    for (const element of value) walk(element, segments, i, nesting + 1, to)
    return
  }
  if (Object.hasOwn(value, segment)) walk((value as Record<string, unknown>)[segment], segments, i + 1, 0, to)
}

/** Config-style path of `key` under `base`: `when.share.url`, or `when["odd key"]`. */
export function joinConfigPath(base: string, key: string): string {
  if (!/^[\w$-]+(?:\.[\w$-]+)*$/.test(key)) return `${base}[${JSON.stringify(key)}]`
  return base ? `${base}.${key}` : key
}
