import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { EVENT_TYPES, type ResolvedConfig } from './types.js'

/** Where the generated key is kept: `.audiorista/key` beside the config. */
export function keyFile(rootDir: string): string {
  return join(rootDir, '.audiorista', 'key')
}

/** The generated key, if one was generated before. */
export function readGeneratedKey(rootDir: string): string | undefined {
  const file = keyFile(rootDir)
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined
}

/**
 * With no key configured and no `allowUnauthenticated`, deliveries are not
 * left open: a random key is generated once, saved with owner-only access,
 * and used for every event. Returns the config to run with, and the key when
 * it was created just now (so that it can be shown once).
 */
export function ensureKey(config: ResolvedConfig): { config: ResolvedConfig; created?: string; file?: string } {
  if (config.auth.keys || config.auth.allowUnauthenticated) return { config }
  const file = keyFile(config.rootDir)
  let key = readGeneratedKey(config.rootDir)
  let created: string | undefined
  if (!key) {
    key = randomBytes(24).toString('base64url')
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${key}\n`, { mode: 0o600 })
    chmodSync(file, 0o600)
    created = key
  }
  const keys = Object.fromEntries(EVENT_TYPES.map((e) => [e, [key]])) as Record<(typeof EVENT_TYPES)[number], string[]>
  return { config: { ...config, auth: { ...config.auth, keys, generated: true } }, ...(created ? { created } : {}), file }
}
