/**
 * Diagnostic (not part of `npm run bench`): do WAL checkpoints make the ack's
 * tail? Commits the runner's group-commit shape (an event of the seed
 * payload's size with its dedupe key, a run claimed and settled) into a
 * store with the runner's schema, and times every commit: with SQLite's
 * automatic checkpoints (every 1,000 WAL pages, inside whichever commit
 * crosses the line, on the thread that commits), and as the runner does:
 * a worker thread running `PRAGMA wal_checkpoint(PASSIVE)` on its own
 * connection every 250 ms, with the writer's own checkpoint only past 2,000
 * pages (the WAL starts over only after a checkpoint no commit ran beside,
 * so without that backstop it grows as long as the load lasts). Prints the
 * commit times and the WAL file's size at the end.
 *
 *   node bench/wal-checkpoint.mjs [COMMITS]
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { percentiles } from './lib/stats.mjs'
import { DIST } from './lib/runner.mjs'

const { SCHEMA, SCHEDULE_INDEX } = await import(join(DIST, 'store', 'sqlite-schema.js'))
const commits = Number(process.argv[2] ?? 20_000)
// The writer's own checkpoint past this many pages (the runner's: 2,000); BACKSTOP=N to try others.
const BACKSTOP = Number(process.env.BACKSTOP ?? 2_000)
const body = readFileSync(new URL('../test/fixtures/title-ready.json', import.meta.url), 'utf8')

async function measure(offThread) {
  const dir = mkdtempSync(join(tmpdir(), 'ar-wal-'))
  const path = join(dir, 'runner.db')
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(SCHEMA)
  db.exec(SCHEDULE_INDEX)
  let worker
  if (offThread) {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP}`)
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`)
    worker = new Worker(
      `const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
       const db = new Database(${JSON.stringify(path)}); db.pragma('busy_timeout = 5000');
       const t = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), 250);
       require('node:worker_threads').parentPort.once('message', () => { clearInterval(t); db.close(); process.exit(0) })`,
      { eval: true },
    )
  }
  const insertEvent = db.prepare('INSERT INTO events (id, type, body, hash, title, received_at) VALUES (?, ?, ?, ?, ?, ?)')
  const putDedupe = db.prepare('INSERT OR REPLACE INTO dedupe (type, hash, event_id, expires_at) VALUES (?, ?, ?, ?)')
  const insertRun = db.prepare(
    "INSERT INTO runs (id, event_id, recipe, step_index, step_name, action, state, attempt, run_at, created_at, updated_at, due_at) VALUES (?, ?, 'r', 0, NULL, 'http', 'pending', 0, ?, ?, ?, ?)",
  )
  const settle = db.prepare("UPDATE runs SET state = 'done', input = ?, result = ?, due_at = NULL, updated_at = ? WHERE id = ?")
  const tx = db.transaction((i) => {
    const now = Date.now()
    insertEvent.run(`evt_${i}`, 'title-ready', body.replace('4211', String(i)), `h${i}`, 'Title', now)
    putDedupe.run('title-ready', `h${i}`, `evt_${i}`, now + 86_400_000)
    insertRun.run(`run_${i}`, `evt_${i}`, now, now, now, now)
    if (i > 16) settle.run('{"url":"http://127.0.0.1/build"}', '{"status":200}', now, `run_${i - 16}`)
  })
  const times = []
  for (let i = 0; i < commits; i++) {
    const t = performance.now()
    tx(i)
    times.push(performance.now() - t)
    // Commits spread over time as a runner's are, so the checkpointer has moments to work in.
    if (i % 20 === 0) await new Promise((r) => setImmediate(r))
  }
  if (worker) {
    worker.postMessage('stop')
    await new Promise((r) => worker.once('exit', r))
  }
  const walMb = statSync(`${path}-wal`).size / 1048576
  db.close()
  rmSync(dir, { recursive: true, force: true })
  return { ...percentiles(times), walMb }
}

const fmt = (x) =>
  `p50 ${x.p50.toFixed(3)} ms, p99 ${x.p99.toFixed(3)} ms, p99.9 ${x.p99_9.toFixed(3)} ms, max ${x.max.toFixed(2)} ms; WAL ${x.walMb.toFixed(1)} MB at the end`
for (let round = 1; round <= 2; round++) {
  console.log(`round ${round}: automatic checkpoints:  ${fmt(await measure(false))}`)
  console.log(`round ${round}: checkpoint thread + backstop: ${fmt(await measure(true))}`)
}
