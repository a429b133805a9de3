/**
 * Part 4, cold start: from spawning `audiorista-runner start` to the first
 * `GET /readyz` 200, with the shipped TypeScript config (audiorista.config.ts
 * with recipes/ and plugins/, copied into a temp folder). The first start
 * warms jiti's transpile cache and generates the key, as a first `npm start`
 * would; the median of the following starts is reported.
 *
 *   node bench/cold-start.mjs [--quick] [--profile]  (--profile: the last start under --cpu-prof)
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, spawnNode, stopChild, waitFor200 } from './lib/children.mjs'
import { median } from './lib/stats.mjs'
import { fmt, say, standalone } from './lib/report.mjs'
import { startRedisServer } from './lib/redis.mjs'
import { CLI, RESULTS, ROOT } from './lib/runner.mjs'
import { redisSkipReason } from './lib/stores.mjs'

export const TARGET_MS = 400

async function startOnce(dir, { profile = false, redisUrl } = {}) {
  const port = await freePort()
  const env = { ...process.env, CI: '1', LOG_LEVEL: 'info' }
  // The shipped config as a fresh clone runs it: no credentials, so preview mode.
  for (const name of ['AUDIORISTA_KEY', 'SLACK_BOT_TOKEN', 'SMTP_URL', 'BUILD_HOOK_URL', 'PORT', 'NODE_ENV', 'AUDIORISTA_REDIS_URL'])
    delete env[name]
  // The shipped config picks Redis when this is set.
  if (redisUrl) env.AUDIORISTA_REDIS_URL = redisUrl
  const t0 = performance.now()
  const nodeArgs = profile
    ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS, 'profiles')}`, `--cpu-prof-name=cold-start-${Date.now()}.cpuprofile`]
    : []
  const child = spawnNode([...nodeArgs, CLI, 'start', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'ignore', 'ignore'],
  })
  try {
    const t1 = await waitFor200(`http://127.0.0.1:${port}/readyz`, { child, timeoutMs: 20_000, intervalMs: 2 })
    return t1 - t0
  } finally {
    // SIGTERM when profiling: the runner exits cleanly and writes its profile.
    await stopChild(child, { signal: profile ? 'SIGTERM' : 'SIGKILL' })
  }
}

/** The reference: Node itself starting a bare node:http server, spawn() to its first 200. */
async function bareStart() {
  const port = await freePort()
  const t0 = performance.now()
  const child = spawnNode(['-e', `require('node:http').createServer((q, s) => s.end('{}')).listen(${port}, '127.0.0.1')`], {
    stdio: ['ignore', 'ignore', 'ignore'],
  })
  try {
    return (await waitFor200(`http://127.0.0.1:${port}/readyz`, { child, timeoutMs: 20_000, intervalMs: 2 })) - t0
  } finally {
    await stopChild(child)
  }
}

/** `runs` starts after one that fills the jiti cache (and, on SQLite, makes the store and the key). */
async function series(dir, runs, { profile, redisUrl }) {
  const first = await startOnce(dir, { redisUrl })
  const times = []
  for (let i = 0; i < runs; i++) times.push(await startOnce(dir, { profile: profile && i === runs - 1, redisUrl }))
  return { first, times, median: median(times) }
}

export async function coldStartBench({ quick = false, profile = false, redis = true } = {}) {
  const runs = quick ? 3 : 7
  if (profile) mkdirSync(join(RESULTS, 'profiles'), { recursive: true })
  const skipRedis = redisSkipReason({ redis })
  const dir = mkdtempSync(join(tmpdir(), 'ar-bench-cold-'))
  let server
  try {
    for (const item of ['audiorista.config.ts', 'recipes', 'plugins']) cpSync(join(ROOT, item), join(dir, item), { recursive: true })
    say(`cold start: a bare node:http server, ${runs} starts (the reference)`)
    const bare = []
    for (let i = 0; i < runs; i++) bare.push(await bareStart())
    say(`cold start: 1 warm-up start, then ${runs} measured, on SQLite`)
    const sqlite = await series(dir, runs, { profile })
    let onRedis
    if (!skipRedis) {
      server = await startRedisServer()
      say(`cold start: 1 warm-up start, then ${runs} measured, on Redis (AUDIORISTA_REDIS_URL)`)
      onRedis = await series(dir, runs, { profile: false, redisUrl: server.url })
    }
    const row = (label, x) => ({
      measure: `start to /readyz 200, TypeScript config, ${label} (median of ${runs})`,
      result: `${fmt.ms(x.median)} (${x.times.map((t) => t.toFixed(0)).join(', ')} ms)`,
      target: `< ${TARGET_MS} ms`,
      met: quick ? undefined : x.median < TARGET_MS,
    })
    return {
      title: '4. Cold start',
      rows: [
        {
          measure: `reference: \`node -e\` with a bare node:http server, spawn to first 200 (median of ${runs})`,
          result: `${fmt.ms(median(bare))} (${bare.map((t) => t.toFixed(0)).join(', ')} ms)`,
        },
        { measure: 'first start in a new folder (generates the key, fills the jiti cache)', result: fmt.ms(sqlite.first) },
        row('SQLite', sqlite),
        onRedis
          ? row('Redis (the shipped config with AUDIORISTA_REDIS_URL set)', onRedis)
          : { measure: 'start to /readyz 200 on Redis', result: skipRedis, target: `< ${TARGET_MS} ms` },
      ],
      notes: [
        'Cold start: measured from spawn() in the bench process, so it includes starting Node itself; /readyz is polled every 2 ms. The shipped config (audiorista.config.ts, recipes/, plugins/) as a fresh clone runs it: no credentials, so its steps preview.',
      ],
      raw: { bare, sqlite, redis: onRedis },
    }
  } finally {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await standalone(import.meta.url, coldStartBench)
