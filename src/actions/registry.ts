import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parseDuration } from '../duration.js'
import type { ConfigIssue } from '../errors.js'
import { importModule } from '../config/import-module.js'
import { validateWith } from '../schema.js'
import type { ActionPlugin, Logger } from '../types.js'
import type { ResolvedConfig } from '../config/resolved.js'

/** A plugin with its validated settings and resolved limits. */
export interface ActionEntry {
  plugin: ActionPlugin
  settings: unknown
  /** Set when credentials are missing: the action runs in preview mode. */
  previewReason?: string
  concurrency?: number
  rateLimit?: { limit: number; interval: number }
  /** `built-in` or the plugin file. */
  source: string
}

export interface ActionRegistry {
  get(name: string): ActionEntry | undefined
  names(): string[]
  /**
   * Let every plugin release what it keeps open, within 5 s; failures are
   * logged, never thrown. `keep`: a registry taking over (a reload), whose
   * plugins that are the very same objects (the built-ins) stay open.
   */
  close(log?: Logger, keep?: ActionRegistry): Promise<void>
}

const PLUGIN_FILE = /^(?!_|\.)(?!.*\.(test|spec|d)\.[cm]?[jt]s$).*\.(ts|mts|js|mjs|cjs)$/

/**
 * Registers the built-in actions and the users' plugins (files or folders in
 * `config.plugins`), then validates `actions.<name>` settings. Problems are
 * returned, not thrown, so that `check` can list them with the rest.
 */
export async function loadActions(
  config: ResolvedConfig,
  builtins: ActionPlugin[],
): Promise<{ registry: ActionRegistry; issues: ConfigIssue[] }> {
  const issues: ConfigIssue[] = []
  const plugins = new Map<string, { plugin: ActionPlugin; source: string }>()
  for (const plugin of builtins) plugins.set(plugin.name, { plugin, source: 'built-in' })

  for (const [i, entry] of config.plugins.entries()) {
    for (const file of pluginFiles(entry, i, issues, config)) {
      const where = relative(config.rootDir, file) || file
      let mod: unknown
      try {
        mod = await importModule(file)
      } catch (err) {
        issues.push({ path: `plugins[${i}]`, message: `${where} failed to load: ${(err as Error).message?.split('\n')[0]}` })
        continue
      }
      const plugin = mod as ActionPlugin
      if (!plugin || typeof plugin !== 'object' || typeof plugin.name !== 'string' || typeof plugin.run !== 'function') {
        issues.push({ path: `plugins[${i}]`, message: `${where} must export default definePlugin({ name, run })` })
        continue
      }
      const taken = plugins.get(plugin.name)
      if (taken) {
        issues.push({
          path: `plugins[${i}]`,
          message: `${where}: action name "${plugin.name}" is already used by ${taken.source === 'built-in' ? 'a built-in action' : taken.source}`,
        })
        continue
      }
      plugins.set(plugin.name, { plugin, source: where })
    }
  }

  for (const name of Object.keys(config.actions)) {
    if (!plugins.has(name))
      issues.push({ path: `actions.${name}`, message: `no action named "${name}" (available: ${[...plugins.keys()].join(', ')})` })
  }

  const entries = new Map<string, ActionEntry>()
  for (const [name, { plugin, source }] of plugins) {
    const { concurrency, rateLimit, ...raw } = config.actions[name] ?? {}
    const { value: settings, issues: settingIssues } = await validateWith(plugin.settings, raw, `actions.${name}`)
    issues.push(...settingIssues)
    const entry: ActionEntry = { plugin, settings, source }
    const reason = safeMissing(plugin, settings)
    if (reason) entry.previewReason = reason
    const c = concurrency ?? plugin.concurrency
    if (c !== undefined) entry.concurrency = c
    const rl = rateLimit ?? plugin.rateLimit
    if (rl) entry.rateLimit = { limit: rl.limit, interval: parseDuration(rl.interval) ?? 1000 }
    entries.set(name, entry)
  }
  const close = async (log?: Logger, keep?: ActionRegistry) => {
    await Promise.all(
      [...entries.values()].map(async ({ plugin }) => {
        if (!plugin.close || keep?.get(plugin.name)?.plugin === plugin) return
        const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('did not finish within 5 s')), 5000).unref())
        await Promise.race([Promise.resolve().then(() => plugin.close?.()), timeout]).catch((err: unknown) =>
          log?.warn({ plugin: plugin.name, error: (err as Error).message }, `plugin ${plugin.name}: close failed`),
        )
      }),
    )
  }
  return { registry: { get: (name) => entries.get(name), names: () => [...entries.keys()], close }, issues }
}

function pluginFiles(entry: string, i: number, issues: ConfigIssue[], config: ResolvedConfig): string[] {
  if (!existsSync(entry)) {
    // The default folder is optional; a path the user listed is not.
    const isDefault = config.plugins.length === 1 && relative(config.rootDir, entry) === 'plugins'
    if (!isDefault) issues.push({ path: `plugins[${i}]`, message: `${entry} does not exist` })
    return []
  }
  if (!statSync(entry).isDirectory()) return [entry]
  return readdirSync(entry)
    .filter((f) => PLUGIN_FILE.test(f))
    .sort()
    .map((f) => join(entry, f))
}

function safeMissing(plugin: ActionPlugin, settings: unknown): string | undefined {
  try {
    return plugin.missingCredentials?.(settings)
  } catch (err) {
    return `credentials check failed: ${(err as Error).message}`
  }
}
