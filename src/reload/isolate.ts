/**
 * A reload cannot wedge the runner: the new config is first loaded and
 * checked in a child process, which is killed when it takes longer than
 * `LOAD_LIMIT_MS`; only then is it loaded in the runner, under the same limit.
 * A top-level `await` that never settles or an endless loop is refused, and
 * the runner goes on serving with the last good config.
 */
import { spawn } from 'node:child_process'
import { setPriority } from 'node:os'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../errors.js'
import type { SetupOptions } from '../setup.js'
import type { CheckAnswer } from './check-child.js'

/**
 * How long loading a config may take, in the child and in the runner. An
 * internal constant, not a setting: a healthy config loads in well under a
 * second (a cold transpile included), so 10 s only bounds how long a broken
 * save takes to be refused, and nobody has a reason to tune that.
 */
export const LOAD_LIMIT_MS = 10_000

/** What a config that ran out of time is refused with. */
export function tooSlow(what: string, limit = LOAD_LIMIT_MS): ConfigError {
  const s = Math.round(limit / 1000)
  return new ConfigError([
    {
      path: '(config)',
      message: `loading ${what} did not finish within ${s} s (a top-level await that never settles, or an endless loop?)`,
    },
  ])
}

/** How long the child may take to load the runner's own code, before the config's limit starts. */
const STARTUP_LIMIT_MS = 60_000

const ENTRY = fileURLToPath(new URL('./check-child.js', import.meta.url))

/**
 * Loads and checks the config in a `node` child (no shell) as `start` would.
 * Resolves when it is good; rejects with a ConfigError listing its problems,
 * or saying it ran out of time; `signal` kills the child at once (shutdown).
 */
export function checkInChild(options: SetupOptions, what: string, signal: AbortSignal, limit = LOAD_LIMIT_MS): Promise<void> {
  // A reload queued before the shutdown began: an abort that already happened fires no event to kill a child.
  if (signal.aborted) return Promise.reject(new Error('the runner is shutting down'))
  const child = spawn(process.execPath, [ENTRY, JSON.stringify(options)], {
    cwd: process.cwd(),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  try {
    // A check is less urgent than deliveries (an endless loop in it spins a core), but must still finish in time.
    if (child.pid) setPriority(child.pid, 5)
  } catch {
    // Not allowed here (some containers): it runs at the runner's priority, still in its own process.
  }
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000)
  })
  return new Promise<void>((resolve, reject) => {
    let answer: Exclude<CheckAnswer, { started: true }> | undefined
    const kill = () => child.kill('SIGKILL')
    const outOfTime = () => {
      kill()
      reject(tooSlow(what, limit))
    }
    // The limit is the config's: it starts once the child has loaded the runner's own code (slow on a busy
    // machine, never endless); a child that does not even get that far is given up on after a minute.
    let timer = setTimeout(outOfTime, STARTUP_LIMIT_MS)
    signal.addEventListener('abort', kill, { once: true })
    // The runner exiting another way (a second signal's process.exit) takes the check along.
    process.once('exit', kill)
    child.on('message', (m: CheckAnswer) => {
      if ('started' in m) {
        clearTimeout(timer)
        timer = setTimeout(outOfTime, limit)
      } else answer = m
    })
    child.on('error', (err) => reject(err))
    child.on('exit', (code) => {
      clearTimeout(timer)
      signal.removeEventListener('abort', kill)
      process.off('exit', kill)
      if (signal.aborted) return reject(new Error('the runner is shutting down'))
      if (answer?.ok) return resolve()
      if (answer) return reject(new ConfigError(answer.problems, answer.file))
      const why = stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${code}`
      reject(new ConfigError([{ path: '(config)', message: `checking ${what} stopped without an answer: ${why}` }]))
    })
  })
}

/**
 * `promise`, or a rejection after `limit` ms or once `signal` aborts: a load
 * that never settles cannot hold the reloader. What it loads late is handed
 * to `late` (to close its plugins).
 */
export function withinLimit<T>(
  promise: Promise<T>,
  what: string,
  signal: AbortSignal,
  late: (value: T) => void,
  limit = LOAD_LIMIT_MS,
): Promise<T> {
  let settled = false
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => stop(tooSlow(what, limit)), limit)
    const onAbort = () => stop(new Error('the runner is shutting down'))
    const stop = (err: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      reject(err)
      // Given up on: if it loads after all, its plugins are closed; if it fails, that was already reported (or is moot).
      promise.then(late, () => {})
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err) => stop(err),
    )
  })
}
