/**
 * Watches the config and what it brings in (recipe modules, templates,
 * plugins) and calls back once edits settle. chokidar watches the files and
 * folders that exist, so a file replaced by an editor (written to a temp
 * file, then renamed over) is seen like one written in place; bare fs.watch
 * watchers see module files appear beside the user's modules, and missing
 * paths appear (see below).
 */
import { existsSync, type FSWatcher, watch as fsWatch } from 'node:fs'
import { dirname, extname, isAbsolute, join, relative } from 'node:path'
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
  let first: string | undefined
  let timer: NodeJS.Timeout | undefined
  const changed = (path: string) => {
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

  // What is asked for; what of it exists (watched by chokidar); what does not (yet).
  let files = new Set<string>()
  let watched = new Set<string>()
  let missing: string[] = []
  let moduleFolders = new Set<string>()

  // The paths that exist, through chokidar (file and folder events, editors' renames). A missing path is
  // not given to it: chokidar would watch its parent and re-read it after every write in it, and the
  // project folder may hold a SQLite store or a log written thousands of times a second.
  const deep = watch([], { ignoreInitial: true, ignored: (path: string) => IGNORED.test(inProject(path)), atomic: true })
  /** A change that matters: a watched path, or inside one. */
  const relevant = (path: string) => files.has(path) || [...files].some((f) => path.startsWith(`${f}/`))
  deep
    .on('all', (event, path) => {
      if (!relevant(path)) return
      // A watched path gone: chokidar drops it, so it is watched again (or its folder, bare) at once.
      if ((event === 'unlink' || event === 'unlinkDir') && watched.has(path)) {
        watched.delete(path)
        sync()
      }
      changed(path)
    })
    .on('error', failed)

  // Folders watched with a bare fs.watch, which reads no directory and stats no file: the folders of the
  // user's modules (one level, module files: a file the config has just started to import, and that
  // failed to load, is seen once it is fixed), and the nearest existing folder above each missing path
  // (its next part appearing: a plugins/ folder made after start).
  const bare = new Map<string, FSWatcher>()
  const onBare = (folder: string, name: string | null) => {
    if (!name) return
    const path = join(folder, name)
    if (IGNORED.test(inProject(path))) return
    if (missing.some((m) => m === path || m.startsWith(`${path}/`))) {
      sync()
      changed(path)
    } else if (moduleFolders.has(folder) && MODULE.has(extname(name))) changed(path)
  }
  const watchBare = (folder: string) => {
    try {
      const w = fsWatch(folder, { persistent: false }, (_event, name) => onBare(folder, name))
      w.on('error', failed)
      bare.set(folder, w)
    } catch (err) {
      failed(err)
    }
  }

  /** Brings both kinds of watch in line with what `paths()` and `modules()` list, and what exists, now. */
  function sync(): void {
    files = new Set(paths())
    const exists = [...files].filter((p) => existsSync(p))
    missing = [...files].filter((p) => !existsSync(p))
    const next = new Set(exists)
    const gone = [...watched].filter((p) => !next.has(p))
    const added = exists.filter((p) => !watched.has(p))
    if (gone.length) deep.unwatch(gone)
    if (added.length) deep.add(added)
    watched = next
    moduleFolders = new Set(modules().map((m) => dirname(m)))
    const folders = new Set([...moduleFolders, ...missing.map(existingAncestor)])
    for (const [folder, w] of bare)
      if (!folders.has(folder)) {
        w.close()
        bare.delete(folder)
      }
    for (const folder of folders) if (!bare.has(folder)) watchBare(folder)
  }
  sync()
  // chokidar says ready once what it was given is scanned; given nothing, it never does.
  if (watched.size > 0) await new Promise<void>((resolve) => deep.once('ready', () => resolve()))
  return {
    refresh: sync,
    async close() {
      clearTimeout(timer)
      for (const w of bare.values()) w.close()
      bare.clear()
      await deep.close()
    },
  }
}

/** The nearest folder above `path` that exists. */
function existingAncestor(path: string): string {
  let dir = dirname(path)
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}
