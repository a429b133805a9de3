/**
 * Live reload: load and check the whole config again, and either swap it in
 * at once or keep the last good one running. Reloads run one at a time; a
 * request during one makes one more afterwards, so the last edit always wins.
 */
import { ConfigError, type ConfigIssue } from '../errors.js'
import { ensureSecrets } from '../first-run.js'
import { type Setup, warnAbout } from '../setup.js'
import type { Logger } from '../types.js'
import { withinLimit } from './isolate.js'
import { applicable, type ConfigChange, compareConfigs, describeChange } from './compare.js'

/** What the last reload did: applied (with what changed), or refused with every problem found. */
export type ReloadOutcome =
  | { ok: true; at: number; trigger: string; change: ConfigChange; summary: string }
  | { ok: false; at: number; trigger: string; problems: ConfigIssue[]; file?: string }

export interface ReloaderOptions {
  /** The setup running now. */
  current: () => Setup
  /** Loads and checks the config again; throws a ConfigError listing every problem. */
  load: () => Promise<Setup>
  /**
   * Loads and checks it first in a child process (`checkInChild`), so a config
   * that never finishes loading is refused without ever running here.
   */
  check?: (what: string, signal: AbortSignal) => Promise<void>
  /** The config file as the log names it (`audiorista.config.ts`), for "loading … did not finish". */
  what?: () => string
  /**
   * Puts the new setup in effect at once (the receiver's keys, the engine's
   * recipes); `drained` resolves when no work taken under the old one is held.
   */
  apply: (next: Setup) => { drained: Promise<void> }
  /** True once the runner is stopping: a reload that finishes loading then is not applied. */
  stopping: () => boolean
  log: Logger
}

export interface Reloader {
  /** Reload now (`trigger`: the file that changed, or `SIGHUP`); resolves with what happened. */
  reload(trigger: string): Promise<ReloadOutcome>
  /** The outcome of the last reload, if there was one. */
  readonly last: ReloadOutcome | undefined
  /** Resolves when no reload is in progress. */
  idle(): Promise<void>
  /** Gives up the reload in progress (kills its check): the runner is stopping. */
  abort(): void
}

export function createReloader(options: ReloaderOptions): Reloader {
  const { current, apply, stopping, log } = options
  let last: ReloadOutcome | undefined
  let running: Promise<ReloadOutcome> | undefined
  let again: Promise<ReloadOutcome> | undefined
  const stop = new AbortController()

  async function once(trigger: string): Promise<ReloadOutcome> {
    const before = current()
    let loaded: Setup
    try {
      loaded = withSecrets(await guardedLoad(options, stop.signal), log)
    } catch (err) {
      if (stopping() || stop.signal.aborted) return refused(trigger, new Error('the runner is shutting down'))
      last = refused(trigger, err)
      const problems = last.problems.map((p) => (p.path && p.path !== '(config)' ? `${p.path}: ${p.message}` : p.message))
      log.error({ trigger, problems }, `config reload refused: ${summary(problems)}; the last good config keeps running`)
      return last
    }
    if (stopping()) {
      await loaded.registry.close(log)
      return refused(trigger, new Error('the runner is shutting down'))
    }
    const change = compareConfigs(before.config, loaded.config)
    // Swapped at once: a step that runs long never holds up the next delivery's keys or recipes.
    const { drained } = apply({ ...loaded, config: applicable(before.config, loaded.config) })
    // Plugins that went or were loaded afresh keep pooled connections: closed once no step of theirs runs.
    void drained.then(() => before.registry.close(log, loaded.registry))
    last = { ok: true, at: Date.now(), trigger, change, summary: describeChange(change) }
    log.info({ trigger, ...change }, `config reloaded: ${last.summary}`)
    warnAbout(loaded, log)
    return last
  }

  return {
    reload(trigger) {
      if (!running) {
        running = once(trigger).finally(() => {
          running = undefined
        })
        return running
      }
      // One more after the one in progress, for every request meanwhile: the last edit always wins.
      again ??= running
        .catch(() => {})
        .then(() => {
          again = undefined
          return this.reload(trigger)
        })
      return again
    },
    get last() {
      return last
    },
    async idle() {
      await again?.catch(() => {})
      await running?.catch(() => {})
    },
    abort() {
      stop.abort()
    },
  }
}

/** The child's check, then the load here, each within `LOAD_LIMIT_MS`. */
async function guardedLoad({ load, check, what = () => 'the config', log }: ReloaderOptions, signal: AbortSignal): Promise<Setup> {
  await check?.(what(), signal)
  if (signal.aborted) throw new Error('the runner is shutting down')
  return withinLimit(load(), what(), signal, (late) => void late.registry.close(log))
}

/** The first problem, and how many more: the log line's message; the `problems` field has them all. */
function summary(problems: string[]): string {
  const more = problems.length - 1
  return `${problems[0] ?? 'unknown problem'}${more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : ''}`
}

/**
 * With the generated key and admin token filled in, as at start: else a
 * reload would read as a key change. A key generated now (the config no
 * longer has one) is announced by where it is, never by its value.
 */
function withSecrets(loaded: Setup, log: Logger): Setup {
  const { config, key } = ensureSecrets(loaded.config)
  if (key.created) log.warn(`the config has no key now, so one was generated in ${key.file}: paste it into each webhook in Audiorista`)
  return { ...loaded, config }
}

function refused(trigger: string, err: unknown): Extract<ReloadOutcome, { ok: false }> {
  const at = Date.now()
  if (err instanceof ConfigError) return { ok: false, at, trigger, problems: err.issues, ...(err.filepath ? { file: err.filepath } : {}) }
  return { ok: false, at, trigger, problems: [{ path: '(config)', message: err instanceof Error ? err.message : String(err) }] }
}
