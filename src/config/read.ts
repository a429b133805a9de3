import type { ResolvedConfig } from './resolved.js'
import { loadConfig, type LoadOptions } from './load.js'
import { resolveConfig } from './resolve.js'

/** Load and validate in one go, for commands that need only the config (`send`, `events`). Throws ConfigError. */
export async function readConfig(options: LoadOptions = {}): Promise<ResolvedConfig> {
  const { config, filepath, rootDir } = await loadConfig(options)
  return resolveConfig(config, { rootDir, ...(filepath ? { filepath } : {}), ...(options.env ? { env: options.env } : {}) })
}
