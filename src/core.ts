/**
 * The runner without a socket: the backend, the engine's loop over it, the
 * receiver that stores deliveries, and the recipes in effect, which a reload
 * swaps whole. `startRunner` puts a server in front of it; `createRunner`
 * hands its receiver to the user's own server.
 */
import { relative } from 'node:path'
import type { ResolvedConfig } from './config/resolved.js'
import { ensureSecrets } from './first-run.js'
import { createEngine, type Engine } from './queue/engine.js'
import { createReceiver, type Receiver } from './receive/receiver.js'
import { createReloader, type ReloadOutcome } from './reload/reloader.js'
import type { Setup } from './setup.js'
import type { Backend } from './store/backend.js'
import { createBackend } from './store/create.js'
import { prepareSqliteFiles } from './store/sqlite.js'
import { noTelemetry, type Telemetry } from './telemetry.js'
import type { Logger } from './types.js'

export interface CoreOptions {
  log: Logger
  /** Loads and checks the config again, for a reload. Without it, `reload` refuses. */
  load?: () => Promise<Setup>
  /** Loads and checks it in a child process first (`checkInChild`): a config that never finishes loading is refused there. */
  check?: (what: string, signal: AbortSignal) => Promise<void>
  telemetry?: Telemetry
}

export interface Core {
  /** The config in effect: the last good one, with the generated key and admin token. */
  readonly config: ResolvedConfig
  /** The recipes, plugins and templates in effect. */
  readonly setup: Setup
  store: Backend
  engine: Engine
  receiver: Receiver
  /** The key generated on this first run, to show once. */
  generatedKey?: string
  /** The admin token generated on this first run, to show once. */
  generatedAdminToken?: string
  /** Load the config again and swap it in if it is good (`trigger` says why, for the log). */
  reload(trigger?: string): Promise<ReloadOutcome>
  /** What the last reload did, if there was one. */
  readonly lastReload: ReloadOutcome | undefined
  /** Take work from the backend and accept deliveries. */
  start(): void
  /**
   * Refuse deliveries, then let running steps finish within `grace` ms and
   * close. `hooks.stopping` runs once deliveries are refused (a server stops
   * listening), `hooks.stopped` once the engine has stopped.
   */
  close(grace?: number, hooks?: { stopping?: () => Promise<void> | void; stopped?: () => Promise<void> | void }): Promise<void>
}

/** Opens the backend (SQLite takes its lock) and builds the engine and receiver; nothing runs until `start`. */
export async function openCore(prepared: Setup, { log, load, check, telemetry = noTelemetry }: CoreOptions): Promise<Core> {
  const { config: withSecrets, key, admin } = ensureSecrets(prepared.config)
  let setup: Setup = { ...prepared, config: withSecrets }
  const { config } = setup
  // Folders and files are made private before the first byte of data; the lock file lives beside the database.
  for (const warning of new Set([...key.warnings, ...admin.warnings, ...prepareStoreFiles(config)])) log.warn(warning)
  const store = await createBackend(config, { onWarning: (message) => log.warn(message), onNotice: (message) => log.info(message) })
  const engine = createEngine({ config, backend: store, plan: setup.plan, renderer: setup.renderer, log, telemetry })
  const receiver = createReceiver({ config, store, log, telemetry, onAccepted: (event) => engine.offer(event) })
  const reloader = createReloader({
    current: () => setup,
    load: load ?? (() => Promise.reject(new Error('this runner was given its config as an object; pass the new one to reload'))),
    ...(check ? { check } : {}),
    what: () => (setup.config.filepath ? relative(process.cwd(), setup.config.filepath) || setup.config.filepath : 'the config'),
    apply(next) {
      setup = next
      receiver.update(next.config)
      return engine.swap(next)
    },
    stopping: () => closing !== undefined,
    log,
  })
  let pruneTimer: NodeJS.Timeout | undefined
  let closing: Promise<void> | undefined

  return {
    get config() {
      return setup.config
    },
    get setup() {
      return setup
    },
    store,
    engine,
    receiver,
    ...(key.created ? { generatedKey: key.created } : {}),
    ...(admin.created ? { generatedAdminToken: admin.created } : {}),
    reload: (trigger = 'reload') => reloader.reload(trigger),
    get lastReload() {
      return reloader.last
    },
    start() {
      engine.start()
      receiver.setAccepting(true)
      pruneTimer = setInterval(() => void prune(store, setup.config, log), 3_600_000).unref()
      void prune(store, setup.config, log)
    },
    close(grace = 10_000, { stopping, stopped } = {}) {
      closing ??= (async () => {
        receiver.setAccepting(false)
        clearInterval(pruneTimer)
        // A reload still loading is not applied now: its check is killed, and the plugins it loaded are closed.
        reloader.abort()
        await reloader.idle()
        await stopping?.()
        await engine.stop(grace)
        await stopped?.()
        await setup.registry.close(log)
        await store.close()
      })()
      return closing
    },
  }
}

/** Warnings about existing data folders open to others (the driver makes what is missing, private). */
function prepareStoreFiles(config: ResolvedConfig): string[] {
  switch (config.store.driver) {
    case 'sqlite':
      return prepareSqliteFiles(config.store.path).warnings
    case 'redis':
      return []
  }
}

async function prune(store: Backend, config: ResolvedConfig, log: Logger): Promise<void> {
  try {
    const now = Date.now()
    const result = await store.prune(now, now - config.retention)
    if (result.events || result.runs || result.keys) log.info(result, 'pruned old events, runs and keys')
  } catch (err) {
    log.warn({ err }, 'pruning failed; will try again')
  }
}
