/**
 * Watches the config and what it brings in (recipe modules, templates,
 * plugins) and calls back once edits settle. chokidar watches the folders,
 * so a file replaced by an editor (written to a temp file, then renamed over)
 * is seen like one written in place.
 */
import { dirname, extname, isAbsolute, relative } from 'node:path'
import type { Logger } from '../types.js'

export interface WatchOptions {
  /** Files to watch, and folders to watch with everything in them (templates, plugins). */
  paths: () => string[]
  /**
   * The user's module files (the config and what it imports): their folders
   * are watched for module files too, so a file the config has just started
   * to import, and that failed to load, is seen once it is fixed.
   */
  modules: () => string[]
  /** Called with the first path that changed, once nothing has changed for `settle` ms. */
  onChange: (path: string) => void
  /** Quiet time before a reload: editors and `git checkout` write several files in a row. */
  settle?: number
  /** The project folder: paths are shown, and ignored, relative to it. */
  rootDir: string
  log: Logger
}

export interface Watcher {
  /** Watch what `paths()` and `modules()` list now (after a reload brought in other files). */
  refresh(): void
  close(): Promise<void>
}

/** Never reloaded for: the runner's own data, dependencies, editor and VCS droppings. */
const IGNORED = /(^|[/\\])(\.audiorista|node_modules|\.git|dist)([/\\]|$)|(~|\.swp|\.swx|\.tmp)$|(^|[/\\])(\.#|#)[^/\\]*$/
const MODULE = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'])

export async function watchConfig({ paths, modules, onChange, settle = 150, rootDir, log }: WatchOptions): Promise<Watcher> {
  // Imported on first use: one-shot commands and embedding never pay for it.
  const { watch } = await import('chokidar')
  const inProject = (path: string) => {
    const rel = relative(rootDir, path)
    return rel.startsWith('..') || isAbsolute(rel) ? path : rel
  }
  let files = new Set(paths())
  let folders = new Set(modules().map((m) => dirname(m)))
  let first: string | undefined
  let timer: NodeJS.Timeout | undefined
  const options = { ignoreInitial: true, ignored: (path: string) => IGNORED.test(inProject(path)), atomic: true }
  // Files, and folders with all that is in them (templates, plugins) ...
  const deep = watch([...files], options)
  // ... and the folders of the user's modules, one level only: the project folder holds much else.
  const shallow = watch([...folders], { ...options, depth: 0 })

  /** A change that matters: a watched path (or inside one), or a module file beside the user's modules. */
  const relevant = (path: string) =>
    files.has(path) || [...files].some((f) => path.startsWith(`${f}/`)) || (folders.has(dirname(path)) && MODULE.has(extname(path)))
  const changed = (_event: string, path: string) => {
    if (!relevant(path)) return
    first ??= inProject(path)
    clearTimeout(timer)
    timer = setTimeout(() => {
      const path = first!
      first = undefined
      onChange(path)
    }, settle)
  }
  const failed = (err: unknown) => {
    // A path that does not exist (yet) is not a problem; running out of watches is, and says so.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err }, 'watching the config for changes failed; reload with SIGHUP')
  }
  for (const w of [deep, shallow]) w.on('all', changed).on('error', failed)

  function update(watcher: typeof deep, before: Set<string>, after: Set<string>): void {
    const gone = [...before].filter((p) => !after.has(p))
    const added = [...after].filter((p) => !before.has(p))
    if (gone.length) watcher.unwatch(gone)
    if (added.length) watcher.add(added)
  }
  await Promise.all([deep, shallow].map((w) => new Promise<void>((resolve) => w.once('ready', () => resolve()))))
  return {
    refresh() {
      const nextFiles = new Set(paths())
      const nextFolders = new Set(modules().map((m) => dirname(m)))
      update(deep, files, nextFiles)
      update(shallow, folders, nextFolders)
      files = nextFiles
      folders = nextFolders
    },
    async close() {
      clearTimeout(timer)
      await Promise.all([deep.close(), shallow.close()])
    },
  }
}
