/**
 * Loads users' TypeScript and JavaScript (the config, plugins) with jiti, so
 * `import { defineConfig } from 'audiorista-runner'` works wherever the file
 * lives and without a build step.
 */
import { accessSync, constants, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensurePrivateDir } from '../store/files.js'
import { DATA_DIR_ENV, resolveDataDir } from './data-dir.js'

let aliases: Record<string, string> | undefined

/**
 * This package's own entry points. From source (tests, tsx) they are the
 * `.ts` files next to this one; once built, the `.js` files in `dist/`.
 * Either way the user's file gets the same copy the runner is running.
 */
export function packageAliases(): Record<string, string> {
  if (aliases) return aliases
  const entry = (rel: string) => {
    for (const ext of ['.ts', '.js']) {
      const file = fileURLToPath(new URL(`../${rel}${ext}`, import.meta.url))
      if (existsSync(file)) return file
    }
    return undefined
  }
  aliases = {}
  const testing = entry('testing/index')
  if (testing) aliases['audiorista-runner/testing'] = testing
  const main = entry('index')
  if (main) aliases['audiorista-runner'] = main
  return aliases
}

/**
 * jiti keeps transpiled files so a restart skips the TypeScript transform.
 * They go to the nearest `node_modules/.cache` when this process may write
 * there; else into the data folder when `AUDIORISTA_DATA_DIR` names one (a
 * container's app folder is read-only, its data volume is not); else the
 * OS temp folder: never next to the user's files.
 */
export function cacheDir(from: string, env: NodeJS.ProcessEnv = process.env): string {
  const modules = nearestNodeModules(from)
  if (modules && writable(join(modules, '.cache', 'audiorista-runner'))) return join(modules, '.cache', 'audiorista-runner')
  if (env[DATA_DIR_ENV]?.trim()) {
    const cache = join(resolveDataDir(from, env), 'cache')
    try {
      // Private before jiti creates it open to others, like every folder the runner makes there.
      ensurePrivateDir(cache)
      return cache
    } catch {
      // Not creatable: the store says so clearly when it opens; the cache just goes elsewhere.
    }
  }
  return join(tmpdir(), 'audiorista-runner-cache')
}

function nearestNodeModules(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules'))) return join(dir, 'node_modules')
    if (dirname(dir) === dir) return undefined
  }
}

/** Whether this process may create or write `dir`: the nearest folder that exists must be writable (EROFS counts). */
function writable(dir: string): boolean {
  let at = dir
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at)
  try {
    accessSync(at, constants.W_OK)
    return true
  } catch {
    return false
  }
}

let shared: ReturnType<typeof import('jiti').createJiti> | undefined

/**
 * Imports a module's default export (or its namespace when it has none).
 * One jiti instance serves the config and every plugin, so the runner's own
 * entry (and zod behind it) is evaluated once, not once per file; the file
 * asked for is always evaluated afresh, so a reload sees edits.
 */
export async function importModule(file: string): Promise<unknown> {
  // Imported on first use: JSON and YAML configs never pay for it.
  if (!shared) {
    const { createJiti } = await import('jiti')
    shared = createJiti(import.meta.url, {
      alias: packageAliases(),
      fsCache: cacheDir(dirname(file)),
      moduleCache: true,
      interopDefault: true,
    })
  }
  const cache = shared.cache
  // Evaluated afresh with the files of the user's it imported (recipes, helpers): a reload sees their edits too.
  for (const dep of [file, ...(imported.get(file) ?? [])]) delete cache[dep]
  const before = new Set(Object.keys(cache))
  try {
    return await shared.import(file, { default: true })
  } finally {
    const own = packageRoot()
    const added = Object.keys(cache).filter(
      (f) => !before.has(f) && f !== file && !f.includes(`${sep}node_modules${sep}`) && !f.startsWith(own),
    )
    imported.set(file, added)
  }
}

/** The user's files each imported module loaded (itself aside): what to evaluate afresh, and to watch. */
const imported = new Map<string, string[]>()

/** Every file of the user's that `importModule` has loaded so far: the config, plugins, and what they import. */
export function importedFiles(): string[] {
  return [...new Set([...imported.keys(), ...[...imported.values()].flat()])]
}

/** This package's own code (src/ or dist/), which a user's file imports but never edits. */
function packageRoot(): string {
  return fileURLToPath(new URL('../', import.meta.url))
}
