import type { Redis, RedisOptions } from 'ioredis'
import { RunnerError, StoreUnavailableError } from '../errors.js'
import { withTimeout as within } from '../timeout.js'

/**
 * ioredis options from a `redis://[user:password@]host:port[/db]` URL
 * (`rediss://` for TLS). BullMQ is given options rather than a client, so it
 * owns (and closes) its connections.
 */
export function connectionOptions(url: string): RedisOptions {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new RunnerError('redis_url_invalid', 'store.url is not a URL (redis://host:port[/db])')
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new RunnerError('redis_url_invalid', `store.url must start with redis:// or rediss://, not ${parsed.protocol}//`)
  const options: RedisOptions = { host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(parsed.port || 6379) }
  try {
    if (parsed.username) options.username = decodeURIComponent(parsed.username)
    if (parsed.password) options.password = decodeURIComponent(parsed.password)
  } catch {
    throw new RunnerError('redis_url_invalid', 'store.url: the user or password is not valid percent-encoding (%XX)')
  }
  const db = parsed.pathname.replace(/^\//, '')
  if (db) {
    // Not echoed: in a URL whose password holds a `/`, the path is the rest of the password.
    if (!/^\d+$/.test(db)) throw new RunnerError('redis_url_invalid', 'store.url: the database (the path after host:port) must be a number')
    options.db = Number(db)
  }
  if (parsed.protocol === 'rediss:') options.tls = {}
  return options
}

/**
 * An error of a Redis client as it may travel on (a cause, a log line): its name, message and code only.
 * ioredis puts the command on a reply error, and when that command is AUTH, its arguments are the password.
 */
export function shownError(err: unknown): Error {
  const from = err instanceof Error ? err : new Error(String(err))
  const shown = new Error(from.message)
  shown.name = from.name
  const code = (from as { code?: unknown }).code
  if (typeof code === 'string' || typeof code === 'number') Object.assign(shown, { code })
  return shown
}

/** Reconnect every 100 ms at first, then every 2 s at most: a Redis that comes back is used again within seconds. */
export const retryStrategy = (times: number) => Math.min(100 * times, 2000)

/** What `CONFIG GET` says about persistence and eviction: warnings, and whether acknowledged writes can be lost outright. */
export function durability(config: Record<string, string> | undefined): { warnings: string[]; durable: boolean } {
  const fix = 'set `appendonly yes` with `appendfsync always` (or `everysec`, which can lose up to a second of writes)'
  if (!config)
    return {
      durable: true,
      warnings: [
        `could not check Redis persistence (CONFIG is disabled, as on managed Redis): unless AOF is on, deliveries acknowledged with a 2xx can be lost if Redis crashes; ${fix}`,
      ],
    }
  const warnings: string[] = []
  const durable = config.appendonly === 'yes'
  if (!durable)
    warnings.push(
      `Redis has AOF persistence off (appendonly no): deliveries acknowledged with a 2xx can be lost if Redis crashes or restarts; ${fix}`,
    )
  else if (config.appendfsync === 'no')
    warnings.push(
      `Redis AOF is on with appendfsync no: the OS decides when writes reach the disk, so deliveries acknowledged with a 2xx can be lost if the machine crashes; ${fix}`,
    )
  // Evicted keys are lost events, runs and jobs, whatever the persistence.
  if (config['maxmemory-policy'] && config['maxmemory-policy'] !== 'noeviction')
    warnings.push(
      `Redis evicts keys when full (maxmemory-policy ${config['maxmemory-policy']}): events and runs can disappear; set \`maxmemory-policy noeviction\``,
    )
  return { durable, warnings }
}

/** AOF off means a 2xx can be followed by the delivery's loss; say so, or refuse to start when durability is required. */
export async function checkDurability(redis: Redis, onWarning: ((message: string) => void) | undefined, requireDurable: boolean) {
  let config: Record<string, string> | undefined
  try {
    config = {}
    for (const name of ['appendonly', 'appendfsync', 'maxmemory-policy'])
      config[name] = ((await redis.call('CONFIG', 'GET', name)) as string[])[1] ?? ''
  } catch {
    config = undefined
  }
  const { durable, warnings } = durability(config)
  if (!durable && requireDurable) throw new RunnerError('redis_not_durable', `the store must be durable, and it is not: ${warnings[0]}`)
  for (const warning of warnings) onWarning?.(warning)
}

/** `p`, or a StoreUnavailableError once `ms` have passed without an answer (`p` is left running). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return within(p, ms, () => new StoreUnavailableError(`Redis did not answer within ${ms} ms`))
}
