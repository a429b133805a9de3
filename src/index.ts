/**
 * The public API of audiorista-runner: what `audiorista.config.ts` and
 * plugins import, and `createRunner` to run it inside your own server.
 */
import type { AudioristaRunner, CreateRunnerOptions } from './embed.js'
import type { Config, EventType, Recipe } from './types.js'

export { definePlugin } from './plugin.js'
export { RunnerError, ConfigError, HttpError, PermanentError, RetryableError, StoreUnavailableError } from './errors.js'
export type { ConfigIssue } from './errors.js'
export { EVENT_TYPES } from './types.js'
export type * from './types.js'
export type * from './payload.js'
export type { StandardSchemaV1 } from './standard-schema.js'
export type { AudioristaRunner, CreateRunnerOptions, ReloadResult, WebhookHandler } from './embed.js'
export { z } from './zod.js'

/** Declare the runner's config with types and editor help. An identity function. */
export function defineConfig(config: Config): Config {
  return config
}

/**
 * Declare one recipe, typed by its events: with `on: 'title-ready'`, a `when`
 * or `if` function sees `ctx.payload` as a TitlePayload. An identity function.
 */
export function defineRecipe<E extends EventType>(recipe: Recipe<E>): Recipe<E> {
  return recipe
}

/**
 * Run the receiver and the recipes inside your own server:
 * `app.use('/webhooks', runner.webhooks)` (express) or
 * `http.createServer(runner.webhooks)`; `await runner.close()` to stop.
 */
export async function createRunner(options?: CreateRunnerOptions): Promise<AudioristaRunner> {
  // Loaded on first use: a config file imports this module too, and must not pay for the engine.
  const { createRunner: create } = await import('./embed.js')
  return create(options)
}
