import { EVENT_TYPES, type EventType } from '../types.js'
import type { ResolvedConfig } from './resolved.js'
import { NOT_AN_EVENT } from './recipes.js'
import { at, isPlainObject, type Validator } from './validate.js'

/**
 * `auth.keys` as one list per event. A list applies to every event. Empty
 * entries are dropped (an unset `process.env.AUDIORISTA_KEY!`), so a config
 * whose variables are all unset has no key and the runner generates one.
 * In the map form, an event left out gets `[]`: no key opens it (only
 * `allowUnauthenticated` does). Values are never shown: they are secrets.
 */
export function resolveAuth(v: Validator, value: unknown): ResolvedConfig['auth'] {
  const auth = v.object(value, 'auth', { keys: ['keys', 'allowUnauthenticated'] }) ?? {}
  const allowUnauthenticated = v.boolean(auth.allowUnauthenticated, 'auth.allowUnauthenticated') ?? false
  const keys = resolveKeys(v, auth.keys)
  return keys ? { keys, allowUnauthenticated } : { allowUnauthenticated }
}

function resolveKeys(v: Validator, value: unknown): Record<EventType, string[]> | undefined {
  if (value == null) return undefined
  const byEvent = Object.fromEntries(EVENT_TYPES.map((e) => [e, [] as string[]])) as Record<EventType, string[]>
  if (Array.isArray(value)) {
    const list = keyList(v, value, 'auth.keys')
    for (const event of EVENT_TYPES) byEvent[event] = [...list]
  } else if (isPlainObject(value)) {
    for (const [event, keys] of Object.entries(value)) {
      const path = at('auth.keys', event)
      if (!(EVENT_TYPES as readonly string[]).includes(event)) v.fail(path, `${JSON.stringify(event)} ${NOT_AN_EVENT}`)
      else if (keys == null || typeof keys === 'string' || Array.isArray(keys)) byEvent[event as EventType] = keyList(v, keys, path)
      else v.fail(path, 'must be a key or a list of keys')
    }
  } else {
    v.fail('auth.keys', 'must be a list of keys, or a map of event to keys')
    return undefined
  }
  return Object.values(byEvent).some((keys) => keys.length > 0) ? byEvent : undefined
}

function keyList(v: Validator, value: unknown, path: string): string[] {
  const entries = Array.isArray(value) ? value : [value]
  const keys: string[] = []
  entries.forEach((key, i) => {
    const where = Array.isArray(value) ? at(path, i) : path
    if (key == null || key === '') return
    if (typeof key !== 'string') v.fail(where, 'must be a string')
    // Header values arrive trimmed, so such a key could never match.
    else if (key.trim() !== key) v.fail(where, 'must not start or end with whitespace')
    else if (!keys.includes(key)) keys.push(key)
  })
  return keys
}
