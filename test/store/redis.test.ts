import { createHash, randomUUID } from 'node:crypto'
import { inspect } from 'node:util'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { RunnerError, StoreUnavailableError } from '../../src/errors.js'
import type { Backend, Delivery, Work } from '../../src/store/backend.js'
import { createBackend } from '../../src/store/create.js'
import { createRedisBackend, type RedisBackendOptions } from '../../src/store/redis.js'
import { SCRIPTS } from '../../src/store/redis-scripts.js'
import { freePort } from '../helpers/free-port.js'
import { haveRedis, startRedis, type TestRedis } from '../helpers/redis.js'

/** Behaviour of the Redis backend that the shared conformance suite does not cover. */

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function delivery(overrides: Partial<Delivery> = {}): Delivery {
  const body = JSON.stringify({ id: randomUUID(), name: 'A title' })
  return {
    type: 'title-updated',
    body,
    hash: createHash('sha256').update(body).digest('hex'),
    receivedAt: Date.now(),
    title: 'A title',
    dedupeWindow: 60_000,
    ...overrides,
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, within = 10_000): Promise<number> {
  const start = Date.now()
  while (!(await check())) {
    if (Date.now() - start > within) throw new Error(`${what}: not within ${within} ms`)
    await sleep(20)
  }
  return Date.now() - start
}

/** Takes as `worker` until `id` is handed out. */
async function takeId(backend: Backend, id: string, within = 8000, worker = 'T'): Promise<Work> {
  const deadline = Date.now() + within
  while (Date.now() < deadline) {
    const works = await backend.take({ worker, limit: 10, wait: 200 }).catch(() => [])
    const found = works.find((w) => w.id === id)
    if (found) return found
  }
  throw new Error(`${id} was not handed out within ${within} ms`)
}

describe.skipIf(!haveRedis())('redis backend', () => {
  let server: TestRedis
  const opened: Backend[] = []
  const open = async (options: Partial<RedisBackendOptions> = {}) => {
    const backend = await createRedisBackend({ url: server.url, prefix: `t-${randomUUID().slice(0, 8)}`, lease: 1000, ...options })
    opened.push(backend)
    return backend
  }

  beforeAll(async () => {
    server = await startRedis()
  })
  afterEach(async () => {
    await server.start()
    for (const b of opened.splice(0)) await b.close().catch(() => {})
  })
  afterAll(async () => {
    await server?.close()
  })

  it('warns when AOF is off, and refuses to start when durability is required', async () => {
    const volatile = await startRedis({ appendonly: false })
    try {
      const warnings: string[] = []
      const backend = await createRedisBackend({ url: volatile.url, onWarning: (m) => warnings.push(m) })
      await backend.close()
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(/appendonly/)
      expect(warnings[0]).toMatch(/lost/)
      expect(warnings[0]).toMatch(/appendfsync always/)

      const refused = await createRedisBackend({ url: volatile.url, requireDurable: true }).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(RunnerError)
      expect((refused as RunnerError).code).toBe('redis_not_durable')
    } finally {
      await volatile.close()
    }
    const told: string[] = []
    await open({ onWarning: (m) => told.push(m), requireDurable: true })
    expect(told, 'AOF on with appendfsync always: nothing to say').toEqual([])
  })

  it('warns that persistence could not be checked when CONFIG is disabled', async () => {
    const managed = await startRedis({ args: ['--rename-command', 'CONFIG', ''] })
    try {
      const warnings: string[] = []
      const backend = await createRedisBackend({ url: managed.url, requireDurable: true, onWarning: (m) => warnings.push(m) })
      await backend.close()
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(/could not check/)
    } finally {
      await managed.close()
    }
  })

  it('is not ready and rejects writes fast while Redis is down, and recovers when it is back', async () => {
    const told: string[] = []
    const backend = await open({ onWarning: (m) => told.push(`warn: ${m}`), onNotice: (m) => told.push(`info: ${m}`) })
    const before = await backend.accept(delivery())
    await server.stop()
    await until('isReady turns false', () => !backend.isReady(), 5000)

    const start = Date.now()
    const failed = await backend.accept(delivery()).catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(StoreUnavailableError)
    expect(Date.now() - start).toBeLessThan(2000)
    const takeStart = Date.now()
    await expect(backend.take({ worker: 'T', limit: 10, wait: 500 })).rejects.toBeInstanceOf(StoreUnavailableError)
    expect(Date.now() - takeStart).toBeLessThan(2000)

    await server.start()
    await until('isReady turns true', () => backend.isReady(), 10_000)
    const after = await backend.accept(delivery())
    expect(after.duplicate).toBe(false)
    // The BullMQ worker reconnected too: work is handed out again, the event from before the outage as well.
    await takeId(backend, before.id, 10_000)
    await takeId(backend, after.id, 10_000)
    // One line for the loss and one for the recovery, not one per reconnection attempt.
    expect(told).toEqual([
      'warn: lost the connection to Redis: deliveries get 503 until it is back; reconnecting',
      'info: Redis is reachable again: accepting deliveries',
    ])
  })

  it('keeps an accepted event across a redis-server restart (AOF on)', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`
    const first = await open({ prefix })
    const d = delivery()
    const { id } = await first.accept(d)
    await first.close()
    await server.stop()
    await server.start()
    const again = await open({ prefix })
    expect(await again.getEvent(id)).toMatchObject({ id, body: d.body, hash: d.hash })
    expect(await again.accept({ ...d, receivedAt: Date.now() })).toEqual({ id, duplicate: true })
    expect((await takeId(again, id)).kind).toBe('match')
  })

  it('adds a job again for intent whose job is gone (the sweep)', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`
    const backend = await open({ prefix })
    const queue = new Queue('schedule', { connection: { host: '127.0.0.1', port: server.port }, prefix })
    try {
      // As if the process died between writing the event and adding its job.
      const { id } = await backend.accept(delivery())
      expect(await queue.remove(id)).toBe(1)
      expect(await queue.getJobState(id)).toBe('unknown')
      const match = await takeId(backend, id, 10_000)

      const runs = (await backend.dispatch(match, [{ recipe: 'r', stepIndex: 0, action: 'log', runAt: Date.now(), queue: true }]))!
      const runId = runs[0]!.id
      await until('the run has its job', async () => (await queue.getJobState(runId)) !== 'unknown')
      expect(await queue.remove(runId)).toBe(1)
      const step = await takeId(backend, runId, 10_000)
      expect(step.kind).toBe('step')
    } finally {
      await queue.close()
    }
  })

  it('records text cut in the middle of an emoji (which cjson would refuse) and unicode input as given', async () => {
    const backend = await open()
    const { id } = await backend.accept(delivery({ title: '' }))
    expect((await backend.listEvents())[0]).toMatchObject({ id, title: '' })
    const match = await takeId(backend, id)
    const runs = (await backend.dispatch(match, [
      { recipe: 'r😀', stepIndex: 0, stepName: 'ünï', action: 'log', runAt: Date.now(), queue: true },
    ]))!
    const runId = runs[0]!.id
    const step = await takeId(backend, runId)
    await backend.claim(step, Date.now())
    const cut = 'boom 😀'.slice(0, -1)
    await backend.settle(step, { patch: { state: 'dead', error: cut, input: { text: 'héllo 😀 \u2028', lone: cut }, result: null } })
    expect(await backend.getRun(runId)).toMatchObject({
      recipe: 'r😀',
      stepName: 'ünï',
      state: 'dead',
      error: 'boom \ufffd',
      input: { text: 'héllo 😀 \u2028', lone: cut },
      result: null,
    })
  })

  it('treats payload text as data: protocol, Lua and key syntax in a body, title and once key reach Redis as values only', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`
    const backend = await open({ prefix })
    const other = await backend.accept(delivery())
    const hostile = [
      '\r\n*1\r\n$8\r\nFLUSHALL\r\n',
      "'); redis.call('FLUSHALL') --",
      ']] .. redis.call("DEL", KEYS[1]) .. [[',
      `${prefix}:event:*`,
      '*',
    ]
    const body = JSON.stringify({ id: 1, name: hostile.join(' ') })
    const { id } = await backend.accept(delivery({ body, title: hostile.join(' ') }))
    for (const key of hostile) {
      expect(await backend.claimOnce(key, 'run_a', Date.now(), null)).toBe(true)
      expect(await backend.claimOnce(key, 'run_b', Date.now(), null)).toBe(false)
    }
    // Nothing was flushed or deleted, and every value reads back as sent.
    expect((await backend.getEvent(other.id))?.id).toBe(other.id)
    expect((await backend.getEvent(id))?.body).toBe(body)
    expect((await backend.listEvents()).map((e) => e.title)).toEqual([hostile.join(' '), 'A title'])
    // A glob in a once key is one key, not a pattern: another key is still free.
    expect(await backend.claimOnce('something else', 'run_b', Date.now(), null)).toBe(true)
  })

  it('makes exactly one of concurrent identical deliveries to two replicas new', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`
    const [a, b] = [await open({ prefix }), await open({ prefix })]
    const d = delivery()
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).accept(d)))
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1)
    expect(new Set(results.map((r) => r.id)).size).toBe(1)
  })

  it('hands a step another replica left unsettled to a live one once its lease expires', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`
    const [a, b] = [await open({ prefix }), await open({ prefix })]
    const { id } = await a.accept(delivery())
    const match = await takeId(a, id, 5000, 'A')
    const runs = (await a.dispatch(match, [{ recipe: 'r', stepIndex: 0, action: 'log', runAt: Date.now(), queue: true }]))!
    const runId = runs[0]!.id
    const held = await takeId(a, runId, 5000, 'A')
    const leasedAt = Date.now()
    expect(await a.claim(held, Date.now())).toMatchObject({ state: 'running', attempt: 1 })
    // A dies holding it: no settle, no release.
    await a.close()
    const taken = await takeId(b, runId, 8000, 'B')
    expect(Date.now() - leasedAt, 'not before the lease expired').toBeGreaterThanOrEqual(950)
    expect(taken.token).not.toBe(held.token)
    expect(await b.getRun(runId), 'as A left it').toMatchObject({ state: 'running', attempt: 1 })
    await b.settle(taken, { patch: { state: 'done' } })
    expect(await b.stats()).toMatchObject({ scheduled: 0, leased: 0 })
  })

  it('gives back what a take fetched but had not handed out when closed during it, and hands out nothing then', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`
    const backend = await open({ prefix, lease: 30_000 })
    const queue = new Queue('schedule', { connection: { host: '127.0.0.1', port: server.port }, prefix })
    try {
      await Promise.all(Array.from({ length: 300 }, () => backend.accept(delivery())))
      // Events to match wait with a priority (steps go first), so they count as prioritized.
      const due = async () => {
        const c = await queue.getJobCounts('waiting', 'prioritized')
        return (c.waiting ?? 0) + (c.prioritized ?? 0)
      }
      await until('300 jobs due', async () => (await due()) === 300)
      let closing = false
      let tookWhileClosing: boolean | undefined
      const taking = backend.take({ worker: 'T', limit: 300, wait: 1000 }).then((works) => {
        tookWhileClosing = closing
        return works
      })
      await sleep(15)
      closing = true
      const closeStart = Date.now()
      await backend.close()
      expect(Date.now() - closeStart, 'close is bounded').toBeLessThan(4000)
      const works = await taking
      if (tookWhileClosing) expect(works, 'a take that ends while closing hands out nothing').toEqual([])
      // Right after close, long before any stalled check (lease 30 s): only what was handed out is active.
      expect((await queue.getJobCounts('active')).active).toBe(works.length)
      expect(await due()).toBe(300 - works.length)
    } finally {
      await queue.close()
    }
  })

  it('lets go of every connection when closed while Redis is down: nothing reconnects afterwards', async () => {
    const own = await startRedis()
    const printed: unknown[][] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      printed.push(args)
    })
    const count = async () => {
      const probe = new Redis(own.url)
      try {
        const list = (await probe.call('CLIENT', 'LIST')) as string
        return list.trim().split('\n').length - 1 // not the probe itself
      } finally {
        probe.disconnect()
      }
    }
    try {
      const backend = await createRedisBackend({ url: own.url, prefix: 't-down', lease: 1000 })
      expect(await count(), 'its connections while up').toBeGreaterThanOrEqual(3)
      await own.stop()
      await until('isReady turns false', () => !backend.isReady(), 5000)
      // Long enough for the clients to back off a few times.
      await sleep(500)
      const start = Date.now()
      await backend.close()
      expect(Date.now() - start).toBeLessThan(8000)
      await own.start()
      // Longer than the longest reconnection delay (2 s): a client left reconnecting would be back by now.
      await sleep(2500)
      expect(await count(), 'connections from the closed backend').toBe(0)
      expect(printed.filter((args) => String(args[0]).includes('[ioredis]'))).toEqual([])
    } finally {
      spy.mockRestore()
      await own.close()
    }
  })

  it('never shows the password of store.url in an error, whatever characters it holds', async () => {
    const closedPort = await freePort()
    // A server that wants a password: a wrong one is refused by AUTH, whose arguments ioredis keeps on the error.
    const guarded = await startRedis()
    const admin = new Redis(guarded.url)
    await admin.call('CONFIG', 'SET', 'requirepass', 'the-right-one')
    admin.disconnect()
    try {
      const secrets = ["abc'def", 'ab"c<d>e|f`g\\h', 'p@ss w0rd', "x'); DROP"]
      for (const secret of secrets) {
        for (const [port, db] of [
          [closedPort, '/2'],
          [guarded.port, ''],
          [guarded.port, '/2'],
        ] as const) {
          const url = `redis://:${encodeURIComponent(secret).replace(/%27/g, "'")}@127.0.0.1:${port}${db}`
          const err = (await createBackend({ store: { driver: 'redis', url, prefix: 'p', lease: 1000 } }).catch(
            (e: unknown) => e,
          )) as RunnerError
          expect(err).toBeInstanceOf(RunnerError)
          expect(err.code).toBe('store_unavailable')
          expect(err.message).toContain(`could not reach Redis at 127.0.0.1:${port}${db}: `)
          if (port === guarded.port) expect(err.message).toMatch(db ? /WRONGPASS|NOAUTH/ : /WRONGPASS/)
          // Everything a logger could print of it: the message, the stack, the causes and their fields.
          const shown = `${inspect(err, { depth: 20 })} ${JSON.stringify(err, Object.getOwnPropertyNames(err))}`
          for (const part of [secret, encodeURIComponent(secret)]) expect(shown).not.toContain(part)
        }
      }
    } finally {
      await guarded.close()
    }
    // A password with a `/` (unencoded) makes the rest of it the URL's path: not echoed either.
    const err = (await createBackend({
      store: { driver: 'redis', url: `redis://u:pw@127.0.0.1:${closedPort}/sec'ret`, prefix: 'p', lease: 1000 },
    }).catch((e: unknown) => e)) as RunnerError
    expect(err.code).toBe('redis_url_invalid')
    expect(err.message).not.toContain('sec')
  })

  it('clamps an out-of-range dedupe window instead of failing the delivery after writing it', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`
    const backend = await open({ prefix })
    const d = delivery({ dedupeWindow: 1e21 })
    const first = await backend.accept(d)
    expect(await backend.accept(d)).toEqual({ id: first.id, duplicate: true })
    expect((await backend.accept(delivery({ dedupeWindow: Number.NaN }))).duplicate).toBe(false)
    expect(await backend.claimOnce('far', 'run_a', Date.now(), Date.now() + 1e22)).toBe(true)
    expect(await backend.claimOnce('far', 'run_b', Date.now(), null)).toBe(false)
    expect(await backend.listEvents()).toHaveLength(2)
  })

  it('writes nothing when a script refuses its arguments, and skips later steps past a run whose record is gone', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`
    const backend = await open({ prefix })
    const raw = new Redis(server.url)
    try {
      for (const [name, lua] of Object.entries(SCRIPTS)) raw.defineCommand(name, { lua, numberOfKeys: 0 })
      const call = (name: string, ...args: string[]) =>
        (raw as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[name]!.call(raw, prefix, ...args)
      const keys = async () =>
        (await raw.keys(`${prefix}:*`)).filter((k) => !k.startsWith(`${prefix}:schedule`) && k !== `${prefix}:sweep`).sort()

      await expect(call('arAccept', 'evt_x', 'title-updated', '{}', 'h', '0', '', '1', '1e+21', '1')).rejects.toThrow(/bad argument/)
      expect(await keys(), 'a refused accept').toEqual([])

      const { id } = await backend.accept(delivery())
      const before = await keys()
      const runs = JSON.stringify([
        { id: 'run_a', recipe: 'r', stepIndex: '0', action: 'log', runAt: '1' },
        { id: 'run_b', recipe: 'r' },
      ])
      await expect(call('arDispatch', id, String(Date.now()), runs)).rejects.toThrow(/bad argument/)
      expect(await keys(), 'a refused dispatch').toEqual(before)
      expect(await raw.zscore(`${prefix}:unmatched`, id), 'still due for matching').not.toBeNull()

      const match = await takeId(backend, id)
      const [one, two, three] = (await backend.dispatch(
        match,
        [0, 1, 2].map((i) => ({ recipe: 'r', stepIndex: i, action: 'log', runAt: Date.now() })),
      ))!
      await expect(
        call(
          'arSettle',
          'step',
          one!.id,
          String(Date.now()),
          JSON.stringify({ state: 'dead' }),
          JSON.stringify([{ runId: two!.id, at: 'soon' }]),
        ),
      ).rejects.toThrow(/bad argument/)
      expect(await backend.getRun(one!.id), 'a refused settle').toMatchObject({ state: 'pending' })

      await raw.del(`${prefix}:run:${two!.id}`)
      expect(await backend.updateRun(one!.id, { state: 'dead', skipLater: 'an earlier step failed' })).toBe(true)
      expect(await backend.getRun(three!.id)).toMatchObject({ state: 'skipped', error: 'an earlier step failed' })
    } finally {
      raw.disconnect()
    }
  })
})
