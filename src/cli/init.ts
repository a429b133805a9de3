/**
 * `init`: start a project that uses audiorista-runner as a dependency. The
 * files come from this package: `scaffold/` for the config and the tests, and
 * the examples the package already ships (`plugins/example.ts`,
 * `recipes/templates/`), so there is one copy of each.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SEARCH_PLACES } from '../config/load.js'
import { RunnerError } from '../errors.js'
import { entryAt, linkAt, linkedFolders, type PlannedFile, writeAllOrNothing } from './init-write.js'
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

/**
 * `init [--force] [--dir DIR]`: scaffold a project; refuse, writing nothing, when a file would be
 * overwritten. Nothing is written through a symbolic link: a linked folder is refused (even with
 * --force), a linked file is in the way like a file, and --force replaces the link, never its target.
 */
export function initCommand({ force = false, dir = '.' }: InitOptions): void {
  try {
    const root = resolve(dir)
    refuseLinkedFolders(root)
    if (!force) refuseToOverwrite(root)
    const files: PlannedFile[] = SCAFFOLD.map(({ to, from }) => ({ to, data: readFileSync(join(PACKAGE_ROOT, from)) }))
    const ignore = ignoreDataDir(root)
    writeAllOrNothing(root, ignore.write ? [...files, ignore.write] : files)
    process.stdout.write(`${summary(root, ignore.status)}\n`)
  } catch (err) {
    reportError(err)
  }
}

/** A folder that is a link would take the files elsewhere: outside --dir, into a folder shared with others. */
function refuseLinkedFolders(root: string): void {
  const links = linkedFolders(root, [...SCAFFOLD.map((f) => f.to), '.gitignore'])
  if (!links.length) return
  throw new RunnerError(
    'init_linked_folder',
    `init writes only into real folders, and these in ${root} are symbolic links:\n${links.map((l) => `  ${l}`).join('\n')}\nNothing was written. Remove the links, or scaffold into another folder with --dir.`,
  )
}

/** Something is at `path` (a file, a folder, a link, even one whose target is gone). */
const present = (root: string, path: string) => entryAt(join(root, path)) !== undefined

/** Every file that is in the way at once, so one `--force` (or one clean-up) settles it. */
function refuseToOverwrite(root: string): void {
  const existing = SCAFFOLD.map((f) => f.to).filter((f) => present(root, f))
  // Another config would be shadowed by (or shadow) the new one: cosmiconfig takes the first it finds.
  const configs = SEARCH_PLACES.filter((f) => f !== 'package.json' && f !== 'audiorista.config.ts' && existsSync(join(root, f)))
  const lines = [
    ...existing.map((f) => `  ${linkAt(root, f) ? `${linkAt(root, f)}: --force replaces the link, not its target` : f}`),
    ...configs.map((f) => `  ${f} (a config: audiorista.config.ts would take its place)`),
  ]
  if (!lines.length) return
  throw new RunnerError(
    'init_exists',
    `init would overwrite files in ${root}:\n${lines.join('\n')}\nNothing was written. Run again with --force to overwrite them.`,
  )
}

type IgnoreStatus = 'created' | 'added' | 'present' | 'linked'

/** Adds `.audiorista/` (the store, the generated key and admin token) to `.gitignore`, once; a linked one is left alone. */
function ignoreDataDir(root: string): { status: IgnoreStatus; write?: PlannedFile } {
  const file = join(root, '.gitignore')
  if (!present(root, '.gitignore')) return { status: 'created', write: { to: '.gitignore', data: `${DATA_DIR}\n` } }
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const ignored = text.split(/\r?\n/).some((line) => /^\/?\.audiorista\/?$/.test(line.trim()))
  if (ignored) return { status: 'present' }
  if (linkAt(root, '.gitignore')) return { status: 'linked' }
  return { status: 'added', write: { to: '.gitignore', data: `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${DATA_DIR}\n` } }
}

function summary(root: string, ignore: IgnoreStatus): string {
  const width = Math.max(...SCAFFOLD.map((f) => f.to.length)) + 2
  const out = [`Created in ${root}:`, ...SCAFFOLD.map((f) => `  ${f.to.padEnd(width)}${f.about}`)]
  const gitignore = {
    created: 'created, ignoring .audiorista/',
    added: 'added .audiorista/',
    present: 'already ignores .audiorista/',
    linked: 'is a link: not changed; add .audiorista/ to it yourself',
  }
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
