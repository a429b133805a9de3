import { readFileSync, rmSync } from 'node:fs'
import { RunnerError } from '../errors.js'
import { writePrivateFile } from './files.js'

/**
 * One runner per store: two would both resume the same cut-off steps. A
 * lock file holds the owner's pid; a stale one (its process is gone) is
 * taken over.
 */
export function lockStore(storePath: string): () => void {
  if (storePath === ':memory:') return () => {}
  const file = `${storePath}.lock`
  for (let tries = 0; tries < 2; tries++) {
    try {
      writePrivateFile(file, String(process.pid), 'wx')
      return () => rmSync(file, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number(readFileSync(file, 'utf8').trim())
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new RunnerError(
          'store_locked',
          `another runner (pid ${pid}) is using ${storePath}; stop it first, or give this one its own store.path`,
        )
      }
      rmSync(file, { force: true })
    }
  }
  throw new RunnerError('store_locked', `could not lock ${storePath}`)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
