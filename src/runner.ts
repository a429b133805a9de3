import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { RunnerError } from './errors.js'
import type { AdminApp, AdminAppOptions } from './admin/app.js'
import { ensureAdminToken, ensureKey } from './first-run.js'
import { createEngine, type Engine } from './queue/engine.js'
import { createReceiver, type Receiver } from './receive/receiver.js'
import { createHttpServer, type HttpServer, localUrl } from './receive/server.js'
import type { Setup } from './setup.js'
import type { Backend } from './store/backend.js'
import { createBackend } from './store/create.js'
import { prepareSqliteFiles } from './store/sqlite.js'
import type { Logger } from './types.js'
import type { ResolvedConfig } from './config/resolved.js'
import { createTelemetry, noTelemetry } from './telemetry.js'

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
  /** The admin token generated on this first run, to show once. */
  generatedAdminToken?: string
  /**
   * Resolves once everything but the webhooks (health, console, metrics) is
   * served by the express app, which loads after the webhook path is ready;
   * undefined when neither the console nor metrics are on. Never rejects: a
   * console that fails to load is logged, and its paths keep answering 503.
   */
  console: Promise<AdminApp | undefined>
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
  const key = ensureKey(prepared.config)
  const admin = ensureAdminToken(key.config)
  const config = admin.config
  // Folders and files are made private before the first byte of data; the lock file lives beside the database.
  for (const warning of new Set([...key.warnings, ...admin.warnings, ...prepareStoreFiles(config)])) log.warn(warning)
  const store = await createBackend(config, { onWarning: (message) => log.warn(message), onNotice: (message) => log.info(message) })
  const withConsole = config.admin.enabled || config.metrics.public
  const telemetry = withConsole ? createTelemetry() : noTelemetry
  const engine = createEngine({ config, backend: store, plan: prepared.plan, renderer: prepared.renderer, log, telemetry })
  const receiver = createReceiver({ config, store, log, telemetry, onAccepted: (event) => engine.offer(event) })
  const isReady = () => receiver.accepting && store.isReady()
  const http = createHttpServer({ config, receiver, isReady, ...(withConsole ? { later: consolePath(config) } : {}) })
  const { server } = http
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
  const adminApp = withConsole
    ? loadConsole({ prepared, config, store, engine, telemetry, log, isReady }, http)
    : Promise.resolve(undefined)
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
    ...(key.created ? { generatedKey: key.created } : {}),
    ...(admin.created ? { generatedAdminToken: admin.created } : {}),
    console: adminApp,
    close(grace = 10_000) {
      closing ??= (async () => {
        receiver.setAccepting(false)
        clearInterval(pruneTimer)
        // Live views hold their sockets open: end them, so the server can close.
        ;(await adminApp)?.close()
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

/** `/metrics`, and `/admin…` when the console is on: answered 503 until the console is loaded. */
function consolePath(config: ResolvedConfig): (path: string) => boolean {
  return (path) => path === '/metrics' || (config.admin.enabled && (path === '/admin' || path.startsWith('/admin/')))
}

/**
 * Imports express and builds the console only now, after the webhook path
 * is ready: the import costs about 145 ms, which stays off the cold start.
 */
async function loadConsole(
  options: Omit<AdminAppOptions, 'prepared'> & { prepared: Setup },
  http: HttpServer,
): Promise<AdminApp | undefined> {
  try {
    const { createAdminApp } = await import('./admin/app.js')
    const admin = createAdminApp(options)
    http.mount(admin.app)
    return admin
  } catch (err) {
    options.log.error({ err }, 'the console failed to load; webhooks are not affected')
    http.mountFailed()
    return undefined
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
