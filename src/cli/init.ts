/**
 * `init`: start a project that uses audiorista-runner as a dependency. The
 * files come from this package: `scaffold/` for the config and the tests, and
 * the examples the package already ships (`plugins/example.ts`,
 * `recipes/templates/`), so there is one copy of each.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SEARCH_PLACES } from '../config/load.js'
import { RunnerError } from '../errors.js'
import { reportError } from './output.js'

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DATA_DIR = '.audiorista/'

/** What `init` writes: the file in the user's folder, its source in this package, and what it is for. */
export const SCAFFOLD = [
  { to: 'audiorista.config.ts', from: 'scaffold/audiorista.config.ts', about: 'your recipes (the mission recipe commented out)' },
  { to: 'recipes/templates/creator-ready.hbs', from: 'recipes/templates/creator-ready.hbs', about: "the creator email's HTML body" },
  { to: 'recipes/templates/creator-ready.text.hbs', from: 'recipes/templates/creator-ready.text.hbs', about: 'and its text body' },
  { to: 'plugins/example.ts', from: 'plugins/example.ts', about: 'your own action (Discord), loaded from plugins/' },
  { to: 'test/recipes.test.ts', from: 'scaffold/test/recipes.test.ts', about: 'tests of your recipes, for vitest' },
  { to: 'test/example-plugin.test.ts', from: 'scaffold/test/example-plugin.test.ts', about: 'and of your action' },
] as const

export interface InitOptions {
  /** Overwrite files that exist. */
  force?: boolean
  /** Folder to scaffold (default: the current folder); created when missing. */
  dir?: string
}

/** `init [--force] [--dir DIR]`: scaffold a project; refuse, writing nothing, when a file would be overwritten. */
export function initCommand({ force = false, dir = '.' }: InitOptions): void {
  try {
    const root = resolve(dir)
    if (!force) refuseToOverwrite(root)
    for (const { to, from } of SCAFFOLD) {
      mkdirSync(dirname(join(root, to)), { recursive: true })
      // Written, not copied: a copy would keep the package's file mode (read-only in some installs).
      writeFileSync(join(root, to), readFileSync(join(PACKAGE_ROOT, from)))
    }
    const ignore = ignoreDataDir(root)
    process.stdout.write(`${summary(root, ignore)}\n`)
  } catch (err) {
    reportError(err)
  }
}

/** Every file that is in the way at once, so one `--force` (or one clean-up) settles it. */
function refuseToOverwrite(root: string): void {
  const existing = SCAFFOLD.map((f) => f.to).filter((f) => existsSync(join(root, f)))
  // Another config would be shadowed by (or shadow) the new one: cosmiconfig takes the first it finds.
  const configs = SEARCH_PLACES.filter((f) => f !== 'package.json' && f !== 'audiorista.config.ts' && existsSync(join(root, f)))
  const lines = [...existing.map((f) => `  ${f}`), ...configs.map((f) => `  ${f} (a config: audiorista.config.ts would take its place)`)]
  if (!lines.length) return
  throw new RunnerError(
    'init_exists',
    `init would overwrite files in ${root}:\n${lines.join('\n')}\nNothing was written. Run again with --force to overwrite them.`,
  )
}

/** Adds `.audiorista/` (the store, the generated key and admin token) to `.gitignore`, once. */
function ignoreDataDir(root: string): 'created' | 'added' | 'present' {
  const file = join(root, '.gitignore')
  if (!existsSync(file)) {
    appendFileSync(file, `${DATA_DIR}\n`)
    return 'created'
  }
  const text = readFileSync(file, 'utf8')
  const ignored = text.split(/\r?\n/).some((line) => /^\/?\.audiorista\/?$/.test(line.trim()))
  if (ignored) return 'present'
  appendFileSync(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}${DATA_DIR}\n`)
  return 'added'
}

function summary(root: string, ignore: ReturnType<typeof ignoreDataDir>): string {
  const width = Math.max(...SCAFFOLD.map((f) => f.to.length)) + 2
  const out = [`Created in ${root}:`, ...SCAFFOLD.map((f) => `  ${f.to.padEnd(width)}${f.about}`)]
  const gitignore = { created: 'created, ignoring .audiorista/', added: 'added .audiorista/', present: 'already ignores .audiorista/' }
  out.push(`  ${'.gitignore'.padEnd(width)}${gitignore[ignore]} (the store, the generated key and admin token)`, '', 'Next:')
  const rel = relative(process.cwd(), root)
  if (rel) out.push(`  cd ${rel}`)
  // `npx audiorista-runner init` also works before an install; the config and the test import the package.
  if (!dependsOn(root, 'audiorista-runner')) out.push('  npm i audiorista-runner          so your editor and the tests find it')
  out.push(
    '  npx audiorista-runner check      list your recipes, or every problem',
    '  npx audiorista-runner start      receive webhooks on port 8787 (prints the URLs and the key)',
    dependsOn(root, 'vitest')
      ? '  npx vitest                       test your recipes'
      : '  npm i -D vitest && npx vitest    test your recipes',
  )
  return out.join('\n')
}

/** Whether the folder's package.json lists `name` as a dependency. */
function dependsOn(root: string, name: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
    return Boolean(pkg.dependencies?.[name] ?? pkg.devDependencies?.[name])
  } catch {
    return false
  }
}
