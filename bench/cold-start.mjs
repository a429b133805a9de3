/**
 * Part 4, cold start: from spawning `audiorista-runner start` to the first
 * `GET /readyz` 200, with the shipped TypeScript config (audiorista.config.ts
 * with recipes/ and plugins/, copied into a temp folder). The first start
 * warms jiti's transpile cache and generates the key, as a first `npm start`
 * would; the median of the following starts is reported.
 *
 *   node bench/cold-start.mjs [--quick] [--profile]  (--profile: the last start under --cpu-prof)
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, spawnNode, stopChild, waitFor200 } from './lib/children.mjs'
import { median } from './lib/load.mjs'
import { fmt, say, standalone } from './lib/report.mjs'
import { CLI, RESULTS, ROOT } from './lib/runner.mjs'

export const TARGET_MS = 600

async function startOnce(dir, { profile = false } = {}) {
  const port = await freePort()
  const env = { ...process.env, CI: '1', LOG_LEVEL: 'info' }
  // The shipped config as a fresh clone runs it: no credentials, so preview mode.
  for (const name of ['AUDIORISTA_KEY', 'SLACK_BOT_TOKEN', 'SMTP_URL', 'BUILD_HOOK_URL', 'PORT', 'NODE_ENV']) delete env[name]
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

export async function coldStartBench({ quick = false, profile = false } = {}) {
  const runs = quick ? 3 : 7
  const dir = mkdtempSync(join(tmpdir(), 'ar-bench-cold-'))
  try {
    for (const item of ['audiorista.config.ts', 'recipes', 'plugins']) cpSync(join(ROOT, item), join(dir, item), { recursive: true })
    say(`cold start: 1 warm-up start, then ${runs} measured`)
    const first = await startOnce(dir)
    const times = []
    for (let i = 0; i < runs; i++) times.push(await startOnce(dir, { profile: profile && i === runs - 1 }))
    const mid = median(times)
    return {
      title: '4. Cold start',
      rows: [
        { measure: 'first start in a new folder (generates the key, fills the jiti cache)', result: fmt.ms(first) },
        {
          measure: `start to /readyz 200, TypeScript config (median of ${runs})`,
          result: `${fmt.ms(mid)} (${times.map((t) => t.toFixed(0)).join(', ')} ms)`,
          target: `< ${TARGET_MS} ms`,
          met: mid < TARGET_MS,
        },
      ],
      notes: ['Cold start: measured from spawn() in the bench process, so it includes starting Node itself; /readyz is polled every 2 ms.'],
      raw: { first, times },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await standalone(import.meta.url, coldStartBench)
