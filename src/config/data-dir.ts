import { join, resolve } from 'node:path'

/** The variable that moves the runner's data folder (a container's volume, systemd's StateDirectory). */
export const DATA_DIR_ENV = 'AUDIORISTA_DATA_DIR'

/**
 * Where the runner writes: the SQLite store (unless `store.path` says
 * otherwise), the generated key and admin token. `AUDIORISTA_DATA_DIR` is
 * resolved against the working folder, as a shell user expects; unset or
 * empty, it is `.audiorista/` beside the config.
 */
export function resolveDataDir(rootDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[DATA_DIR_ENV]?.trim()
  return fromEnv ? resolve(fromEnv) : join(rootDir, '.audiorista')
}
