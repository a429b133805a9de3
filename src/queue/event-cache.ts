import { PermanentError } from '../errors.js'
import type { Store } from '../store/store.js'
import type { EventInfo, EventType, Payload } from '../types.js'

export interface LoadedEvent {
  payload: Payload
  info: EventInfo
  type: EventType
  dispatched: boolean
}

/**
 * Parsed events, most recent first: a recipe's steps and its match read the
 * same event, and events never change once stored, so one read and one
 * parse serve them all. Bounded, so a burst cannot grow it.
 */
export function createEventCache(store: Store, size = 512) {
  const cache = new Map<string, LoadedEvent>()
  return {
    /** The event, or undefined when it is not in the store (pruned). */
    async find(id: string): Promise<LoadedEvent | undefined> {
      const hit = cache.get(id)
      if (hit) return hit
      const event = await store.getEvent(id)
      if (!event) return undefined
      const loaded: LoadedEvent = {
        payload: JSON.parse(event.body) as Payload,
        info: { id: event.id, type: event.type, receivedAt: new Date(event.receivedAt).toISOString() },
        type: event.type,
        dispatched: event.dispatchedAt !== undefined,
      }
      cache.set(id, loaded)
      if (cache.size > size) cache.delete(cache.keys().next().value as string)
      return loaded
    },
    async get(id: string): Promise<LoadedEvent> {
      const event = await this.find(id)
      if (!event) throw new PermanentError(`event ${id} is no longer in the store`)
      return event
    },
  }
}
