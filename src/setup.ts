import { join } from 'node:path'
import { builtinActions } from './actions/builtins.js'
import { type ActionRegistry, loadActions } from './actions/registry.js'
import { loadConfig } from './config/load.js'
import { resolveConfig } from './config/resolve.js'
import { shapeWarnings } from './config/shape-warnings.js'
import { slackLinkWarnings } from './config/slack-warnings.js'
import { ConfigError, type ConfigIssue } from './errors.js'
import { type Plan, planRecipes } from './queue/plan.js'
import { maskSecretsOf } from './redact.js'
import { createRenderer, type Renderer } from './render/renderer.js'
import type { ResolvedConfig } from './config/resolved.js'
import type { Logger } from './types.js'

export interface SetupOptions {
  /** `--config FILE` (or a folder to look in). */
  configFile?: string
  cwd?: string
  /** Command-line overrides. */
  port?: number
  host?: string
  /** Missing credentials are errors instead of preview mode (`check --strict`, NODE_ENV=production). */
  strict?: boolean
  /** Warnings are errors too (`check --strict` only: a warning never stops `start`). */
  warningsAsErrors?: boolean
}

/** Everything loaded and checked, ready to run: what `start`, `check` and `simulate` share. */
export interface Setup {
  config: ResolvedConfig
  registry: ActionRegistry
  plan: Plan
  renderer: Renderer
  /** What loads and runs but is likely a mistake: conditions that can never hold for the documented payload, Slack links a payload points. */
  warnings: ConfigIssue[]
}

/**
 * Loads the config, the plugins and the templates, and checks all of it,
 * throwing one ConfigError that lists every problem found.
 */
export async function setup({ configFile, cwd, ...rest }: SetupOptions = {}): Promise<Setup> {
  const loaded = await loadConfig({ ...(configFile ? { configFile } : {}), ...(cwd ? { cwd } : {}) })
  return setupFrom(loaded.config, { rootDir: loaded.rootDir, ...(loaded.filepath ? { filepath: loaded.filepath } : {}), ...rest })
}

/** The same checks for a config object already in hand (tests, embedding). */
export async function setupFrom(
  raw: unknown,
  {
    rootDir,
    filepath,
    port,
    host,
    strict = process.env.NODE_ENV === 'production',
    warningsAsErrors = false,
  }: Omit<SetupOptions, 'configFile' | 'cwd'> & { rootDir: string; filepath?: string },
): Promise<Setup> {
  const issues: ConfigIssue[] = []
  const config = resolveConfig(raw, { rootDir, ...(filepath ? { filepath } : {}), collect: issues })
  if (port !== undefined) config.server.port = port
  if (host !== undefined) config.server.host = host
  const renderer = createRenderer({ templatesDir: join(config.rootDir, 'recipes', 'templates') })
  const { registry, issues: pluginIssues } = await loadActions(config, builtinActions)
  const { plan, issues: planIssues } = await planRecipes(config, registry, renderer)
  issues.push(...pluginIssues, ...planIssues)
  if (strict) {
    const why = process.env.NODE_ENV === 'production' ? 'NODE_ENV=production' : '--strict'
    for (const p of plan.previews)
      issues.push({ path: p.label, message: `would run in preview mode (${p.reason}); ${why} requires credentials` })
  }
  const warnings = [...shapeWarnings(config.recipes), ...slackLinkWarnings(config.recipes)]
  if (warningsAsErrors) issues.push(...warnings)
  if (issues.length) {
    // Refused (a reload of a broken config, too): the plugins just loaded must not keep anything open.
    await registry.close()
    throw new ConfigError(issues, filepath)
  }
  // Refused configs never get here: the running config's secrets stay masked.
  maskSecretsOf(config)
  return { config, registry, plan, renderer, warnings }
}

/** What `start` says before it runs a setup (and again after a reload): steps that will only preview, and likely mistakes. */
export function warnAbout({ plan, warnings }: Pick<Setup, 'plan' | 'warnings'>, log: Logger): void {
  for (const p of plan.previews)
    log.warn({ step: p.label, reason: p.reason }, `preview mode: ${p.label} will only log what it would send (${p.reason})`)
  for (const w of warnings) log.warn({ path: w.path }, `${w.path}: ${w.message}`)
}
