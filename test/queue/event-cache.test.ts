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
    void cache.acquire(ids[2]!).then((l) => (third = l))
    await settle()
    expect(third).toBeUndefined()
    expect(cache.stats().leasedBytes).toBeLessThanOrEqual(budget)
    first.release()
    await settle()
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
