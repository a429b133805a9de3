import { relative } from 'node:path'
import { adminTokenFile, keyFile } from '../first-run.js'
import { createLogger } from '../log.js'
import { type Runner, startRunner } from '../runner.js'
import { checkInChild } from '../reload/isolate.js'
import { type Setup, type SetupOptions, setup, warnAbout } from '../setup.js'
import { EVENT_TYPES } from '../types.js'
import { reportError, shownPath } from './output.js'
import { handleSignals } from './signals.js'

const LABELS = { 'title-updated': 'Title updated   ', 'title-ready': 'Title ready     ', 'asset-transcoded': 'Asset transcoded' } as const

export async function startCommand(options: { config?: string; port?: number; host?: string }): Promise<void> {
  const log = createLogger()
  // First of all: SIGTERM at any moment after spawn exits 0 (before ready, without serving).
  const signals = handleSignals(log)
  let prepared: Setup
  // The same command line each time: a reload reads the config the way start did (and checks it in a child first).
  const setupOptions: SetupOptions = {
    ...(options.config ? { configFile: options.config } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host ? { host: options.host } : {}),
  }
  const load = () => setup(setupOptions)
  const check = (what: string, signal: AbortSignal) => checkInChild(setupOptions, what, signal)
  try {
    prepared = await load()
  } catch (err) {
    return reportError(err)
  }
  warnAbout(prepared, log)
  const idle = idleReason(prepared)
  if (idle) log.warn(idle)

  // A faulty plugin may fail its own run, never the process.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection (a plugin?)'))
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception (a plugin?)'))

  let runner: Runner
  signals.opening()
  try {
    runner = await startRunner(prepared, log, { load, check, watch: true, signal: signals.signal })
  } catch (err) {
    // Stopped by a signal before serving: the store is closed and its lock released.
    if (signals.signal.aborted) process.exit(0)
    return reportError(err)
  }
  signals.running(runner)
  if (signals.signal.aborted) return
  process.stderr.write(`${banner(runner).join('\n')}\n\n`)
  const { config } = runner
  const about = {
    url: runner.url,
    bind: hostPort(runner.bind),
    basePath: config.server.basePath,
    recipes: prepared.plan.recipes.length,
    pid: process.pid,
  }
  log.info({ ...about, store: config.store.driver === 'sqlite' ? config.store.path : `redis (prefix ${config.store.prefix})` }, 'ready')
}

function banner(runner: Runner): string[] {
  const { config } = runner
  const base = `${runner.url}${config.server.basePath}`
  const publicName = config.server.tls ? 'the name its certificate is for' : "this machine's public https address"
  const from = config.filepath ? ` (config: ${relative(process.cwd(), config.filepath) || config.filepath})` : ' (no config file: defaults)'
  const lines = [
    '',
    `audiorista-runner is listening on ${bindLabel(runner.bind)}${from}`,
    '',
    'Webhook URLs: in Audiorista, Extension > Manage > Webhook, add one webhook per event',
    ...EVENT_TYPES.map((e) => `  ${LABELS[e]}  ${base}/${e}`),
    // The loopback URLs are for `send` and curl here; Audiorista calls from the internet.
    `  (local URLs: Audiorista needs ${publicName} in place of ${new URL(runner.url).hostname})`,
  ]
  const keyAt = shownPath(keyFile(config))
  if (runner.generatedKey) {
    lines.push(
      '',
      `No key was configured, so one was generated and saved in ${keyAt}.`,
      'Paste it into the Key field of each webhook (it is shown only this once):',
      `  ${runner.generatedKey}`,
    )
  } else if (config.auth.generated) {
    lines.push('', `Key: the generated one in ${keyAt} (set auth.keys or AUDIORISTA_KEY to use your own)`)
  } else if (config.auth.allowUnauthenticated && !config.auth.keys) {
    lines.push('', 'Key: none (auth.allowUnauthenticated is set: anyone who knows the URL can deliver)')
  }
  return [...lines, ...consoleLines(runner)]
}

/** Where the console is, and how to log in (the token itself only when it was generated just now). */
function consoleLines(runner: Runner): string[] {
  const { config } = runner
  if (!config.admin.enabled) return config.metrics.public ? ['', `Metrics: ${runner.url}/metrics (public)`] : []
  const tokenAt = shownPath(adminTokenFile(config))
  const lines = ['', `Console: ${runner.url}/admin (metrics: ${runner.url}/metrics${config.metrics.public ? ', public' : ', same token'})`]
  if (runner.generatedAdminToken)
    lines.push(
      `No admin token was configured, so one was generated and saved in ${tokenAt} (shown only this once):`,
      `  ${runner.generatedAdminToken}`,
    )
  else if (config.admin.tokenFrom === 'generated') lines.push(`Admin token: the generated one in ${tokenAt}`)
  else lines.push(`Admin token: from ${config.admin.tokenFrom === 'env' ? 'AUDIORISTA_ADMIN_TOKEN' : 'admin.token in the config'}`)
  return lines
}

/** Why nothing will run, if so: a runner that stores deliveries and does nothing else should say it. */
function idleReason({ config, plan }: Setup): string | undefined {
  const where = config.filepath ? relative(process.cwd(), config.filepath) || config.filepath : 'audiorista.config.ts (none was found)'
  const stored = 'deliveries are stored but nothing runs'
  if (plan.recipes.length === 0) return `no recipes: ${stored}; add recipes to ${where}`
  const disabled = plan.recipes.every((r) => r.recipe.enabled === false)
  if (disabled) return `every recipe is disabled (enabled: false): ${stored}; enable one in ${where}`
  return undefined
}

function hostPort({ host, port }: Runner['bind']): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** The real bind address, and who can reach it. */
function bindLabel(bind: Runner['bind']): string {
  if (bind.host === '0.0.0.0' || bind.host === '::') return `${hostPort(bind)} (all interfaces)`
  if (bind.host.startsWith('127.') || bind.host === '::1') return `${hostPort(bind)} (loopback: this machine only)`
  return hostPort(bind)
}
