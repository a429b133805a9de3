import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { StoreUnavailableError } from '../errors.js'
import type { EventType } from '../types.js'
import { ensurePrivateDir, privateFile, tightenFile } from './files.js'
import { newId } from './ids.js'
import { type Checkpointer, startCheckpointer } from './checkpointer.js'
import { createLocalSchedule } from './local-schedule.js'
import { lockStore } from './lock.js'
import { MIGRATE_DUE_AT, SCHEDULE_INDEX, SCHEMA } from './sqlite-schema.js'
import type {
  AcceptResult,
  Backend,
  DebounceRequest,
  Delivery,
  EventListQuery,
  EventRecord,
  NewRun,
  PruneResult,
  RunPatch,
  RunState,
  ScheduleEntry,
  Settlement,
  StepRun,
  StoredEvent,
  Work,
} from './backend.js'

export interface SqliteBackendOptions {
  /** `:memory:` works for tests that do not restart. */
  path: string
  /**
   * `normal` (default) survives a killed process: WAL commits reach the OS
   * before the 2xx. `full` also survives power loss, at a cost per commit.
   */
  synchronous?: 'normal' | 'full'
  /** How long a lease lasts, ms (default 30 s). */
  lease?: number
  /** Take the store's lock (default): every process that writes must. Off only to read. */
  lock?: boolean
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
 * The embedded backend: one SQLite file in WAL mode, for one process (a
 * kernel lock on a file beside it, lock.ts). Deliveries and bookkeeping asked for in the
 * same tick are committed in one transaction (group commit), so durability
 * does not cost a write per request. The schedule is durable in the tables
 * (an unmatched event is due at its arrival, a run in the schedule has a
 * `due_at`) and indexed in memory (local-schedule.ts) with its leases:
 * leases need no write, since a process that dies takes them along.
 */
export function createSqliteBackend({ path, synchronous = 'normal', lease = 30_000, lock = true }: SqliteBackendOptions): Backend {
  // Also when created without the runner (CLI commands, tests): events and run inputs are private.
  prepareSqliteFiles(path)
  // Every process that writes takes the lock first: two would both hand out the same work.
  const unlock = lock ? lockStore(path) : () => {}
  let db: Database.Database
  try {
    db = openDatabase(path, synchronous)
  } catch (err) {
    unlock()
    throw err
  }
  let open = true
  // False after a failed write until a write succeeds again: `isReady` then probes with a tiny write.
  let healthy = true
  // The writer's checkpoints run on their own thread; SQLite's own, inside a commit, if that fails.
  let checkpointer: Checkpointer | undefined
  // One close, however many ask: each gets the same promise, resolved once the file is closed and unlocked.
  let closing: Promise<void> | undefined
  if (lock && path !== ':memory:') {
    // The thread checkpoints; the writer too, past 2,000 pages (8 MB), which a steady load reaches: the
    // thread's checkpoints run beside commits, and the WAL starts over only after one that ran alone
    // (without it, 1,500 req/s grew the WAL to 772 MB in 20 s). Most of its pages are copied already.
    db.pragma('wal_autocheckpoint = 2000')
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`)
    checkpointer = startCheckpointer(path, () => {
      if (open) db.pragma('wal_autocheckpoint = 1000')
    })
  }
  const q = prepareQueries(db)
  const schedule = createLocalSchedule()
  for (const e of q.unmatched.all()) schedule.put('match', e.id, e.received_at)
  for (const r of q.scheduled.all()) schedule.put('step', r.id, r.due_at)

  // Schedule changes of a write, applied once its transaction has committed.
  let effects: Array<() => void> = []
  const later = (fn: () => void) => effects.push(fn)

  const acceptOne = (d: Delivery): AcceptResult => {
    const dup = q.findDup.get(d.type, d.hash, d.receivedAt)
    if (dup) return { id: dup.event_id, duplicate: true }
    const id = newId('evt')
    q.insertEvent.run(id, d.type, d.body, d.hash, d.title ?? null, d.receivedAt)
    q.putDedupe.run(d.type, d.hash, id, d.receivedAt + d.dedupeWindow)
    later(() => schedule.put('match', id, d.receivedAt))
    return { id, duplicate: false }
  }

  // Group commit: every write asked for in the same tick goes into one transaction; each caller is
  // answered only after the commit, and a write's schedule changes are applied only if it committed.
  // If a write fails, the batch runs again with each write in its own savepoint (`commit`), so one
  // failing write does not take the others down with it.
  let writes: PendingWrite[] = []
  const savepoint = db.transaction((fn: () => unknown) => fn())
  const commit = db.transaction((batch: PendingWrite[]) =>
    batch.map((w) => {
      effects = []
      try {
        const value = savepoint(w.fn)
        return { ok: true as const, value, effects }
      } catch (error) {
        return { ok: false as const, error }
      }
    }),
  )
  // First without the savepoints (two statements per write, a tenth of a burst's store time): when no
  // write fails, which is nearly always, the outcome is the same. When one does, the whole transaction
  // is rolled back, nothing of it applied, and the batch runs again with a savepoint per write.
  const commitAll = db.transaction((batch: PendingWrite[]) =>
    batch.map((w) => {
      effects = []
      return { ok: true as const, value: w.fn(), effects }
    }),
  )
  const commitBatch = (batch: PendingWrite[]): ReturnType<typeof commit> => {
    try {
      return commitAll(batch)
    } catch {
      return commit(batch)
    }
  }
  const flush = () => {
    const batch = writes
    writes = []
    try {
      const results = commitBatch(batch)
      healthy = true
      batch.forEach((w, i) => {
        const r = results[i]!
        if (r.ok) {
          for (const fn of r.effects) fn()
          w.resolve(r.value)
        } else w.reject(new StoreUnavailableError('the store could not record this', { cause: r.error }))
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

  const scheduleRuns = (entries: ScheduleEntry[], now: number) => {
    for (const e of entries) {
      q.schedule.run(e.at, e.at, now, e.runId)
      later(() => schedule.put('step', e.runId, e.at))
    }
  }

  const dispatchTx = (eventId: string, runs: NewRun[], now: number) => {
    // Not the body: only whether it was dispatched.
    const event = q.dispatchedAt.get(eventId)
    later(() => schedule.remove(eventId))
    if (!event || event.dispatched_at !== null) return undefined
    const rows = runs.map((r) => {
      // The row as inserted: read through toRun like any other, without reading it back.
      const row: RunRow = {
        id: newId('run'),
        event_id: eventId,
        recipe: r.recipe,
        step_index: r.stepIndex,
        step_name: r.stepName ?? null,
        action: r.action,
        state: 'pending',
        attempt: 0,
        run_at: r.runAt,
        input: null,
        result: null,
        error: null,
        created_at: now,
        updated_at: now,
      }
      q.insertRun.run(
        row.id,
        eventId,
        row.recipe,
        row.step_index,
        row.step_name,
        row.action,
        row.run_at,
        now,
        now,
        r.queue ? r.runAt : null,
      )
      if (r.queue) later(() => schedule.put('step', row.id, r.runAt))
      return toRun(row)
    })
    q.markDispatched.run(now, eventId)
    return rows
  }

  /** Run id → the lease that claimed it: leases live in this process's memory, so its claims do too. */
  const claims = new Map<string, string>()
  const claimTx = (work: Work, now: number) => {
    const claimed = q.claim.get(now, work.id)
    if (claimed) {
      later(() => claims.set(work.id, work.token))
      return toRun(claimed)
    }
    // Claimed under this lease already: the same answer again, nothing counted.
    const run = q.getRun.get(work.id)
    return run?.state === 'running' && claims.get(work.id) === work.token ? toRun(run) : undefined
  }

  const settleTx = (work: Work, { patch, schedule: entries = [] }: Settlement) => {
    const now = Date.now()
    if (work.kind === 'step') {
      later(() => claims.delete(work.id))
      const unschedule = !entries.some((e) => e.runId === work.id)
      // The patch and taking it out of the schedule in one statement when it applies; else apart.
      if (!(patch && updateRun(q, work.id, patch, now, unschedule)) && unschedule) q.unschedule.run(work.id)
      if (unschedule) later(() => schedule.remove(work.id))
    } else later(() => schedule.remove(work.id))
    scheduleRuns(entries, now)
  }

  const claimOnceTx = (key: string, runId: string, now: number, expiresAt: number | null) => {
    const held = q.findOnce.get(key, now)
    if (held && held.run_id !== runId) return false
    q.putOnce.run(key, runId, expiresAt)
    return true
  }

  const debounceTx = ({ key, runId, now, wait, maxWait, scope, reason }: DebounceRequest) => {
    const row = q.getDebounce.get(key)
    if (row?.run_id === runId) return { dueAt: row.due_at, replaced: [] as StepRun[] }
    const held = row ? q.getRun.get(row.run_id) : undefined
    let replaced: StepRun[] = []
    let firstAt = now
    if (held && held.state === 'pending') {
      firstAt = row!.first_at
      replaced = (scope === 'job' ? q.skipJob.all(reason, now, held.event_id, held.recipe) : q.skipRun.all(reason, now, held.id)).map(toRun)
      // A run coalesced away never ran: the once keys it took are not used up.
      for (const r of replaced) q.dropOnceOf.run(r.id)
      // A step coalesced away: its recipe goes on with the step after it.
      const next = scope === 'run' && replaced.length ? q.nextRun.get(held.event_id, held.recipe, held.step_index) : undefined
      if (next?.state === 'pending') scheduleRuns([{ runId: next.id, at: Math.max(next.run_at, now) }], now)
    }
    const dueAt = Math.min(now + wait, maxWait === undefined ? Number.POSITIVE_INFINITY : firstAt + maxWait)
    q.putDebounce.run(key, runId, firstAt, dueAt)
    q.delayRun.run(dueAt, now, runId)
    return { dueAt, replaced }
  }

  const replayTx = (id: string, now: number) => {
    const event = q.getEvent.get(id)
    if (!event) return undefined
    const copy = newId('evt')
    q.copyEvent.run(copy, now, id)
    later(() => schedule.put('match', copy, now))
    return copy
  }

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
    driver: 'sqlite',
    lease,
    accept: (delivery) => write(() => acceptOne(delivery)),
    getEvent: (id) => guard(() => toEvent(q.getEvent.get(id))),
    listEvents: (query) => guard(() => listEvents(db, query)),
    replayEvent: (id, now) => write(() => replayTx(id, now)),
    getRun: (id) => guard(() => toRunOrUndefined(q.getRun.get(id))),
    runsForEvent: (eventId) => guard(() => q.runsForEvent.all(eventId).map(toRun)),
    updateRun: (id, patch) => write(() => updateRun(q, id, patch, Date.now())),
    async take({ worker, limit, wait }) {
      if (!open) throw new StoreUnavailableError('the store is closed')
      const deadline = Date.now() + wait
      for (;;) {
        const got = schedule.take(worker, limit, lease)
        const left = deadline - Date.now()
        if (got.length > 0 || left <= 0 || !open) return got
        await schedule.wait(left)
      }
    },
    extend: async (work) => schedule.extend(work, lease),
    release: async (work) => schedule.release(work),
    dispatch: (work, runs) => write(() => dispatchTx(work.id, runs, Date.now())),
    claim: (work, now) => write(() => claimTx(work, now)),
    settle: (work, settlement) => write(() => settleTx(work, settlement)),
    schedule: (entries) => write(() => scheduleRuns(entries, Date.now())),
    claimOnce: (key, runId, now, expiresAt) => write(() => claimOnceTx(key, runId, now, expiresAt)),
    releaseOnce: (key, runId) => write(() => void q.dropOnce.run(key, runId)),
    debounce: (request) => write(() => debounceTx(request)),
    releaseDebounce: (key, runId) => write(() => void q.dropDebounce.run(key, runId)),
    prune: (now, before) => guard(() => db.transaction(() => prune(db, now, before))()),
    stats: async () => schedule.stats(),
    isReady() {
      if (!open) return false
      if (!healthy) {
        try {
          q.probe.run(String(Date.now()))
          healthy = true
        } catch {
          healthy = false
        }
      }
      return healthy
    },
    close() {
      closing ??= (async () => {
        if (writes.length > 0) flush()
        open = false
        schedule.wakeAll()
        await checkpointer?.stop()
        // The last connection to close checkpoints what is left and removes the WAL.
        db.close()
        unlock()
      })()
      return closing
    },
  }
}

function openDatabase(path: string, synchronous: 'normal' | 'full'): Database.Database {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
  db.pragma('busy_timeout = 5000')
  db.exec(SCHEMA)
  const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('runs')").all()
  if (!columns.some((c) => c.name === 'due_at')) db.transaction(() => db.exec(MIGRATE_DUE_AT))()
  db.exec(SCHEDULE_INDEX)
  return db
}

type Queries = ReturnType<typeof prepareQueries>

function prepareQueries(db: Database.Database) {
  return {
    findDup: db.prepare<[string, string, number], { event_id: string }>(
      'SELECT event_id FROM dedupe WHERE type = ? AND hash = ? AND expires_at > ?',
    ),
    insertEvent: db.prepare('INSERT INTO events (id, type, body, hash, title, received_at) VALUES (?, ?, ?, ?, ?, ?)'),
    copyEvent: db.prepare(
      'INSERT INTO events (id, type, body, hash, title, received_at) SELECT ?, type, body, hash, title, ? FROM events WHERE id = ?',
    ),
    putDedupe: db.prepare('INSERT OR REPLACE INTO dedupe (type, hash, event_id, expires_at) VALUES (?, ?, ?, ?)'),
    getEvent: db.prepare<[string], EventRow>('SELECT * FROM events WHERE id = ?'),
    dispatchedAt: db.prepare<[string], { dispatched_at: number | null }>('SELECT dispatched_at FROM events WHERE id = ?'),
    unmatched: db.prepare<[], { id: string; received_at: number }>('SELECT id, received_at FROM events WHERE dispatched_at IS NULL'),
    scheduled: db.prepare<[], { id: string; due_at: number }>('SELECT id, due_at FROM runs WHERE due_at IS NOT NULL'),
    markDispatched: db.prepare('UPDATE events SET dispatched_at = ? WHERE id = ?'),
    insertRun: db.prepare(
      "INSERT INTO runs (id, event_id, recipe, step_index, step_name, action, state, attempt, run_at, created_at, updated_at, due_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
    ),
    getRun: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?'),
    runsForEvent: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE event_id = ? ORDER BY recipe, step_index, created_at'),
    claim: db.prepare<[number, string], RunRow>(
      "UPDATE runs SET state = 'running', attempt = attempt + 1, updated_at = ? WHERE id = ? AND state IN ('pending', 'retrying') RETURNING *",
    ),
    update: db.prepare(
      'UPDATE runs SET state = @state, run_at = coalesce(@runAt, run_at), input = coalesce(@input, input), result = coalesce(@result, result), error = CASE WHEN @clearError THEN NULL ELSE coalesce(@error, error) END, attempt = coalesce(@attempt, attempt), updated_at = @now, due_at = CASE WHEN @unschedule THEN NULL ELSE due_at END WHERE id = @id AND (@expectState IS NULL OR (state = @expectState AND attempt = @expectAttempt))',
    ),
    schedule: db.prepare('UPDATE runs SET due_at = ?, run_at = ?, updated_at = ? WHERE id = ?'),
    unschedule: db.prepare('UPDATE runs SET due_at = NULL WHERE id = ?'),
    findOnce: db.prepare<[string, number], { run_id: string }>(
      'SELECT run_id FROM once_keys WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    putOnce: db.prepare('INSERT OR REPLACE INTO once_keys (key, run_id, expires_at) VALUES (?, ?, ?)'),
    dropOnce: db.prepare('DELETE FROM once_keys WHERE key = ? AND run_id = ?'),
    getDebounce: db.prepare<[string], { run_id: string; first_at: number; due_at: number }>(
      'SELECT run_id, first_at, due_at FROM debounces WHERE key = ?',
    ),
    putDebounce: db.prepare('INSERT OR REPLACE INTO debounces (key, run_id, first_at, due_at) VALUES (?, ?, ?, ?)'),
    nextRun: db.prepare<[string, string, number], RunRow>(
      'SELECT * FROM runs WHERE event_id = ? AND recipe = ? AND step_index > ? ORDER BY step_index LIMIT 1',
    ),
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
    probe: db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('probe', ?)"),
  }
}

/**
 * Applies a patch; false, with nothing written, when its `expect` no longer
 * holds. `unschedule` also takes the run out of the schedule, in the same statement.
 */
function updateRun(q: Queries, id: string, patch: RunPatch, now: number, unschedule = false): boolean {
  const changed = q.update.run({
    unschedule: unschedule ? 1 : 0,
    id,
    expectState: patch.expect?.state ?? null,
    expectAttempt: patch.expect?.attempt ?? null,
    state: patch.state,
    runAt: patch.runAt ?? null,
    input: patch.input === undefined ? null : JSON.stringify(patch.input),
    result: patch.result === undefined ? null : JSON.stringify(patch.result),
    error: patch.error ?? null,
    clearError: patch.error === null ? 1 : 0,
    attempt: patch.attempt ?? null,
    now,
  }).changes
  if (changed === 0) return false
  if (patch.skipLater !== undefined) {
    const run = q.getRun.get(id)
    if (run) q.skipLater.run(patch.skipLater, now, run.event_id, run.recipe, run.step_index)
  }
  return true
}

function prune(db: Database.Database, now: number, before: number): PruneResult {
  // Unfinished work is never pruned, however old, and an event with open runs keeps its whole history.
  const runs = db
    .prepare(
      "DELETE FROM runs WHERE event_id IN (SELECT e.id FROM events e WHERE e.received_at < ? AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.event_id = e.id AND o.state IN ('pending', 'running', 'retrying')))",
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

function listEvents(db: Database.Database, { type, before, limit = 20 }: EventListQuery = {}): EventRecord[] {
  const rows = db
    .prepare(
      `SELECT e.id, e.type, e.received_at, e.title, e.dispatched_at IS NOT NULL AS dispatched,
        (SELECT json_group_array(json_array(r.recipe, r.action, r.state, r.updated_at)) FROM runs r WHERE r.event_id = e.id) AS runs
      FROM events e
      WHERE (@type IS NULL OR e.type = @type)
        AND (@at IS NULL OR e.received_at < @at OR (e.received_at = @at AND e.id < @id))
      ORDER BY e.received_at DESC, e.id DESC LIMIT @limit`,
    )
    .all({ type: type ?? null, at: before?.receivedAt ?? null, id: before?.id ?? null, limit }) as Array<{
    id: string
    type: EventType
    received_at: number
    title: unknown
    dispatched: number
    runs: string
  }>
  return rows.map((r) => {
    const record: EventRecord = {
      id: r.id,
      type: r.type,
      receivedAt: r.received_at,
      dispatched: r.dispatched === 1,
      // JSON, not a separator: recipe names come from the config and may hold any character.
      runs: (JSON.parse(r.runs) as Array<[string, string, RunState, number]>).map(([recipe, action, state, updatedAt]) => ({
        recipe,
        action,
        state,
        updatedAt,
      })),
    }
    if (typeof r.title === 'string') record.title = r.title
    return record
  })
}
