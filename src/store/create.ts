import { RunnerError } from '../errors.js'
import type { ResolvedConfig } from '../config/resolved.js'
import type { Backend } from './backend.js'
import { createSqliteBackend } from './sqlite.js'

export interface CreateBackendOptions {
  /** Only read (listing events): no lock is taken, so it works beside a running runner. */
  readOnly?: boolean
  /** Told when the backend cannot promise what it should (Redis without AOF). */
  onWarning?: (message: string) => void
  /** Told when the backend is well again (Redis reachable after a loss). */
  onNotice?: (message: string) => void
}

/** The backend named by the config. One place to add a driver. */
export async function createBackend(config: Pick<ResolvedConfig, 'store'>, options: CreateBackendOptions = {}): Promise<Backend> {
  const store = config.store
  switch (store.driver) {
    case 'sqlite':
      return createSqliteBackend({ path: store.path, lease: store.lease, lock: !options.readOnly })
    case 'redis': {
      // Loaded only when configured: ioredis and BullMQ cost a SQLite runner's cold start nothing.
      const { createRedisBackend } = await import('./redis.js')
      try {
        return await createRedisBackend({
          url: store.url,
          prefix: store.prefix,
          lease: store.lease,
          ...(options.onWarning ? { onWarning: options.onWarning } : {}),
          ...(options.onNotice ? { onNotice: options.onNotice } : {}),
          requireDurable: process.env.NODE_ENV === 'production' && !options.readOnly,
        })
      } catch (err) {
        if (err instanceof RunnerError) throw err
        throw new RunnerError('store_unavailable', `could not reach Redis at ${redisLocation(store.url)}: ${(err as Error).message}`, {
          cause: err,
        })
      }
    }
  }
}

/**
 * Where a Redis URL points, for messages: `host:port[/db]` and nothing else. The URL itself is never echoed:
 * a password may hold any character, and no pattern finds the end of one reliably (`redis://:a'b@host`).
 */
export function redisLocation(url: string): string {
  try {
    const { hostname, port, pathname } = new URL(url)
    const db = pathname.replace(/^\//, '')
    return `${hostname || '127.0.0.1'}:${port || '6379'}${/^\d+$/.test(db) ? `/${db}` : ''}`
  } catch {
    return 'store.url'
  }
}

/** A backend in memory, for tools that show what would happen (`simulate --run`): nothing is kept. */
export function createMemoryBackend(): Backend {
  return createSqliteBackend({ path: ':memory:', lock: false })
}
