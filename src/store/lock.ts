import { randomBytes } from 'node:crypto'
import { readFileSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs'
import { hostname } from 'node:os'
import Database from 'better-sqlite3'
import { RunnerError } from '../errors.js'
import { privateFile, writePrivateFile } from './files.js'

/** Who holds the lock, for the message a second runner prints (the lock itself is the kernel's). */
interface Owner {
  id: string
  host: string
  pid: number
  since: string
}

/**
 * One runner per store: two would both resume the same cut-off steps. The
 * lock is a kernel lock, not a pid in a file: `<store>.lock` is an empty
 * SQLite database held in an exclusive transaction for the life of the
 * process, so SQLite takes a POSIX (fcntl) lock on it. The kernel keeps it
 * across pid namespaces (two containers on one volume are both pid 1; a pid
 * says nothing there), NFS keeps it across hosts, and it is released when the
 * process dies, however it dies: a crashed runner's lock is free at once.
 *
 * The file is never removed: a runner that opened it just before it was
 * unlinked would lock a file nobody else sees. Who holds it is written to
 * `<store>.owner` (information only), removed on a clean release.
 */
export function lockStore(storePath: string): () => void {
  if (storePath === ':memory:') return () => {}
  const file = `${storePath}.lock`
  const ownerFile = `${storePath}.owner`
  clearOldPidLock(file, storePath)
  privateFile(file)
  const db = holdExclusive(file, storePath, ownerFile)
  const owner: Owner = { id: randomBytes(9).toString('base64url'), host: hostname(), pid: process.pid, since: new Date().toISOString() }
  try {
    // Whole or not at all: a second runner may read it at any moment.
    const tmp = `${ownerFile}.${owner.id}.tmp`
    writePrivateFile(tmp, `${JSON.stringify(owner)}\n`)
    renameSync(tmp, ownerFile)
  } catch (err) {
    db.close()
    throw err
  }
  let held = true
  return () => {
    if (!held) return
    held = false
    // Only our own record: after a crash, the next owner has written its own.
    if (readOwner(ownerFile)?.id === owner.id) rmSync(ownerFile, { force: true })
    db.close()
  }
}

/** Opens the lock database and takes its exclusive lock, without waiting: a held one is another runner's. */
function holdExclusive(file: string, storePath: string, ownerFile: string): Database.Database {
  let db: Database.Database | undefined
  try {
    db = new Database(file, { timeout: 0 })
    // No journal file beside it (nothing is ever written), and the lock is kept once taken.
    db.pragma('journal_mode = MEMORY')
    db.pragma('locking_mode = EXCLUSIVE')
    db.exec('BEGIN EXCLUSIVE')
    return db
  } catch (err) {
    db?.close()
    const code = (err as { code?: string }).code
    if (code === 'SQLITE_BUSY') throw lockedError(storePath, describe(readOwner(ownerFile)))
    throw new RunnerError(
      'store_lock_failed',
      `cannot lock ${storePath} through ${file} (${(err as Error).message}); the runner needs a file system with POSIX locks (a local disk, a volume, NFS with locking)`,
      { cause: err },
    )
  }
}

const describe = (owner: Owner | undefined) => (owner ? ` (pid ${owner.pid} on host ${owner.host}, since ${owner.since})` : '')

function lockedError(storePath: string, who: string): RunnerError {
  return new RunnerError('store_locked', `another runner${who} is using ${storePath}; stop it first, or give this one its own store.path`)
}

function readOwner(ownerFile: string): Owner | undefined {
  try {
    const owner = JSON.parse(readFileSync(ownerFile, 'utf8')) as Partial<Owner>
    return typeof owner.id === 'string' && typeof owner.pid === 'number' ? (owner as Owner) : undefined
  } catch {
    // Missing (the first runner is still writing it, or stopped meanwhile) or torn: the message goes without it.
    return undefined
  }
}

/**
 * Versions before the kernel lock wrote their pid into `<store>.lock`. Ours is
 * always empty, so only a file with content is read (reading ours would open
 * and close it, and closing any descriptor of a file drops this process's
 * POSIX locks on it). A live old runner on this host is refused as before;
 * a stale pid is emptied in place, keeping the file the others lock.
 */
function clearOldPidLock(file: string, storePath: string): void {
  let size: number
  try {
    size = statSync(file).size
  } catch {
    return
  }
  if (size === 0 || size > 32) return
  const text = readFileSync(file, 'utf8').trim()
  if (!/^\d+$/.test(text)) return
  const pid = Number(text)
  if (pid !== process.pid && alive(pid)) throw lockedError(storePath, ` (pid ${pid}, an older version)`)
  truncateSync(file, 0)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
