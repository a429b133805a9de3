/**
 * How `init` writes: never through a symbolic link, and all or nothing.
 * Every file is first written under a temporary name in its own folder,
 * then renamed over its place: a rename replaces the directory entry (a
 * link there is replaced, its target never touched) and a failure before
 * the renames leaves nothing behind.
 */
import { randomBytes } from 'node:crypto'
import { type Stats, lstatSync, mkdirSync, readlinkSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { RunnerError } from '../errors.js'

/** A file to write: its path under the root (`/`-separated) and its bytes. */
export interface PlannedFile {
  to: string
  data: string | Buffer
}

/** What is at `path` (not following a link), or undefined when nothing is, also when a parent is a file. */
export function entryAt(path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw err
  }
}

/** The symbolic link at `path`, as `path (a link to target)`, or undefined when it is none (or nothing). */
export function linkAt(root: string, path: string): string | undefined {
  const stat = entryAt(join(root, path))
  if (!stat?.isSymbolicLink()) return undefined
  return `${path} (a link to ${readlinkSync(join(root, path))})`
}

/** Every folder under `root` that the files would be written into and that is a symbolic link. */
export function linkedFolders(root: string, paths: readonly string[]): string[] {
  const folders = new Set(
    paths.flatMap((p) =>
      p
        .split('/')
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
    ),
  )
  return [...folders].map((f) => linkAt(root, f)).filter((l): l is string => l !== undefined)
}

/** Writes every file or, on any failure, none: what was written (files, folders made) is removed again. */
export function writeAllOrNothing(root: string, files: readonly PlannedFile[]): void {
  const made: string[] = []
  const staged: Array<{ tmp: string; target: string }> = []
  try {
    made.push(...makeFolders(root))
    for (const { to, data } of files) {
      const target = join(root, to)
      made.push(...makeFolders(dirname(target)))
      if (entryAt(target)?.isDirectory())
        throw new RunnerError('init_folder_in_the_way', `init cannot write ${to} in ${root}: it is a folder. Nothing was written.`)
      const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`)
      // `wx`: a new file, never an existing one (nor a link planted under this name).
      writeFileSync(tmp, data, { flag: 'wx' })
      staged.push({ tmp, target })
    }
  } catch (err) {
    undo(staged, made)
    if (err instanceof RunnerError) throw err
    throw new RunnerError('init_failed', `init could not write into ${root}: ${(err as Error).message}. Nothing was written.`, {
      cause: err,
    })
  }
  // Renames do not fail for want of space or rights checked above; if one does, no temporary file stays.
  let renamed = 0
  try {
    for (const { tmp, target } of staged) {
      renameSync(tmp, target)
      renamed++
    }
  } catch (err) {
    undo(staged.slice(renamed), [])
    throw err
  }
}

/** Creates `dir` and its missing parents; returns those it created, outermost first. */
function makeFolders(dir: string): string[] {
  const missing: string[] = []
  for (let at = dir; entryAt(at) === undefined; at = dirname(at)) {
    missing.unshift(at)
    if (dirname(at) === at) break
  }
  for (const level of missing) mkdirSync(level)
  return missing
}

function undo(staged: Array<{ tmp: string }>, made: string[]): void {
  for (const { tmp } of staged) rmSync(tmp, { force: true })
  for (const dir of made.reverse()) {
    try {
      rmdirSync(dir)
    } catch {
      // Not empty: someone else put a file there meanwhile; theirs stays, and so does the folder.
    }
  }
}
