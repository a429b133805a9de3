import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { maskSecretsOf } from './redact.js'
import { ensurePrivateDir, tightenFile, writePrivateFile } from './store/files.js'
import { EVENT_TYPES } from './types.js'
import type { ResolvedConfig } from './config/resolved.js'

type DataDir = Pick<ResolvedConfig, 'dataDir'>

/** Where the generated key is kept: `key` in the data folder (`.audiorista/` beside the config, or `AUDIORISTA_DATA_DIR`). */
export function keyFile({ dataDir }: DataDir): string {
  return join(dataDir, 'key')
}

/** Where the generated admin token is kept: `admin-token` in the data folder. */
export function adminTokenFile({ dataDir }: DataDir): string {
  return join(dataDir, 'admin-token')
}

/** The generated key, if one was generated before. */
export function readGeneratedKey(config: DataDir): string | undefined {
  return readSecret(keyFile(config))
}

function readSecret(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined
}

interface GeneratedSecret {
  value: string
  /** True when it was generated just now (to show once). */
  created: boolean
  /** About the secret's folder, when it existed already and is open to others. */
  warnings: string[]
}

/** The secret kept in `file`, or a new random one saved there with owner-only access. */
function generatedSecret(file: string): GeneratedSecret {
  const { warnings } = ensurePrivateDir(dirname(file))
  const kept = readSecret(file)
  if (kept) {
    // Older versions could leave it readable by others.
    tightenFile(file)
    return { value: kept, created: false, warnings }
  }
  const value = randomBytes(24).toString('base64url')
  writePrivateFile(file, `${value}\n`)
  return { value, created: true, warnings }
}

export interface EnsuredSecret {
  config: ResolvedConfig
  /** The secret, when it was created just now (to show once). */
  created?: string
  file?: string
  /** About the secret's folder, when it existed already and is open to others. */
  warnings: string[]
}

/**
 * With no key configured and no `allowUnauthenticated`, deliveries are not
 * left open: a random key is generated once, saved with owner-only access,
 * and used for every event.
 */
export function ensureKey(config: ResolvedConfig): EnsuredSecret {
  if (config.auth.keys || config.auth.allowUnauthenticated) return { config, warnings: [] }
  const file = keyFile(config)
  const { value, created, warnings } = generatedSecret(file)
  const keys = Object.fromEntries(EVENT_TYPES.map((e) => [e, [value]])) as Record<(typeof EVENT_TYPES)[number], string[]>
  // Each replica would generate its own key and refuse the others' deliveries.
  if (config.store.driver === 'redis')
    warnings.push(
      `no key is configured, so this replica uses the one generated in ${file}; replicas sharing a Redis store need one key: set auth.keys (keys: [process.env.AUDIORISTA_KEY]) to the same key on every replica`,
    )
  return { config: { ...config, auth: { ...config.auth, keys, generated: true } }, ...(created ? { created: value } : {}), file, warnings }
}

/**
 * The console can retry and replay, so it is never open: without a token in
 * the config or `AUDIORISTA_ADMIN_TOKEN`, one is generated once into
 * `admin-token` in the data folder (owner-only), like the webhook key.
 */
export function ensureAdminToken(config: ResolvedConfig): EnsuredSecret {
  if (!config.admin.enabled || config.admin.token) return { config, warnings: [] }
  const file = adminTokenFile(config)
  const { value, created, warnings } = generatedSecret(file)
  if (config.store.driver === 'redis')
    warnings.push(
      `no admin token is configured, so this replica uses the one generated in ${file}; set AUDIORISTA_ADMIN_TOKEN to the same value on every replica to log in to any of them`,
    )
  const admin = { ...config.admin, token: value, tokenFrom: 'generated' as const }
  return { config: { ...config, admin }, ...(created ? { created: value } : {}), file, warnings }
}

/** The config with both secrets in place (the key, then the admin token), and what each step made or warned of. */
export function ensureSecrets(config: ResolvedConfig): { config: ResolvedConfig; key: EnsuredSecret; admin: EnsuredSecret } {
  const key = ensureKey(config)
  const admin = ensureAdminToken(key.config)
  // A generated key or token is a secret like a configured one: masked from now on (start and every reload).
  maskSecretsOf(admin.config)
  return { config: admin.config, key, admin }
}
