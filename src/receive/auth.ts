import { createHash, timingSafeEqual } from 'node:crypto'
import { HttpError } from '../errors.js'
import type { EventType } from '../types.js'
import type { ResolvedConfig } from '../config/resolved.js'

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()

/**
 * Checks `X-Audiorista-Key`. Both sides are hashed first so that keys of any
 * length compare in constant time, and every configured key is compared (no
 * early exit), so timing does not tell which key, or how many, matched.
 */
export function createKeyCheck(auth: ResolvedConfig['auth']): (event: EventType, provided: string | string[] | undefined) => void {
  const keys = auth.keys
  if (!keys) return () => {}
  const digests = new Map<EventType, Buffer[]>(Object.entries(keys).map(([event, list]) => [event as EventType, list.map(digest)]))
  return (event, provided) => {
    // An event left out of a per-event key map is open only with allowUnauthenticated.
    if (digests.get(event)?.length === 0 && auth.allowUnauthenticated) return
    if (provided === undefined || provided === '') throw new HttpError(401, 'unauthorized', 'missing X-Audiorista-Key header')
    const given = digest(Array.isArray(provided) ? provided.join(',') : provided)
    let ok = false
    for (const d of digests.get(event) ?? []) ok = timingSafeEqual(given, d) || ok
    if (!ok) throw new HttpError(401, 'unauthorized', 'invalid X-Audiorista-Key')
  }
}
