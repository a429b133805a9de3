import { relative } from 'node:path'
import { keyFile } from '../first-run.js'
import { createLogger } from '../log.js'
import { startRunner } from '../runner.js'
import { setup } from '../setup.js'
import { EVENT_TYPES } from '../types.js'
import { reportError } from './output.js'

const LABELS = { 'title-updated': 'Title updated   ', 'title-ready': 'Title ready     ', 'asset-transcoded': 'Asset transcoded' } as const

export async function startCommand(options: { config?: string; port?: number; host?: string }): Promise<void> {
  const log = createLogger()
  let prepared
  try {
    prepared = await setup({ ...(options.config ? { configFile: options.config } : {}), ...(options.port !== undefined ? { port: options.port } : {}), ...(options.host ? { host: options.host } : {}) })
  } catch (err) {
    return reportError(err)
  }
  for (const p of prepared.plan.previews) log.warn({ step: p.label, reason: p.reason }, `preview mode: ${p.label} will only log what it would send (${p.reason})`)

  // A faulty plugin may fail its own run, never the process.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection (a plugin?)'))
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception (a plugin?)'))

  let runner
  try {
    runner = await startRunner(prepared, log)
  } catch (err) {
    return reportError(err)
  }
  const { config } = runner
  const base = `${runner.url}${config.server.basePath}`
  const lines = [
    '',
    `audiorista-runner is listening on ${runner.url}${config.filepath ? ` (config: ${relative(process.cwd(), config.filepath) || config.filepath})` : ' (no config file: defaults)'}`,
    '',
    'Webhook URLs: in Audiorista, Extension > Manage > Webhook, add one webhook per event',
    ...EVENT_TYPES.map((e) => `  ${LABELS[e]}  ${base}/${e}`),
    '  (use this machine\'s public https address instead of 127.0.0.1)',
  ]
  if (runner.generatedKey) {
    lines.push('', `No key was configured, so one was generated and saved in ${relative(process.cwd(), keyFile(config.rootDir))}.`, 'Paste it into the Key field of each webhook (it is shown only this once):', `  ${runner.generatedKey}`)
  } else if (config.auth.generated) {
    lines.push('', `Key: the generated one in ${relative(process.cwd(), keyFile(config.rootDir))} (set auth.keys or AUDIORISTA_KEY to use your own)`)
  } else if (config.auth.allowUnauthenticated && !config.auth.keys) {
    lines.push('', 'Key: none (auth.allowUnauthenticated is set: anyone who knows the URL can deliver)')
  }
  process.stderr.write(`${lines.join('\n')}\n\n`)
  log.info({ url: runner.url, basePath: config.server.basePath, recipes: prepared.plan.recipes.length, store: config.store.path }, 'ready')

  let signals = 0
  const shutdown = (signal: string) => {
    if (++signals > 1) process.exit(130)
    log.info({ signal }, 'shutting down: finishing running steps, the rest resumes at next start')
    runner
      .close(10_000)
      .then(() => process.exit(0))
      .catch((err) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      })
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}
