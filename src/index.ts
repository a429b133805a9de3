/**
 * The public API of audiorista-runner: what `audiorista.config.ts` and
 * plugins import.
 */
import type { Config } from './types.js'

export { definePlugin } from './plugin.js'
export { RunnerError, ConfigError, HttpError, PermanentError, RetryableError, StoreUnavailableError } from './errors.js'
export type { ConfigIssue } from './errors.js'
export { EVENT_TYPES } from './types.js'
export type * from './types.js'
export type { StandardSchemaV1 } from './standard-schema.js'
export { z } from 'zod'

/** Declare the runner's config with types and editor help. An identity function. */
export function defineConfig(config: Config): Config {
  return config
}
