import type { Server } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { RunnerError } from './errors.js'
import type { AdminApp, AdminAppOptions } from './admin/app.js'
import { join } from 'node:path'
import { importedFiles } from './config/import-module.js'
import type { ResolvedConfig } from './config/resolved.js'
import { type Core, openCore } from './core.js'
import type { Engine } from './queue/engine.js'
import type { Receiver } from './receive/receiver.js'
import { LISTEN_BACKLOG, createHttpServer, type HttpServer, localUrl } from './receive/server.js'
import type { ReloadOutcome } from './reload/reloader.js'
import { type Watcher, watchConfig } from './reload/watch.js'
import type { Setup } from './setup.js'
import type { Backend } from './store/backend.js'
import { createTelemetry, noTelemetry } from './telemetry.js'
import type { Logger } from './types.js'

export interface Runner {
  /** The config in effect: the last good one (a reload swaps it), with the generated key and admin token. */
  readonly config: ResolvedConfig
  /** Where events, runs and the schedule live (SQLite, or Redis shared with other replicas). */
  store: Backend
  engine: Engine
  receiver: Receiver
  /** `node:https` when `server.tls` is set. */
  server: Server | HttpsServer
  /** `http://host:port` (`https://` with `server.tls`) to reach it from this machine (loopback when it listens on all interfaces). */
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
  /** Load the config file again and swap it in if it is good; else keep the last good one (`trigger` is logged). */
  reload(trigger?: string): Promise<ReloadOutcome>
  /** What the last reload did, if there was one. */
  readonly lastReload: ReloadOutcome | undefined
  /** Graceful stop: refuse new deliveries, let running steps finish within `grace` ms, close. */
  close(grace?: number): Promise<void>
}

export interface StartOptions {
  /** Loads and checks the config again, for `reload`. */
  load?: () => Promise<Setup>
  /** Loads and checks it in a child process first, for `reload`: a config that never finishes loading never runs here. */
  check?: (what: string, signal: AbortSignal) => Promise<void>
  /** Reload when the config file or a file it loads changes (`start` does; tests choose). */
  watch?: boolean
  /** Aborted (a SIGTERM during start-up): stop before serving, closing the store, and reject. */
  signal?: AbortSignal
}

/**
 * Opens the backend (SQLite takes its lock), listens, then starts the
 * engine's loop: unfinished work is simply due work in the backend's
 * schedule, so there is no separate recovery. Deliveries get 503 until the
 * engine runs.
 */
export async function startRunner(
  prepared: Setup,
  log: Logger,
  { load, check, watch = false, signal }: StartOptions = {},
): Promise<Runner> {
  const withConsole = prepared.config.admin.enabled || prepared.config.metrics.public
  const telemetry = withConsole ? createTelemetry() : noTelemetry
  const core = await openCore(prepared, { log, telemetry, ...(load ? { load } : {}), ...(check ? { check } : {}) })
  const { config, store, engine, receiver } = core
  await stopIfAborted(signal, core)
  const isReady = () => receiver.accepting && store.isReady()
  const http = createHttpServer({ config, receiver, isReady, ...(withConsole ? { later: consolePath(config) } : {}) })
  const { server } = http
  try {
    // Listen first (deliveries get 503 until recovery is done), so a taken port fails before any work runs.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.server.port, config.server.host, LISTEN_BACKLOG, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    server.close()
    await core.close()
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new RunnerError('port_in_use', `port ${config.server.port} is in use (another runner?); use --port or PORT`)
    throw err
  }
  await stopIfAborted(signal, core, server)
  core.start()
  const adminApp = withConsole ? loadConsole({ core, store, engine, telemetry, log, isReady }, http) : Promise.resolve(undefined)
  let watcher: Watcher | undefined
  // After every reload, a failed one too (the files it did load are watched, so fixing them is seen), and SIGHUP's.
  const reload = (trigger?: string) =>
    core
      .reload(trigger)
      .then((outcome) => {
        // A reload reads server.tls's files again: new ones (or the same, renewed) are served from the next handshake.
        if (outcome.ok && outcome.change.applied.includes('server.tls') && core.config.server.tls)
          http.useCertificate(core.config.server.tls)
        return outcome
      })
      .finally(() => watcher?.refresh())
  watcher = watch && load ? await watchFiles(core, reload, log) : undefined
  const { address, port } = server.address() as AddressInfo

  return {
    get config() {
      return core.config
    },
    store,
    engine,
    receiver,
    server,
    url: localUrl(config.server.host, port, Boolean(config.server.tls)),
    bind: { host: address, port },
    ...(core.generatedKey ? { generatedKey: core.generatedKey } : {}),
    ...(core.generatedAdminToken ? { generatedAdminToken: core.generatedAdminToken } : {}),
    console: adminApp,
    reload,
    get lastReload() {
      return core.lastReload
    },
    close(grace = 10_000) {
      let serverClosed: Promise<void> | undefined
      return core.close(grace, {
        async stopping() {
          await watcher?.close()
          // Live views hold their sockets open: end them, so the server can close.
          ;(await adminApp)?.close()
          serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
          server.closeIdleConnections()
        },
        async stopped() {
          server.closeAllConnections()
          await serverClosed
        },
      })
    },
  }
}

/** A stop asked for while starting: nothing was served yet, so close what is open (the store's lock too) and go no further. */
async function stopIfAborted(signal: AbortSignal | undefined, core: Core, server?: Server | HttpsServer): Promise<void> {
  if (!signal?.aborted) return
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await core.close(0)
  throw new RunnerError('start_aborted', 'stopped by a signal before start-up finished')
}

/** Reload when the config, a file it imports, a template or a plugin changes; files a reload brings in are watched too. */
async function watchFiles(core: Core, reload: (trigger: string) => Promise<unknown>, log: Logger): Promise<Watcher | undefined> {
  const modules = () => [...(core.config.filepath ? [core.config.filepath] : []), ...importedFiles()]
  const paths = () => [...modules(), join(core.config.rootDir, 'recipes', 'templates'), ...core.config.plugins]
  try {
    return await watchConfig({
      paths,
      modules,
      rootDir: core.config.rootDir,
      log,
      onChange: (path) => void reload(path),
    })
  } catch (err) {
    log.warn({ err }, 'cannot watch the config for changes; reload with SIGHUP')
    return undefined
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
async function loadConsole(options: AdminAppOptions, http: HttpServer): Promise<AdminApp | undefined> {
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
