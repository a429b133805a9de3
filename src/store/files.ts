import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { RunnerError } from '../errors.js'

/**
 * Events, run inputs, the key and the lock are the owner's only: folders
 * 0700, files 0600. Modes given to mkdir and open are cut by the umask and
 * never change what exists, so every mode here is set with chmod afterwards.
 */
const DIR_MODE = 0o700
const FILE_MODE = 0o600
/** Group or others may read or write: what a warning is about. */
const OPEN_TO_OTHERS = 0o066

/**
 * Creates `dir` and every missing folder above it as 0700. A folder that
 * exists already is the user's: it is left as is, with a warning when
 * group or others can read or write it.
 */
export function ensurePrivateDir(dir: string): { warnings: string[] } {
  const missing = missingLevels(resolve(dir))
  if (missing.length === 0) return { warnings: looseDirWarnings(dir) }
  for (const level of missing) {
    try {
      mkdirSync(level, { mode: DIR_MODE })
    } catch (err) {
      // Created meanwhile by someone else: theirs, not ours to change.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw notWritable(err, level, 'folder')
    }
    chmodSync(level, DIR_MODE)
  }
  return { warnings: [] }
}

/** Creates `file` empty as 0600 when it does not exist; an existing one that others may read becomes 0600. */
export function privateFile(file: string): void {
  try {
    closeSync(openPrivate(file, 'wx'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    tightenFile(file)
  }
}

/** An existing file that group or others may use becomes 0600 (older versions left 0644); a missing one stays missing. */
export function tightenFile(file: string): void {
  let mode: number
  try {
    mode = statSync(file).mode
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  if (mode & 0o077) chmodSync(file, FILE_MODE)
}

/** Writes `data` to a new (`wx`: fails with EEXIST when it exists) or truncated (`w`) file that is 0600 before the first byte. */
export function writePrivateFile(file: string, data: string, flag: 'wx' | 'w' = 'w'): void {
  const fd = openPrivate(file, flag)
  try {
    writeSync(fd, data)
  } finally {
    closeSync(fd)
  }
}

function openPrivate(file: string, flag: 'wx' | 'w'): number {
  let fd: number
  try {
    fd = openSync(file, flag, FILE_MODE)
  } catch (err) {
    throw notWritable(err, file, 'file')
  }
  try {
    // The umask may have cut the mode (0400), or `w` reopened a looser file.
    fchmodSync(fd, FILE_MODE)
  } catch (err) {
    closeSync(fd)
    throw err
  }
  return fd
}

/** `dir` and the folders above it that do not exist, outermost first. */
function missingLevels(dir: string): string[] {
  const missing: string[] = []
  for (let at = dir; !existsSync(at); at = dirname(at)) {
    missing.unshift(at)
    if (dirname(at) === at) break
  }
  return missing
}

function looseDirWarnings(dir: string): string[] {
  const mode = statSync(dir).mode & 0o777
  if (!(mode & OPEN_TO_OTHERS)) return []
  const shown = mode.toString(8).padStart(3, '0')
  return [`data folder ${dir} is readable or writable by group or others (mode ${shown}); it is left as is: run chmod 700 ${dir}`]
}

/**
 * A data folder this user may not write is the usual first-run mistake in a
 * container (a bind mount owned by root) or with a read-only app folder: say
 * where, as whom, and how to fix it, instead of a bare EACCES.
 */
function notWritable(err: unknown, path: string, kind: 'folder' | 'file'): unknown {
  const code = (err as NodeJS.ErrnoException).code
  if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') return err
  const why = code === 'EROFS' ? 'read-only file system' : 'permission denied'
  const who = process.getuid ? ` (uid ${process.getuid()})` : ''
  const what = kind === 'folder' ? `create the folder ${path}` : `write ${path}`
  return new RunnerError(
    'data_not_writable',
    `cannot ${what}: ${why}. The runner keeps its data there (store, key, admin token): make ${dirname(path)} writable by this user${who}, or set AUDIORISTA_DATA_DIR to a folder it may write (store.path moves the store alone)`,
    { cause: err },
  )
}
