import { PermanentError } from '../errors.js'
import { parseBody, parseInSlices } from '../receive/parse-in-slices.js'
import type { SlicePlan } from '../receive/slice-plan.js'
import type { Backend } from '../store/backend.js'
import type { EventInfo, EventType, Payload } from '../types.js'
import { createReclaimer } from './reclaim.js'

export interface LoadedEvent {
  payload: Payload
  info: EventInfo
  type: EventType
}

/** A parsed event held for one piece of work; `release` when the work is done. */
export interface EventLease {
  event: LoadedEvent
  release(): void
}

interface Entry {
  event: LoadedEvent
  /** Estimated bytes of the parsed payload. */
  weight: number
  /** Leases out: a held entry is never evicted. */
  holders: number
}

export interface EventCacheOptions {
  /** Estimated bytes of parsed payloads held by work at once (leased; default 64 MB). */
  maxBytes?: number
  /** Estimated bytes of parsed payloads kept for later readers when nobody holds them (default 8 MB). */
  cacheBytes?: number
}

/**
 * Parsed events, bounded by bytes. A recipe's steps and its match read the
 * same event, and events never change once stored, so one read and one
 * parse serve them all. Every piece of work holds a lease on its event; when
 * the leased events alone fill the budget, the next lease waits until one is
 * released (one event is always let through, however large), and unleased
 * ones are evicted least recently used first. So memory is bounded by bytes:
 * a body of empty objects parses to about twenty times its size, and 512 of
 * them once took the process past 3 GB.
 */
