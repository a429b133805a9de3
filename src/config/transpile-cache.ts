/**
 * Where jiti keeps transpiled config and plugin files. A transpiled config
 * holds its literal secrets (webhook keys, the admin token) and is run at the
 * next start, so the folder must be the runner's alone: `<data>/cache`, 0700,
 * owned by this user. A shared temp folder or `node_modules/.cache` would let
 * another local user read it, or plant a file that the runner then runs.
 */
import { chmodSync, lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { ensurePrivateDir } from '../store/files.js'
import { resolveDataDir } from './data-dir.js'

/** Group or others may write: someone else may already have put a file in it. */
const WRITABLE_BY_OTHERS = 0o022

/**
 * The private cache folder for a config in `rootDir`, or `false` (no cache:
 * every start transpiles again) when it cannot be made or is not safe.
 */
export function cacheDir(rootDir: string, env: NodeJS.ProcessEnv = process.env): string | false {
  const dir = join(resolveDataDir(rootDir, env), 'cache')
  try {
    ensurePrivateDir(dir)
    return isPrivate(dir) ? dir : false
  } catch {
    // Not creatable (a read-only data folder): the store says so when it opens; transpiling is only slower.
    return false
  }
}

/** A real folder (not a link), ours, that nobody else may write; one that others may only read is made 0700. */
function isPrivate(dir: string): boolean {
  const stat = lstatSync(dir)
  if (!stat.isDirectory()) return false
  if (process.getuid && stat.uid !== process.getuid()) return false
  if (stat.mode & WRITABLE_BY_OTHERS) return false
  if (stat.mode & 0o077) chmodSync(dir, 0o700)
  return true
}

/**
 * jiti writes its files with the process's umask (0644 as a rule): unreadable
 * to others inside the 0700 folder, but made 0600 like every other file of
 * the runner's, so that a copy of the folder (a backup, a moved volume)
 * stays private. Called after each load; the folder holds a few files.
 */
export function privateFiles(dir: string | false): void {
  if (!dir) return
  for (const name of readdirSync(dir)) {
    const file = join(dir, name)
    const stat = lstatSync(file)
    if (stat.isFile() && stat.mode & 0o077) chmodSync(file, 0o600)
  }
}
