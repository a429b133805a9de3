/**
 * Loads users' TypeScript and JavaScript (the config, plugins) with jiti, so
 * `import { defineConfig } from 'audiorista-runner'` works wherever the file
 * lives and without a build step.
 */
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

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
 * They go to the nearest `node_modules/.cache`, else the OS temp folder:
 * never next to the user's files.
 */
export function cacheDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules'))) return join(dir, 'node_modules', '.cache', 'audiorista-runner')
    if (dirname(dir) === dir) return join(tmpdir(), 'audiorista-runner-cache')
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
  delete shared.cache[file]
  return shared.import(file, { default: true })
}
