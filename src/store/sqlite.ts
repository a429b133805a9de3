import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { StoreUnavailableError } from '../errors.js'
import type { EventType } from '../types.js'
import { ensurePrivateDir, privateFile, tightenFile } from './files.js'
import { newId } from './ids.js'
import { SCHEMA } from './sqlite-schema.js'
import type {
  AcceptResult,
  DebounceRequest,
  Delivery,
  EventQuery,
  EventSummary,
  NewRun,
  RunPatch,
  StepRun,
  Store,
  StoredEvent,
} from './store.js'

export interface SqliteStoreOptions {
  /** `:memory:` works for tests that do not restart. */
  path: string
  /**
   * `normal` (default) survives a killed process: WAL commits reach the OS
   * before the 2xx. `full` also survives power loss, at a cost per commit.
   */
  synchronous?: 'normal' | 'full'
}

interface PendingWrite {
  fn: () => unknown
  resolve: (value: unknown) => void
  reject: (e: unknown) => void
}

/**
 * Makes the store's folder (0700) and its file (0600) before SQLite opens
 * it: SQLite gives `-wal` and `-shm` the database file's mode, so they are
 * private too. Files an older version left 0644 are made 0600. Returns
 * warnings about an existing folder open to others, for the start-up log.
 */
export function prepareSqliteFiles(path: string): { warnings: string[] } {
  if (path === ':memory:') return { warnings: [] }
  const { warnings } = ensurePrivateDir(dirname(path))
  privateFile(path)
  for (const side of [`${path}-wal`, `${path}-shm`]) tightenFile(side)
  return { warnings }
}

/**
 * The embedded store: one SQLite file in WAL mode. Deliveries that arrive in
 * the same tick are committed in one transaction (group commit), so
 * durability does not cost a write per request.
 */
