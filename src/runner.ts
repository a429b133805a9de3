import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { RunnerError } from './errors.js'
import { ensureKey } from './first-run.js'
import { createEngine, type Engine } from './queue/engine.js'
import { createReceiver, type Receiver } from './receive/receiver.js'
import { createHttpServer, localUrl } from './receive/server.js'
import type { Setup } from './setup.js'
import type { Backend } from './store/backend.js'
import { createBackend } from './store/create.js'
import { prepareSqliteFiles } from './store/sqlite.js'
import type { Logger } from './types.js'
import type { ResolvedConfig } from './config/resolved.js'

export interface Runner {
  config: ResolvedConfig
  /** Where events, runs and the schedule live (SQLite, or Redis shared with other replicas). */
  store: Backend
  engine: Engine
  receiver: Receiver
  server: Server
  /** `http://host:port` to reach it from this machine (loopback when it listens on all interfaces). */
  url: string
  /** The address and port it is bound to, as the OS reports them (`0.0.0.0` for all IPv4 interfaces). */
  bind: { host: string; port: number }
  /** The key generated on this first run, to show once. */
  generatedKey?: string
  /** Graceful stop: refuse new deliveries, let running steps finish within `grace` ms, close. */
  close(grace?: number): Promise<void>
}

/**
 * Opens the backend (SQLite takes its lock), listens, then starts the
 * engine's loop: unfinished work is simply due work in the backend's
 * schedule, so there is no separate recovery. Deliveries get 503 until the
 * engine runs.
 */
export async function startRunner(prepared: Setup, log: Logger): Promise<Runner> {
  const { config, created, warnings } = ensureKey(prepared.config)
  // Folders and files are made private before the first byte of data; the lock file lives beside the database.
  for (const warning of new Set([...warnings, ...prepareStoreFiles(config)])) log.warn(warning)
  const store = await createBackend(config, { onWarning: (message) => log.warn(message), onNotice: (message) => log.info(message) })
  const engine = createEngine({ config, backend: store, plan: prepared.plan, renderer: prepared.renderer, log })
  const receiver = createReceiver({ config, store, log, onAccepted: (event) => engine.offer(event) })
  const server = createHttpServer({ config, receiver, isReady: () => receiver.accepting && store.isReady() })
  try {
    // Listen first (deliveries get 503 until recovery is done), so a taken port fails before any work runs.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.server.port, config.server.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    engine.start()
  } catch (err) {
    server.close()
    await store.close()
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new RunnerError('port_in_use', `port ${config.server.port} is in use (another runner?); use --port or PORT`)
    throw err
  }
  receiver.setAccepting(true)
  const { address, port } = server.address() as AddressInfo
  const pruneTimer = setInterval(() => void prune(store, config, log), 3_600_000).unref()
  void prune(store, config, log)

  let closing: Promise<void> | undefined
  return {
    config,
    store,
    engine,
    receiver,
    server,
    url: localUrl(config.server.host, port),
    bind: { host: address, port },
    ...(created ? { generatedKey: created } : {}),
    close(grace = 10_000) {
      closing ??= (async () => {
        receiver.setAccepting(false)
        clearInterval(pruneTimer)
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        await engine.stop(grace)
        server.closeAllConnections()
        await closed
        await prepared.registry.close(log)
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
