/**
 * What a reload changes, as data: which recipes came, changed or went, whether
 * the keys rotated, which settings apply now and which need a restart. The
 * one-line summary the log prints is made from it; no secret is ever in it.
 */
import { isDeepStrictEqual } from 'node:util'
import type { ResolvedConfig } from '../config/resolved.js'
import type { Recipe } from '../types.js'

export interface ConfigChange {
  recipes: { added: string[]; changed: string[]; removed: string[] }
  keys: 'rotated' | 'unchanged'
  /** Settings that apply now (`vars`, `actions.slack`, `dedupe` …). */
  applied: string[]
  /** Settings that need a restart, left as they were (`server.port` …). */
  restart: string[]
}

/**
 * Settings the running process cannot change under its feet: the socket, the
 * store, the console (its sessions are keyed by the token), the size of the
 * step queue. Listed by path; a path ending in `.` covers its whole object.
 */
const RESTART = [
  'server.host',
  'server.port',
  'server.basePath',
  'server.headersTimeout',
  'server.requestTimeout',
  'server.keepAliveTimeout',
  'server.trustProxy',
  'store.',
  'admin.',
  'metrics.',
  'queue.concurrency',
  'dataDir',
] as const

/** Settings that apply at once, beside recipes and keys. */
const APPLIED = [
  'server.bodyLimit',
  'server.inflightBytes',
  'queue.timeout',
  'queue.retry',
  'dedupe',
  'retention',
  'vars',
  'actions',
  'plugins',
] as const

export function compareConfigs(before: ResolvedConfig, after: ResolvedConfig): ConfigChange {
  const old = new Map(before.recipes.map((r) => [r.name, r]))
  const next = new Map(after.recipes.map((r) => [r.name, r]))
  const recipes = {
    added: [...next.keys()].filter((n) => !old.has(n)),
    changed: [...next.keys()].filter((n) => old.has(n) && !sameRecipe(old.get(n)!, next.get(n)!)),
    removed: [...old.keys()].filter((n) => !next.has(n)),
  }
  const differs = (path: string) => !isDeepStrictEqual(at(before, path), at(after, path))
  const restart = RESTART.flatMap((p) => (p.endsWith('.') ? changedKeys(before, after, p.slice(0, -1)) : differs(p) ? [p] : []))
  const applied = APPLIED.flatMap((p) => (p === 'actions' ? changedKeys(before, after, p) : differs(p) ? [p] : []))
  const tls = tlsChange(before, after)
  if (tls) (tls === 'restart' ? restart : applied).push('server.tls')
  return { recipes, keys: differs('auth') ? 'rotated' : 'unchanged', applied, restart }
}

/**
 * `server.tls` is both kinds: on or off changes the socket (a restart), while
 * other files, or the same files renewed, are served at once.
 */
function tlsChange(before: ResolvedConfig, after: ResolvedConfig): 'restart' | 'applied' | undefined {
  const [a, b] = [before.server.tls, after.server.tls]
  if (!a !== !b) return 'restart'
  return isDeepStrictEqual(a, b) ? undefined : 'applied'
}

/** `recipes: +1 ~1 -0; keys: rotated`, and what else applied or was left for a restart. */
export function describeChange({ recipes, keys, applied, restart }: ConfigChange): string {
  const parts = [`recipes: +${recipes.added.length} ~${recipes.changed.length} -${recipes.removed.length}`, `keys: ${keys}`]
  if (applied.length) parts.push(`settings: ${applied.join(', ')}`)
  if (restart.length) parts.push(`needs a restart (not applied): ${restart.join(', ')}`)
  return parts.join('; ')
}

/** The settings of `after` that a running process can take; those in RESTART are kept from `before`. */
export function applicable(before: ResolvedConfig, after: ResolvedConfig): ResolvedConfig {
  let config = after
  for (const p of RESTART) {
    const path = p.endsWith('.') ? p.slice(0, -1) : p
    config = withValue(config, path.split('.'), at(before, path))
  }
  return tlsChange(before, after) === 'restart' ? withValue(config, ['server', 'tls'], before.server.tls) : config
}

/** `object` with the value at `path` replaced, copying only the objects on the way. */
function withValue<T>(object: T, [head, ...rest]: string[], value: unknown): T {
  const parent = object as Record<string, unknown>
  return { ...parent, [head!]: rest.length ? withValue(parent[head!] ?? {}, rest, value) : value } as T
}

/** Recipes are compared as written; a function compares by its source (a closure over changed values is not seen). */
function sameRecipe(a: Recipe, b: Recipe): boolean {
  return JSON.stringify(a, source) === JSON.stringify(b, source)
}

function source(_key: string, value: unknown): unknown {
  if (typeof value === 'function' || value instanceof RegExp) return String(value)
  return value
}

/** `actions.slack`, `actions.email`: the keys of the object at `path` whose values differ. */
function changedKeys(before: ResolvedConfig, after: ResolvedConfig, path: string): string[] {
  const a = (at(before, path) ?? {}) as Record<string, unknown>
  const b = (at(after, path) ?? {}) as Record<string, unknown>
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !isDeepStrictEqual(a[k], b[k])).map((k) => `${path}.${k}`)
}

function at(config: ResolvedConfig, path: string): unknown {
  let value: unknown = config
  for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part]
  return value
}
