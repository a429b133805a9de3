/**
 * `start`'s signals, handled from the first moment: a process manager may
 * signal as soon as it spawned us, and an unhandled SIGTERM ends the process
 * by the default action (exit 143), in the middle of whatever it was doing.
 */
import type { Runner } from '../runner.js'
import type { Logger } from '../types.js'
import { releaseEarlySignals } from './early-signals.js'

/** Where start-up is: a signal means something different in each. */
type Phase = { kind: 'loading' } | { kind: 'opening' } | { kind: 'running'; runner: Runner } | { kind: 'stopping' }

export interface StartSignals {
  /** Aborted by SIGTERM/SIGINT while the runner opens: `startRunner` then stops before serving. */
  signal: AbortSignal
  /** The store is about to be opened (its lock taken): from now on a stop must close it. */
  opening(): void
  /** Start-up is done: a signal now stops the runner gracefully (at once, if one came meanwhile). */
  running(runner: Runner): void
}

const GRACE = 10_000

/** Installs SIGTERM, SIGINT and SIGHUP handlers now, before the config is even read. */
export function handleSignals(log: Logger): StartSignals {
  let phase: Phase = { kind: 'loading' }
  const abort = new AbortController()
  let signals = 0
  const stop = (runner: Runner) => {
    phase = { kind: 'stopping' }
    runner
      .close(GRACE)
      .then(() => process.exit(0))
      .catch((err) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      })
  }
  const shutdown = (signal: string) => {
    if (++signals > 1) process.exit(130)
    if (phase.kind === 'running') {
      log.info({ signal }, 'shutting down: finishing running steps, the rest resumes at next start')
      return stop(phase.runner)
    }
    // Nothing is open while the config loads (a config that never settles cannot hold us); later, the store is.
    if (phase.kind === 'loading') {
      log.info({ signal }, 'stopping before start-up finished: nothing was served')
      process.exit(0)
    }
    // The webhook path may already serve (it does before the console and the file watcher are up): what runs finishes.
    log.info({ signal }, 'stopping during start-up: running steps finish, the rest resumes at next start')
    abort.abort()
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  // Reload the config (systemd's ExecReload, `kill -HUP`); unhandled, SIGHUP would end the process.
  process.on('SIGHUP', () => {
    if (phase.kind === 'running') void phase.runner.reload('SIGHUP')
    else if (phase.kind !== 'stopping') log.info('SIGHUP ignored: the runner is still starting; send it again once it is ready')
  })
  releaseEarlySignals()
  return {
    signal: abort.signal,
    opening() {
      phase = { kind: 'opening' }
    },
    running(runner) {
      if (abort.signal.aborted) return stop(runner)
      phase = { kind: 'running', runner }
    },
  }
}