export function createSqliteStore({ path, synchronous = 'normal' }: SqliteStoreOptions): Store {
  // Also when created without the runner (CLI commands, tests): events and run inputs are private.
  prepareSqliteFiles(path)
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
  db.pragma('busy_timeout = 5000')
  db.exec(SCHEMA)
  let open = true
  // False after a failed write until a write succeeds again: `isReady` then probes with a tiny write.
  let healthy = true

  const q = {
    findDup: db.prepare<[string, string, number], { event_id: string }>(
      'SELECT event_id FROM dedupe WHERE type = ? AND hash = ? AND expires_at > ?',
    ),
    insertEvent: db.prepare('INSERT INTO events (id, type, body, hash, title, received_at) VALUES (?, ?, ?, ?, ?, ?)'),
    putDedupe: db.prepare('INSERT OR REPLACE INTO dedupe (type, hash, event_id, expires_at) VALUES (?, ?, ?, ?)'),
    getEvent: db.prepare<[string], EventRow>('SELECT * FROM events WHERE id = ?'),
    // Ids are time-ordered (ULIDs), so paging by id keeps arrival order without reading bodies.
    undispatched: db.prepare<[string, number], Pick<EventRow, 'id' | 'type'>>(
      'SELECT id, type FROM events WHERE dispatched_at IS NULL AND id > ? ORDER BY id LIMIT ?',
    ),
    markDispatched: db.prepare('UPDATE events SET dispatched_at = ? WHERE id = ?'),
    insertRun: db.prepare(
      "INSERT INTO runs (id, event_id, recipe, step_index, step_name, action, state, attempt, run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
    ),
    getRun: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?'),
    runsForEvent: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE event_id = ? ORDER BY recipe, step_index, created_at'),
    openRuns: db.prepare<[], RunRow>("SELECT * FROM runs WHERE state IN ('pending', 'retrying', 'running') ORDER BY created_at, id"),
    claim: db.prepare<[number, string], RunRow>(
      "UPDATE runs SET state = 'running', attempt = attempt + 1, updated_at = ? WHERE id = ? AND state IN ('pending', 'retrying') RETURNING *",
    ),
    update: db.prepare(
      'UPDATE runs SET state = @state, run_at = coalesce(@runAt, run_at), input = coalesce(@input, input), result = coalesce(@result, result), error = CASE WHEN @clearError THEN NULL ELSE coalesce(@error, error) END, attempt = coalesce(@attempt, attempt), updated_at = @now WHERE id = @id',
    ),
    findOnce: db.prepare<[string, number], { run_id: string }>(
      'SELECT run_id FROM once_keys WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    putOnce: db.prepare('INSERT OR REPLACE INTO once_keys (key, run_id, expires_at) VALUES (?, ?, ?)'),
    dropOnce: db.prepare('DELETE FROM once_keys WHERE key = ? AND run_id = ?'),
    getDebounce: db.prepare<[string], { run_id: string; first_at: number; due_at: number }>(
      'SELECT run_id, first_at, due_at FROM debounces WHERE key = ?',
    ),
    putDebounce: db.prepare('INSERT OR REPLACE INTO debounces (key, run_id, first_at, due_at) VALUES (?, ?, ?, ?)'),
    dropDebounce: db.prepare('DELETE FROM debounces WHERE key = ? AND run_id = ?'),
    delayRun: db.prepare('UPDATE runs SET run_at = ?, updated_at = ? WHERE id = ?'),
    skipRun: db.prepare<[string, number, string], RunRow>(
      "UPDATE runs SET state = 'skipped', error = ?, updated_at = ? WHERE id = ? AND state = 'pending' RETURNING *",
    ),
    skipLater: db.prepare(
      "UPDATE runs SET state = 'skipped', error = ?, updated_at = ? WHERE event_id = ? AND recipe = ? AND step_index > ? AND state = 'pending'",
    ),
    dropOnceOf: db.prepare('DELETE FROM once_keys WHERE run_id = ?'),
    skipJob: db.prepare<[string, number, string, string], RunRow>(
      "UPDATE runs SET state = 'skipped', error = ?, updated_at = ? WHERE event_id = ? AND recipe = ? AND state = 'pending' RETURNING *",
    ),
  }

  const acceptOne = (d: Delivery): AcceptResult => {
    const dup = q.findDup.get(d.type, d.hash, d.receivedAt)
    if (dup) return { id: dup.event_id, duplicate: true }
    const id = newId('evt')
    q.insertEvent.run(id, d.type, d.body, d.hash, d.title ?? null, d.receivedAt)
    q.putDedupe.run(d.type, d.hash, id, d.receivedAt + d.dedupeWindow)
    return { id, duplicate: false }
  }

  // Group commit: every write asked for in the same tick (deliveries and the engine's bookkeeping)
  // goes into one transaction; each caller is answered only after the commit. Each write runs in
  // its own savepoint, so one failing write does not take the others down with it.
  let writes: PendingWrite[] = []
  const savepoint = db.transaction((fn: () => unknown) => fn())
  const commit = db.transaction((batch: PendingWrite[]) =>
    batch.map((w) => {
      try {
        return { ok: true as const, value: savepoint(w.fn) }
      } catch (error) {
        return { ok: false as const, error }
      }
    }),
  )
  const flush = () => {
    const batch = writes
    writes = []
    try {
      const results = commit(batch)
      healthy = true
      batch.forEach((w, i) => {
        const r = results[i]!
        if (r.ok) w.resolve(r.value)
        else w.reject(new StoreUnavailableError('the store could not record this', { cause: r.error }))
      })
    } catch (err) {
      healthy = false
      const error = new StoreUnavailableError('the store could not record this', { cause: err })
      for (const w of batch) w.reject(error)
    }
  }
  const write = <T>(fn: () => T): Promise<T> => {
    if (!open) return Promise.reject(new StoreUnavailableError('the store is closed'))
    return new Promise<T>((resolve, reject) => {
      if (writes.length === 0) setImmediate(flush)
      writes.push({ fn, resolve: resolve as (v: unknown) => void, reject })
    })
  }

  const dispatchTx = db.transaction((eventId: string, runs: NewRun[], now: number) => {
    const event = q.getEvent.get(eventId)
    if (!event || event.dispatched_at !== null) return undefined
    const rows = runs.map((r) => {
      const id = newId('run')
      q.insertRun.run(id, eventId, r.recipe, r.stepIndex, r.stepName ?? null, r.action, r.runAt, now, now)
      return toRun(q.getRun.get(id)!)
    })
    q.markDispatched.run(now, eventId)
    return rows
  })

  const claimOnceTx = db.transaction((key: string, runId: string, now: number, expiresAt: number | null) => {
    const held = q.findOnce.get(key, now)
    if (held && held.run_id !== runId) return false
    q.putOnce.run(key, runId, expiresAt)
    return true
  })

  const debounceTx = db.transaction(({ key, runId, now, wait, maxWait, scope }: DebounceRequest) => {
    const row = q.getDebounce.get(key)
    if (row?.run_id === runId) return { dueAt: row.due_at, replaced: [] as StepRun[] }
    const held = row ? q.getRun.get(row.run_id) : undefined
    const why = `coalesced into run ${runId} (debounce: a later event replaced this one)`
    let replaced: StepRun[] = []
    let firstAt = now
    if (held && held.state === 'pending') {
      firstAt = row!.first_at
      replaced = (scope === 'job' ? q.skipJob.all(why, now, held.event_id, held.recipe) : q.skipRun.all(why, now, held.id)).map(toRun)
      // A run coalesced away never ran: the once keys it took are not used up.
      for (const r of replaced) q.dropOnceOf.run(r.id)
    }
    const dueAt = Math.min(now + wait, maxWait === undefined ? Number.POSITIVE_INFINITY : firstAt + maxWait)
    q.putDebounce.run(key, runId, firstAt, dueAt)
    q.delayRun.run(dueAt, now, runId)
    return { dueAt, replaced }
  })

  const updateTx = db.transaction((id: string, patch: RunPatch) => {
    const now = Date.now()
    q.update.run({
      id,
      state: patch.state,
      runAt: patch.runAt ?? null,
      input: patch.input === undefined ? null : JSON.stringify(patch.input),
      result: patch.result === undefined ? null : JSON.stringify(patch.result),
      error: patch.error ?? null,
      clearError: patch.error === null ? 1 : 0,
      attempt: patch.attempt ?? null,
      now,
    })
    if (patch.skipLater !== undefined) {
      const run = q.getRun.get(id)
      if (run) q.skipLater.run(patch.skipLater, now, run.event_id, run.recipe, run.step_index)
    }
  })

  const replayTx = db.transaction((id: string, now: number) => {
    const event = q.getEvent.get(id)
    if (!event) return undefined
    const copy = newId('evt')
    db.prepare(
      'INSERT INTO events (id, type, body, hash, title, received_at) SELECT ?, type, body, hash, title, ? FROM events WHERE id = ?',
    ).run(copy, now, id)
    return copy
  })

  const guard = <T>(fn: () => T): Promise<T> => {
    if (!open) return Promise.reject(new StoreUnavailableError('the store is closed'))
    try {
      return Promise.resolve(fn())
    } catch (err) {
      healthy = false
      return Promise.reject(new StoreUnavailableError('the store failed', { cause: err }))
    }
  }

  return {
    accept: (delivery) => write(() => acceptOne(delivery)),
    getEvent: (id) => guard(() => toEvent(q.getEvent.get(id))),
    listEvents: (query) => guard(() => listEvents(db, query)),
    undispatchedEvents: (limit, after = '') => guard(() => q.undispatched.all(after, limit)),
    dispatch: (eventId, runs) => write(() => dispatchTx(eventId, runs, Date.now())),
    replayEvent: (id, now) => write(() => replayTx(id, now)),
    getRun: (id) => guard(() => toRunOrUndefined(q.getRun.get(id))),
    runsForEvent: (eventId) => guard(() => q.runsForEvent.all(eventId).map(toRun)),
    openRuns: () => guard(() => q.openRuns.all().map(toRun)),
    claimRun: (id, now) => write(() => toRunOrUndefined(q.claim.get(now, id))),
    updateRun: (id, patch: RunPatch) => write(() => updateTx(id, patch)),
    claimOnce: (key, runId, now, expiresAt) => write(() => claimOnceTx(key, runId, now, expiresAt)),
    releaseOnce: (key, runId) => write(() => void q.dropOnce.run(key, runId)),
    debounce: (request) => write(() => debounceTx(request)),
    releaseDebounce: (key, runId) => write(() => void q.dropDebounce.run(key, runId)),
    prune: (now, before) =>
      guard(() =>
        db.transaction(() => {
          // Unfinished work is never pruned, however old.
          const runs = db
            .prepare(
              "DELETE FROM runs WHERE event_id IN (SELECT id FROM events WHERE received_at < ?) AND state NOT IN ('pending', 'running', 'retrying')",
            )
            .run(before).changes
          const events = db
            .prepare('DELETE FROM events WHERE received_at < ? AND dispatched_at IS NOT NULL AND id NOT IN (SELECT event_id FROM runs)')
            .run(before).changes
          const keys =
            db.prepare('DELETE FROM dedupe WHERE expires_at <= ?').run(now).changes +
            db.prepare('DELETE FROM once_keys WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes +
            // A debounce whose run is gone or no longer waiting has nothing left to coalesce into.
            db.prepare("DELETE FROM debounces WHERE run_id NOT IN (SELECT id FROM runs WHERE state = 'pending')").run().changes
          return { events, runs, keys }
        })(),
      ),
    isReady() {
      if (!open) return false
      if (!healthy) {
        try {
          db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('probe', ?)").run(String(Date.now()))
          healthy = true
        } catch {
          healthy = false
        }
      }
      return healthy
    },
    async close() {
      if (!open) return
      if (writes.length > 0) flush()
      open = false
      db.close()
    },
  }
}

interface EventRow {
  id: string
  type: EventType
  body: string
  hash: string
  received_at: number
  dispatched_at: number | null
}

interface RunRow {
  id: string
  event_id: string
  recipe: string
  step_index: number
  step_name: string | null
  action: string
  state: StepRun['state']
  attempt: number
  run_at: number
  input: string | null
  result: string | null
  error: string | null
  created_at: number
  updated_at: number
}

function toEvent(row: EventRow | undefined): StoredEvent | undefined {
  if (!row) return undefined
  const event: StoredEvent = { id: row.id, type: row.type, body: row.body, hash: row.hash, receivedAt: row.received_at }
  if (row.dispatched_at !== null) event.dispatchedAt = row.dispatched_at
  return event
}

function toRunOrUndefined(row: RunRow | undefined): StepRun | undefined {
  return row ? toRun(row) : undefined
}

function toRun(row: RunRow): StepRun {
  const run: StepRun = {
    id: row.id,
    eventId: row.event_id,
    recipe: row.recipe,
    stepIndex: row.step_index,
    action: row.action,
    state: row.state,
    attempt: row.attempt,
    runAt: row.run_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
  if (row.step_name !== null) run.stepName = row.step_name
  if (row.input !== null) run.input = JSON.parse(row.input)
  if (row.result !== null) run.result = JSON.parse(row.result)
  if (row.error !== null) run.error = row.error
  return run
}

const STATUS_SQL = `CASE
  WHEN e.dispatched_at IS NULL THEN 'received'
  WHEN NOT EXISTS (SELECT 1 FROM runs r WHERE r.event_id = e.id) THEN 'unmatched'
  WHEN EXISTS (SELECT 1 FROM runs r WHERE r.event_id = e.id AND r.state IN ('pending', 'running', 'retrying')) THEN 'running'
  WHEN EXISTS (SELECT 1 FROM runs r WHERE r.event_id = e.id AND r.state = 'dead') THEN 'dead'
  WHEN EXISTS (SELECT 1 FROM runs r WHERE r.event_id = e.id AND r.state = 'previewed') THEN 'previewed'
  ELSE 'done' END`

function listEvents(db: Database.Database, { status, type, limit = 20 }: EventQuery = {}): EventSummary[] {
  const where: string[] = []
  const params: Record<string, unknown> = { limit }
  if (type) {
    where.push('e.type = @type')
    params.type = type
  }
  const inner = `SELECT e.id, e.type, e.received_at, e.title, ${STATUS_SQL} AS status,
    (SELECT count(*) FROM runs r WHERE r.event_id = e.id) AS runs
    FROM events e ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`
  const sql = `SELECT * FROM (${inner}) ${status ? 'WHERE status = @status' : ''} ORDER BY received_at DESC, id DESC LIMIT @limit`
  if (status) params.status = status
  const rows = db.prepare(sql).all(params) as Array<{
    id: string
    type: EventType
    received_at: number
    title: unknown
    status: EventSummary['status']
    runs: number
  }>
  return rows.map((r) => {
    const summary: EventSummary = { id: r.id, type: r.type, receivedAt: r.received_at, status: r.status, runs: r.runs }
    if (typeof r.title === 'string') summary.title = r.title
    return summary
  })
}