export function createEventCache(
  store: Pick<Backend, 'getEvent'>,
  { maxBytes = 64 * 1024 * 1024, cacheBytes = 8 * 1024 * 1024 }: EventCacheOptions = {},
) {
  const entries = new Map<string, Entry>()
  let cached = 0
  let leased = 0
  // A full collection after a quarter of the budget's worth of large parsed payloads was let go (see
  // reclaim.ts): it kept 200 × 20 MB payloads under 320 MB of RSS instead of 600.
  const reclaimer = createReclaimer(() => maxBytes / 4)
  const drop = (entry: Entry) => {
    if (entry.weight < LARGE) return
    reclaimer.letGo(entry.weight)
    if (reclaimer.due(false)) reclaimer.collect()
  }
  /** After a release: the collection that was asked for, if no large payload is held now. */
  const collectWhenIdle = (released: string, entry: Entry) => {
    if (!reclaimer.due(leased < LARGE)) return
    // The payload just let go would be marked too: it goes, and its event's next step parses it again.
    if (entry.weight >= LARGE && entries.get(released) === entry) {
      entries.delete(released)
      cached -= entry.weight
    }
    reclaimer.collect()
  }
  const waiting: Array<() => void> = []
  const plans = new Map<string, SlicePlan>()

  /** Least recently used first, down to `cacheBytes` of unleased entries (`keep` is spared: the one just let go). */
  const evict = (incoming: number, keep?: Entry) => {
    for (const [id, entry] of entries) {
      // Held entries are in the map too: what is not leased is what may go.
      if (cached - leased + incoming <= cacheBytes) return
      if (entry.holders > 0 || entry === keep) continue
      entries.delete(id)
      cached -= entry.weight
      drop(entry)
    }
  }

  const wake = () => {
    for (const resolve of waiting.splice(0)) resolve()
  }
  const wait = () => new Promise<void>((resolve) => waiting.push(resolve))
  /** Whether `weight` more may be leased now; one event is always let through, however large. */
  const fits = (weight: number) => leased === 0 || leased + weight <= maxBytes

  /** Takes a hold on `entry`; the first holder counts its weight (checked by the caller, in the same tick). */
  function hold(id: string, entry: Entry): EventLease {
    if (entry.holders++ === 0) leased += entry.weight
    // Most recently used last.
    entries.delete(id)
    entries.set(id, entry)
    let released = false
    return {
      event: entry.event,
      release() {
        if (released) return
        released = true
        if (--entry.holders > 0) return
        leased -= entry.weight
        // Kept for the event's next step, however large; older idle ones make room.
        evict(0, entry)
        collectWhenIdle(id, entry)
        wake()
      },
    }
  }

  function insert(id: string, entry: Entry): void {
    entries.set(id, entry)
    cached += entry.weight
  }

  // Reads from the store take turns: while the budget is full, only the head of the line holds a body.
  let turn: Promise<unknown> = Promise.resolve()
  function inTurn<T>(work: () => Promise<T>): Promise<T> {
    const mine = turn.then(work)
    turn = mine.catch(() => {})
    return mine
  }

  async function load(id: string): Promise<EventLease | undefined | 'retry'> {
    if (entries.has(id)) return 'retry'
    const stored = await store.getEvent(id)
    if (!stored) return undefined
    const weight = parsedWeight(stored.body)
    // Room is made before parsing, which is where the memory goes.
    while (!fits(weight)) await wait()
    if (entries.has(id)) return 'retry'
    const plan = plans.get(id)
    plans.delete(id)
    const payload = (await (plan ? parseInSlices(stored.body, plan) : parseBody(stored.body))) as Payload
    if (entries.has(id)) return 'retry'
    const loaded = entryOf(stored.id, stored.type, stored.receivedAt, payload, weight)
    insert(id, loaded)
    const lease = hold(id, loaded)
    evict(0)
    return lease
  }

  return {
    /**
     * A lease on the event, or undefined when it is not in the store (pruned).
     * Waits while the budget is full. The budget is checked and charged with
     * no await in between, so concurrent callers cannot all pass one check.
     */
    async acquire(id: string): Promise<EventLease | undefined> {
      for (;;) {
        const entry = entries.get(id)
        if (entry) {
          if (entry.holders > 0 || fits(entry.weight)) return hold(id, entry)
          await wait()
          continue
        }
        const loaded = await inTurn(() => load(id))
        if (loaded !== 'retry') return loaded
      }
    },
    /** Like `acquire`, for an event that must exist. */
    async require(id: string): Promise<EventLease> {
      const got = await this.acquire(id)
      if (!got) throw new PermanentError(`event ${id} is no longer in the store`)
      return got
    },
    /**
     * An event parsed already (the receiver's), kept for its match and steps
     * when there is room; otherwise it is read and parsed again when due.
     */
    offer(event: { id: string; type: EventType; payload: Payload; receivedAt: number }, text: string): void {
      if (entries.has(event.id)) return
      const weight = parsedWeight(text)
      if (weight > cacheBytes / 2 || !fits(weight)) return
      insert(event.id, entryOf(event.id, event.type, event.receivedAt, event.payload, weight))
      evict(0)
    },
    /** How the receiver's scan says to cut a large event's text, so that loading it need not scan it again. */
    offerPlan(id: string, plan: SlicePlan): void {
      plans.set(id, plan)
      // Plans are small (a part per 32 KB); the oldest go when events are not loaded soon.
      for (const oldest of plans.keys()) {
        if (plans.size <= MAX_PLANS) break
        plans.delete(oldest)
      }
    },
    stats: () => ({ events: entries.size, cachedBytes: cached, leasedBytes: leased, waiting: waiting.length }),
  }
}

export type EventCache = ReturnType<typeof createEventCache>

function entryOf(id: string, type: EventType, receivedAt: number, payload: Payload, weight: number): Entry {
  const info: EventInfo = { id, type, receivedAt: new Date(receivedAt).toISOString() }
  return { event: { payload, info, type }, weight, holders: 0 }
}

const MAX_PLANS = 256

/** Payloads this heavy (some 200 KB of dense JSON) count towards a full collection when let go. */
const LARGE = 4 * 1024 * 1024

const OPEN_BRACE = 123
const OPEN_BRACKET = 91
const COMMA = 44

/**
 * Bytes a JSON text takes once parsed, roughly: its strings twice over, some
 * 48 bytes per object or array (V8's headers) and 16 per member or element
 * (slots). Only the structure is counted, so a megabyte of `{},` weighs what
 * it costs: about 20 MB.
 */
export function parsedWeight(text: string): number {
  let containers = 0
  let members = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === OPEN_BRACE || c === OPEN_BRACKET) containers++
    else if (c === COMMA) members++
  }
  return text.length * 2 + containers * 48 + members * 16
}
