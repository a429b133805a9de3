import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** How often the checkpointer copies the WAL back into the database file. */
const EVERY_MS = 250

export interface Checkpointer {
  /** Stops the thread (after its checkpoint in progress, if any). */
  stop(): Promise<void>
}

/**
 * WAL checkpoints off the thread that commits. SQLite's automatic checkpoint
 * runs inside whichever commit crosses 1,000 WAL pages, so about one ack in a
 * hundred waited for 4 MB to be copied and fsynced: commit p99 6.5-7.8 ms.
 * This thread runs `PRAGMA wal_checkpoint(PASSIVE)` on its own connection
 * every 250 ms, which never blocks a writer; the caller keeps its own
 * checkpoint only past 2,000 pages, since the WAL starts over only after a
 * checkpoint that no commit ran beside, and by then most pages are copied:
 * commit p99 0.39-0.41 ms, p99.9 10-12 ms (bench/wal-checkpoint.mjs). If the
 * thread fails, `onFailed` is called (the caller goes back to SQLite's
 * automatic checkpoint).
 */
export function startCheckpointer(path: string, onFailed: (err: unknown) => void): Checkpointer {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads')
     const Database = require(${JSON.stringify(sqlite)})
     const db = new Database(${JSON.stringify(path)}, { fileMustExist: true })
     db.pragma('busy_timeout = 5000')
     const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), ${EVERY_MS})
     parentPort.once('message', () => { clearInterval(timer); db.close(); parentPort.close() })`,
    { eval: true },
  )
  // Never what keeps the process alive: a process that dies takes it along, and SQLite needs no cleanup.
  worker.unref()
  let stopped = false
  const exited = new Promise<void>((resolve) => {
    worker.once('error', (err) => {
      if (!stopped) onFailed(err)
    })
    worker.once('exit', (code) => {
      if (!stopped && code !== 0) onFailed(new Error(`the checkpoint thread exited with ${code}`))
      resolve()
    })
  })
  return {
    async stop() {
      if (stopped) return exited
      stopped = true
      worker.postMessage('stop')
      const timer = setTimeout(() => void worker.terminate(), 2_000)
      await exited
      clearTimeout(timer)
    },
  }
}
