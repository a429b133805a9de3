/**
 * Loads users' TypeScript and JavaScript (the config, plugins) with jiti, so
 * `import { defineConfig } from 'audiorista-runner'` works wherever the file
 * lives and without a build step.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freshLoad } from './fresh-modules.js'
import { cacheDir, privateFiles } from './transpile-cache.js'

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

let shared: ReturnType<typeof import('jiti').createJiti> | undefined
let transpiled: string | false = false

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
    transpiled = cacheDir(dirname(file))
    shared = createJiti(import.meta.url, {
      alias: packageAliases(),
      fsCache: transpiled,
      moduleCache: true,
      interopDefault: true,
    })
  }
  const jiti = shared
  const cache = jiti.cache
  // Evaluated afresh with the files of the user's it imported (recipes, helpers): a reload sees their edits too.
  for (const dep of [file, ...(imported.get(file) ?? [])]) delete cache[dep]
  const before = new Set(Object.keys(cache))
  const own = packageRoot()
  let native: string[] = []
  try {
    return await freshLoad(
      own,
      () => jiti.import(file, { default: true }),
      (files) => (native = files),
      imported.has(file) && evaluatedByNode(file),
      imported.has(file) || evaluatedByNode(file),
    )
  } finally {
    privateFiles(transpiled)
    // Transpiled files are in jiti's cache (Node's CommonJS one, where `.cjs` files go too); ES modules Node loaded itself, the hook saw.
    const added = Object.keys(cache).filter((f) => !before.has(f) && !f.includes(`${sep}node_modules${sep}`) && !f.startsWith(own))
    imported.set(
      file,
      [...new Set([...added, ...native])].filter((f) => f !== file),
    )
  }
}

/**
 * Whether Node evaluates this file itself rather than jiti: `.mjs`, and `.js` in a
 * `"type": "module"` package. Its imports are then seen only through the hook.
 */
function evaluatedByNode(file: string): boolean {
  if (file.endsWith('.mjs')) return true
  if (!file.endsWith('.js')) return false
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown }).type === 'module'
    } catch {
      // No package.json here (or not JSON): the next folder up decides, as in Node.
      if (dirname(dir) === dir) return false
    }
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
