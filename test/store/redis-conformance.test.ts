import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe } from 'vitest'
import type { Backend } from '../../src/store/backend.js'
import { createRedisBackend } from '../../src/store/redis.js'
import { describeBackendConformance } from '../../src/testing/backend-conformance.js'
import { haveRedis, startRedis, type TestRedis } from '../helpers/redis.js'

describe.skipIf(!haveRedis())('redis backend', () => {
  let server: TestRedis
  const prefixes = new Map<Backend, string>()
  const open = async (prefix: string, lease: number) => {
    const backend = await createRedisBackend({ url: server.url, prefix, lease })
    prefixes.set(backend, prefix)
    return backend
  }

  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.close()
  })

  describeBackendConformance('redis', {
    // A prefix per test: a fresh, empty backend on the one server.
    create: ({ lease }) => open(`conf-${randomUUID().slice(0, 8)}`, lease),
    peer: (of, { lease }) => open(prefixes.get(of)!, lease),
    async reopen(of, { lease }) {
      // A closed backend gives no lease back, as a killed process would not.
      await of.close()
      return open(prefixes.get(of)!, lease)
    },
    async cleanup() {
      const backends = [...prefixes.keys()]
      prefixes.clear()
      await Promise.all(backends.map((b) => b.close().catch(() => {})))
      const redis = new Redis(server.url)
      await redis.flushall()
      await redis.quit()
    },
  })
})
