/**
 * The runner under test: the built CLI (`dist/cli/main.js start`) in a child
 * process, with a shipped-like config (one recipe that matches the seed
 * payload and queues one `http` step) and its store in a temp folder, or
 * the `store` it is given (a Redis one, shared by replicas: lib/stores.mjs).
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, spawnNode, stopChild, waitFor200 } from './children.mjs'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
// BENCH_CLI: another build's CLI (a copy of dist/ with a change), for before/after comparisons.
export const CLI = process.env.BENCH_CLI ?? join(ROOT, 'dist', 'cli', 'main.js')
/** The built package the CLI belongs to (dist/, or BENCH_CLI's). */
export const DIST = join(dirname(CLI), '..')
export const RESULTS = join(ROOT, 'bench', '.results')
export const BENCH_KEY = 'bench-key-7d1f0c2a9e'

/**
 * The shipped podcast recipe's shape (title-ready, `when: { tag: 'podcast' }`,
 * which the seed payload matches) with one `http` step to the sink. Unlike
 * the shipped build hook it has no debounce: every event must make its own
 * request. NODE_ENV=production, as a deployment runs it.
 */
export function benchConfig({ dir, sinkUrl, concurrency = 16, steps = true, store, console = true }) {
  const config = {
    server: { host: '127.0.0.1' },
    auth: { keys: [BENCH_KEY] },
    // The console (and /metrics) on, as shipped, with its generated token (a BENCH_CLI build from
    // before the console knows no `admin` option), unless a row measures it off.
    ...(console ? {} : { admin: { enabled: false } }),
    store: store ?? { driver: 'sqlite', path: join(dir, 'runner.db') },
    queue: { concurrency, timeout: '30s', retry: { attempts: 5, delay: '2s', factor: 2, maxDelay: '15m' } },
    dedupe: { window: '24h' },
    recipes: [
      {
        name: 'podcast-ready',
        on: 'title-ready',
        when: { tag: 'podcast' },
        do: [{ name: 'rebuild', action: 'http', with: { url: `${sinkUrl}/build?title={{id}}` } }],
      },
    ],
  }
  // Diagnostics only: the receiver and the store without the engine's work.
  if (!steps) config.recipes = []
  return config
}

/**
 * Starts `audiorista-runner start` and resolves once `/readyz` answers 200.
 * Logs go to a file in the temp folder (as they would to a log collector),
 * not through a pipe the bench would have to drain. With `profile`, the
 * child runs under --cpu-prof and is stopped with SIGTERM so that it writes
 * the profile into bench/.results/profiles.
 */
export async function startRunnerChild({
  sinkUrl,
  concurrency = 16,
  steps = true,
  profile = false,
  label = 'runner',
  nodeFlags = [],
  store,
  console = true,
} = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ar-bench-'))
  const file = join(dir, 'audiorista.config.json')
  const config = benchConfig({ dir, sinkUrl, concurrency, steps, store, console })
  writeFileSync(file, JSON.stringify(config, null, 2))
  const port = await freePort()
  const profileDir = join(RESULTS, 'profiles')
  if (profile) mkdirSync(profileDir, { recursive: true })
  const nodeArgs = [
    ...nodeFlags,
    ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`] : []),
  ]
  const log = openSync(join(dir, 'runner.log'), 'w')
  const env = { ...process.env, CI: '1', LOG_LEVEL: 'info', NODE_ENV: 'production' }
  delete env.AUDIORISTA_KEY
  delete env.PORT
  const child = spawnNode([...nodeArgs, CLI, 'start', '--config', file, '--port', String(port), '--host', '127.0.0.1'], {
    cwd: dir,
    env,
    stdio: ['ignore', log, log],
  })
  closeSync(log)
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    await stopChild(child, { signal: profile ? 'SIGTERM' : 'SIGKILL', graceMs: 15_000 })
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitFor200(`${url}/readyz`, { child })
  } catch (err) {
    const log = readFileSync(join(dir, 'runner.log'), 'utf8').trim().split('\n').slice(-15).join('\n')
    await stop()
    throw new Error(`${err.message}; its output:\n${log}`)
  }
  // `store`: the store config it runs on, to open the same store beside it (lib/stores.mjs openReader).
  // The console's token, generated at first start (undefined with the console off, or a build without one).
  const adminToken = () => {
    try {
      return readFileSync(join(dir, '.audiorista', 'admin-token'), 'utf8').trim()
    } catch {
      return undefined
    }
  }
  return { child, url, dir, store: config.store, dbPath: config.store.path, logFile: join(dir, 'runner.log'), adminToken, stop }
}
