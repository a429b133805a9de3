/**
 * The runner inside someone else's server: `createRunner` opens the store and
 * the engine, and `runner.webhooks` is the receiver as one handler that works
 * as express middleware and as a plain `node:http` handler (octokit's
 * `createNodeMiddleware`, in spirit). No port of its own, no console.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Core, openCore } from './core.js'
import { keyFile } from './first-run.js'
import { createLogger } from './log.js'
import { notFound } from './receive/server.js'
import type { ReloadOutcome } from './reload/reloader.js'
import { type Setup, setup, setupFrom, warnAbout } from './setup.js'
import { type Config, EVENT_TYPES, type Logger } from './types.js'
import type { ConfigIssue } from './errors.js'

export interface CreateRunnerOptions {
  /** The config, as `defineConfig` takes it. Without it, `audiorista.config.*` is loaded from `cwd`, as `start` does. */
  config?: Config
  /** Where relative paths (the store, `plugins/`, `recipes/templates/`) and the config file are found; default the process's. */
  cwd?: string
  /** Where the runner logs (a pino logger fits); default JSON lines on standard output. */
  logger?: Logger
}

/**
 * Receives deliveries for `POST /{event}`: as express middleware
 * (`app.use('/webhooks', runner.webhooks)`: other paths go on to `next`) or
 * as a `node:http` handler (`/{event}` and `{server.basePath}/{event}`; other
 * paths get a JSON 404).
 */
export type WebhookHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void

/** What a reload did: applied (with a one-line summary), or refused with every problem (the old config keeps running). */
export type ReloadResult = { ok: true; summary: string } | { ok: false; problems: ConfigIssue[] }

export interface AudioristaRunner {
  /** The webhook receiver, for express or `node:http`. */
  webhooks: WebhookHandler
  /** Check a new config (or the same one, or the file again) and swap it in; running steps finish first. */
  reload(config?: Config): Promise<ReloadResult>
  /** Refuse new deliveries, let running steps finish within `grace` ms (default 10 s), close the store. */
  close(grace?: number): Promise<void>
}

const EVENTS = new Set<string>(EVENT_TYPES)

export async function createRunner({ config, cwd = process.cwd(), logger }: CreateRunnerOptions = {}): Promise<AudioristaRunner> {
  const log = logger ?? createLogger({ pretty: false })
  // The config in effect; a reload tries `pending`, which becomes it only when it is good.
  let current = config
  let pending = config
  const load = (): Promise<Setup> => (pending === undefined ? setup({ cwd }) : setupFrom(pending, { rootDir: cwd }))
  const core = await openCore(await load(), { log, load })
  warnAbout(core.setup, log)
  if (core.generatedKey)
    log.warn(
      `no key is configured, so one was generated in ${keyFile(core.config)}: paste it into each webhook in Audiorista, or set auth.keys`,
    )
  // The config may be shared with `start`; here the socket, and so its certificate, are the embedding server's.
  if (core.config.server.tls)
    log.warn('server.tls is not used by createRunner: your server owns the socket and its TLS (https.createServer({ cert, key }, …))')
  core.start()
  return {
    webhooks: webhookHandler(core),
    async reload(config) {
      pending = config ?? current
      const outcome = await core.reload('reload()')
      if (outcome.ok) current = pending
      return result(outcome)
    },
    close: (grace) => core.close(grace),
  }
}

function webhookHandler(core: Pick<Core, 'config' | 'receiver'>): WebhookHandler {
  return (req, res, next) => {
    const { basePath } = core.config.server
    const path = (req.url ?? '/').split('?')[0]!
    const rest = basePath && path.startsWith(`${basePath}/`) ? path.slice(basePath.length) : path
    const name = /^\/([^/]+)\/?$/.exec(rest)?.[1]
    // Under express, a path that is not an event is someone else's.
    if (next && (name === undefined || !EVENTS.has(name))) return next()
    if (name === undefined) return notFound(req, res, basePath)
    core.receiver.deliver(req, res, name)
  }
}

function result(outcome: ReloadOutcome): ReloadResult {
  return outcome.ok ? { ok: true, summary: outcome.summary } : { ok: false, problems: outcome.problems }
}
