/**
 * The stores a part measures the runner on: SQLite (one runner, its own
 * file), and Redis with one or two replicas (runner processes on one
 * redis-server and one prefix, the load split across them). Each start gets
 * a fresh store: a new SQLite file, or a new redis-server in a new folder.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { peakRssMb } from './children.mjs'
import { haveRedisServer, redisServerVersion, startRedisServer } from './redis.mjs'
import { DIST, startRunnerChild } from './runner.mjs'

export const SQLITE = { key: 'sqlite', name: 'SQLite', driver: 'sqlite', replicas: 1 }
/** `appendfsync always` unless said otherwise: Redis fsyncs before it answers, as SQLite commits before the ack. */
export const REDIS_1 = { key: 'redis1', name: 'Redis ×1', driver: 'redis', replicas: 1, appendfsync: 'always' }
export const REDIS_2 = { key: 'redis2', name: 'Redis ×2', driver: 'redis', replicas: 2, appendfsync: 'always' }
export const REDIS_SETUPS = [REDIS_1, REDIS_2]

/** What a setup is, for the measure column: "Redis ×2 (2 replicas, <detail>, AOF appendfsync always)". */
export function describe(setup, detail) {
  if (setup.driver === 'sqlite') return detail ? `SQLite (${detail})` : 'SQLite'
  const replicas = setup.replicas === 1 ? '1 replica' : `${setup.replicas} replicas`
  return `${setup.name} (${[replicas, detail, `AOF appendfsync ${setup.appendfsync}`].filter(Boolean).join(', ')})`
}

/**
 * Why the Redis rows cannot run here, or undefined when they can: `--no-redis`,
 * no redis-server on PATH, or a build under test (BENCH_CLI) from before the
 * Redis backend.
 */
export function redisSkipReason({ redis = true } = {}) {
  if (!redis) return 'skipped (--no-redis)'
  if (!haveRedisServer()) return 'skipped: redis-server is not on PATH'
  if (!existsSync(join(DIST, 'store', 'redis.js'))) return 'skipped: the build under test has no Redis backend'
  return undefined
}

/**
 * Starts a setup's runners (and, for Redis, its redis-server). `url` is one
 * URL, or all the replicas' for load() to share the connections among;
 * `peakRss()` is each runner's VmHWM in MB. `stop()` stops everything it started.
 */
export async function startSetup(setup, { sinkUrl, concurrency, steps, profile = false, label = 'runner' }) {
  const options = { sinkUrl, concurrency, steps, profile }
  if (setup.driver === 'sqlite') {
    const runner = await startRunnerChild({ ...options, label })
    return { url: runner.url, runners: [runner], store: runner.store, peakRss: () => [peakRssMb(runner.child.pid)], stop: runner.stop }
  }
  const redis = await startRedisServer({ appendfsync: setup.appendfsync })
  const store = { driver: 'redis', url: redis.url, prefix: 'bench' }
  const runners = []
  const stop = async () => {
    await Promise.all(runners.map((r) => r.stop()))
    await redis.stop()
  }
  try {
    // One after the other: two first starts at once would race to create the BullMQ queue's keys for no gain.
    for (let i = 1; i <= setup.replicas; i++)
      runners.push(await startRunnerChild({ ...options, store, label: `${label}-${setup.key}${setup.replicas > 1 ? `-${i}` : ''}` }))
  } catch (err) {
    await stop()
    throw err
  }
  const urls = runners.map((r) => r.url)
  return { url: urls.length === 1 ? urls[0] : urls, runners, store, redis, peakRss: () => runners.map((r) => peakRssMb(r.child.pid)), stop }
}

/** Peak RSS of each runner: "205 MB", or "180 / 176 MB" for two replicas. */
export function rssText(list) {
  if (list.some((mb) => mb === undefined)) return 'n/a'
  return `${list.map((mb) => mb.toFixed(0)).join(' / ')} MB`
}

/** Worst of several rounds' per-runner peaks, runner by runner. */
export function worstRss(rounds) {
  return rounds[0].map((_, i) => (rounds.some((r) => r[i] === undefined) ? undefined : Math.max(...rounds.map((r) => r[i]))))
}

/**
 * The store a setup's runners use, opened beside them through the build's
 * backend interface (dist/store/create.js, read-only: no lock, no writes of
 * its own), never by its files or raw keys.
 */
export async function openReader(store) {
  const created = await import(pathToFileURL(join(DIST, 'store', 'create.js')).href)
  if (typeof created.createBackend !== 'function') throw new Error(`${DIST} has no createBackend (a build from before the backend seam)`)
  return created.createBackend({ store: { lease: 30_000, ...store } }, { readOnly: true })
}

/** A row for a setup that cannot run here. */
export const skippedRow = (measure, reason) => ({ measure, result: reason })

/** What every Redis row shares, for the notes. */
export function redisNote() {
  return `Redis rows: redis-server ${redisServerVersion()} in its own process, a fresh one (new temp folder, on the same disk as the SQLite file) for each measurement, AOF on with \`appendfsync always\` (every write fsynced before Redis answers, so an ack is as durable as after SQLite's commit). ×2: two runner processes on the same Redis and prefix, each with its own load generator process and half the connections (so half the events of a burst, half the offered rate). Everything shares the same 2 cores as the load generators and the sink, so a second replica adds contention, not CPU. The targets are the same as SQLite's.`
}
