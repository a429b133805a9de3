import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createEventCache, parsedWeight } from '../../src/queue/event-cache.js'
import { bodyHash } from '../../src/receive/canonical.js'
import { createSqliteBackend } from '../../src/store/sqlite.js'
import type { Backend } from '../../src/store/backend.js'
import { tempDir } from '../helpers/runner.js'

let store: Backend | undefined
afterEach(async () => {
  await store?.close()
  store = undefined
})

async function storeWith(bodies: string[]): Promise<{ store: Backend; ids: string[] }> {
  store = createSqliteBackend({ path: join(tempDir('ar-cache-'), 'runner.db') })
  const ids: string[] = []
  for (const body of bodies) {
    const { id } = await store.accept({
      type: 'title-updated',
      body,
      hash: bodyHash(JSON.parse(body)),
      receivedAt: Date.now(),
      dedupeWindow: 60_000,
    })
    ids.push(id)
  }
  return { store, ids }
}

const big = (i: number) => `{"id":"b${i}","a":[${'{},'.repeat(20_000)}{}]}`
const settle = () => new Promise((r) => setTimeout(r, 20))

describe('event cache: parsed payloads bounded by bytes', () => {
  it('weighs a body by what it costs parsed, not by its length', () => {
    const dense = `{"a":[${'{},'.repeat(1000)}{}]}`
    const text = `{"a":"${'x'.repeat(dense.length)}"}`
    expect(parsedWeight(dense)).toBeGreaterThan(10 * parsedWeight(text))
  })

  it('holds no more leased payload than its budget: the next lease waits for a release', async () => {
    const bodies = [big(1), big(2), big(3)]
    const { store: s, ids } = await storeWith(bodies)
    const budget = parsedWeight(bodies[0]!) * 2.5
    const cache = createEventCache(s, { maxBytes: budget })
    const first = (await cache.acquire(ids[0]!))!
    const second = (await cache.acquire(ids[1]!))!
    let third: Awaited<ReturnType<typeof cache.acquire>> | undefined
    const waiting = cache.acquire(ids[2]!).then((l) => (third = l))
    await settle()
    expect(third).toBeUndefined()
    expect(cache.stats().leasedBytes).toBeLessThanOrEqual(budget)
    first.release()
    // Let in by the release: awaited, not timed (its body is parsed in slices, which takes longer on a busy machine).
    await waiting
    expect(third?.event.payload.id).toBe('b3')
    expect(cache.stats().leasedBytes).toBeLessThanOrEqual(budget)
    second.release()
    third!.release()
    expect(cache.stats().leasedBytes).toBe(0)
  })

  it('lets one event through however large, and shares one parse between holders of the same event', async () => {
    const { store: s, ids } = await storeWith([big(1), big(2)])
    const cache = createEventCache(s, { maxBytes: 1024, cacheBytes: 1024 })
    const a = (await cache.acquire(ids[0]!))!
    const b = (await cache.acquire(ids[0]!))!
    expect(b.event).toBe(a.event)
    a.release()
    b.release()
    // The one just let go stays for the event's next step; the next event's arrival evicts it.
    expect(cache.stats()).toMatchObject({ events: 1, leasedBytes: 0 })
    const c = (await cache.acquire(ids[0]!))!
    expect(c.event).toBe(a.event)
    c.release()
    ;(await cache.acquire(ids[1]!))!.release()
    expect(cache.stats()).toMatchObject({ events: 1, cachedBytes: parsedWeight(big(2)) })
  })

  it('keeps small events for later readers and evicts the least recently used beyond the budget', async () => {
    const bodies = Array.from({ length: 10 }, (_, i) => `{"id":"s${i}","name":"Episode ${i}"}`)
    const { store: s, ids } = await storeWith(bodies)
    const cache = createEventCache(s, { cacheBytes: parsedWeight(bodies[0]!) * 4 })
    for (const id of ids) (await cache.acquire(id))!.release()
    expect(cache.stats().events).toBe(4)
    const again = (await cache.acquire(ids[9]!))!
    expect(again.event.payload.name).toBe('Episode 9')
    again.release()
  })

  it('lets a large payload go at its release when a full collection is due, so that the collection does not mark it', async () => {
    const huge = (i: number) => `{"id":"h${i}","a":[${'{},'.repeat(100_000)}{}]}`
    const { store: s, ids } = await storeWith([huge(0), huge(1)])
    const weight = parsedWeight(huge(0))
    expect(weight).toBeGreaterThanOrEqual(4 * 1024 * 1024)
    // A quarter of the budget is one payload: letting one go makes a collection due.
    const cache = createEventCache(s, { maxBytes: 4 * weight, cacheBytes: 0 })
    ;(await cache.acquire(ids[0]!))!.release()
    // No collection due yet: kept for its event's next step, however large.
    expect(cache.stats().events).toBe(1)
    const second = (await cache.acquire(ids[1]!))!
    // The first made room for the second: a collection is now due, but the second is held.
    expect(cache.stats().events).toBe(1)
    second.release()
    expect(cache.stats()).toMatchObject({ events: 0, cachedBytes: 0, leasedBytes: 0 })
    // Read and parsed again when its event needs it.
    const again = (await cache.acquire(ids[1]!))!
    expect(again.event.payload.id).toBe('h1')
    again.release()
  })

  it('takes a payload the receiver parsed already, and says undefined for an event that is not stored', async () => {
    const { store: s } = await storeWith([])
    const cache = createEventCache(s)
    const payload = { id: 'x', name: 'offered' }
    cache.offer({ id: 'evt_offered', type: 'title-ready', payload, receivedAt: 0 }, JSON.stringify(payload))
    const lease = (await cache.acquire('evt_offered'))!
    expect(lease.event.payload).toBe(payload)
    lease.release()
    expect(await cache.acquire('evt_missing')).toBeUndefined()
  })
})
