import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ensurePrivateDir, tightenFile, writePrivateFile } from './store/files.js'
import { EVENT_TYPES } from './types.js'
import type { ResolvedConfig } from './config/resolved.js'

/** Where the generated key is kept: `.audiorista/key` beside the config. */
export function keyFile(rootDir: string): string {
  return join(rootDir, '.audiorista', 'key')
}

/** The generated key, if one was generated before. */
export function readGeneratedKey(rootDir: string): string | undefined {
  const file = keyFile(rootDir)
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined
}

export interface EnsuredKey {
  config: ResolvedConfig
  /** The key, when it was created just now (to show once). */
  created?: string
  file?: string
  /** About the key's folder, when it existed already and is open to others. */
  warnings: string[]
}

/**
 * With no key configured and no `allowUnauthenticated`, deliveries are not
 * left open: a random key is generated once, saved with owner-only access,
 * and used for every event.
 */
export function ensureKey(config: ResolvedConfig): EnsuredKey {
  if (config.auth.keys || config.auth.allowUnauthenticated) return { config, warnings: [] }
  const file = keyFile(config.rootDir)
  const { warnings } = ensurePrivateDir(dirname(file))
  let key = readGeneratedKey(config.rootDir)
  let created: string | undefined
  if (key) {
    // Older versions could leave it readable by others.
    tightenFile(file)
  } else {
    key = randomBytes(24).toString('base64url')
    writePrivateFile(file, `${key}\n`)
    created = key
  }
  const keys = Object.fromEntries(EVENT_TYPES.map((e) => [e, [key]])) as Record<(typeof EVENT_TYPES)[number], string[]>
  // Each replica would generate its own key and refuse the others' deliveries.
  if (config.store.driver === 'redis')
    warnings.push(
      `no key is configured, so this replica uses the one generated in ${file}; replicas sharing a Redis store need one key: set auth.keys (keys: [process.env.AUDIORISTA_KEY]) to the same key on every replica`,
    )
  return { config: { ...config, auth: { ...config.auth, keys, generated: true } }, ...(created ? { created } : {}), file, warnings }
}
