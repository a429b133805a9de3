import type { EventType } from '../types.js'

/**
 * What the engine needs from storage, and nothing more. The SQLite file is one
 * implementation; a Redis one must be able to slot in without the receiver or
 * the engine changing, so every method is async and speaks in plain records.
 */
export interface Store {
  /** Accept a delivery atomically with its dedupe check. Resolves once durable. */
  accept(delivery: Delivery): Promise<AcceptResult>
  getEvent(id: string): Promise<StoredEvent | undefined>
  listEvents(query?: EventQuery): Promise<EventSummary[]>
  /** Accepted events not matched yet (the engine was cut off, or is behind), oldest first, after the id `after`. */
  undispatchedEvents(limit: number, after?: string): Promise<Array<Pick<StoredEvent, 'id' | 'type'>>>
  /** Record the step runs of an event and mark it matched, in one go; undefined when it already was. */
  dispatch(eventId: string, runs: NewRun[]): Promise<StepRun[] | undefined>
  /** Store a copy of an event as a new, unmatched event (a person replays it); its id. */
  replayEvent(id: string, now: number): Promise<string | undefined>
  getRun(id: string): Promise<StepRun | undefined>
  runsForEvent(eventId: string): Promise<StepRun[]>
  /** Runs not finished: pending, retrying, and running ones cut off by a crash. */
  openRuns(): Promise<StepRun[]>
  /** Move a pending or retrying run to running and count the attempt. */
  claimRun(id: string, now: number): Promise<StepRun | undefined>
  /** Record the outcome of an attempt (or a decision not to run). */
  updateRun(id: string, patch: RunPatch): Promise<void>
  /** Take a `once` key; false when it is already taken and not expired. */
  claimOnce(key: string, runId: string, now: number, expiresAt: number | null): Promise<boolean>
  /** Give a `once` key back (the run it guarded failed for good). */
  releaseOnce(key: string, runId: string): Promise<void>
  /**
   * Make `runId` the pending run of debounce `key`: the latest run wins. A
   * still-pending run it replaces is marked skipped (with its whole job for a
   * recipe's debounce, `scope: 'job'`). Returns when the run is due (never
   * later than the window's first arrival + `maxWait`) and what it replaced.
   * Asking again for the run already registered returns its due time.
   */
  debounce(request: DebounceRequest): Promise<{ dueAt: number; replaced: StepRun[] }>
  /** The debounce of `key` fires for `runId`: later runs start a new window. */
  releaseDebounce(key: string, runId: string): Promise<void>
  /** Delete events and runs older than `before`, and expired dedupe and once keys. */
  prune(now: number, before: number): Promise<PruneResult>
  /** True while the store can accept writes. */
  isReady(): boolean
  close(): Promise<void>
}

export interface Delivery {
  type: EventType
  /** The body as received (decoded text). */
  body: string
  /** SHA-256 of the canonical JSON of the body. */
  hash: string
  receivedAt: number
  /** The body's `name`, kept for listings. */
  title?: string
  /** How long the same delivery counts as a duplicate, ms. */
  dedupeWindow: number
}

export interface AcceptResult {
  id: string
  duplicate: boolean
}

export interface StoredEvent {
  id: string
  type: EventType
  body: string
  hash: string
  receivedAt: number
  /** When it was matched against the recipes; undefined until then. */
  dispatchedAt?: number
}

/**
 * `running` while any step is open; then `dead` if a step failed for good;
 * then `previewed` if a step only logged what it would send (missing
 * credentials: `retry` runs it for real); else `done`.
 */
export type EventStatus = 'received' | 'unmatched' | 'running' | 'dead' | 'previewed' | 'done'
export const EVENT_STATUSES: readonly EventStatus[] = ['received', 'unmatched', 'running', 'dead', 'previewed', 'done']

export interface EventSummary {
  id: string
  type: EventType
  receivedAt: number
  status: EventStatus
  runs: number
  /** `name` of the body when it has one (titles do). */
  title?: string
}

export interface EventQuery {
  status?: EventStatus
  type?: EventType
  limit?: number
}

export type RunState = 'pending' | 'running' | 'done' | 'retrying' | 'dead' | 'skipped' | 'previewed'
export const FINAL_STATES: readonly RunState[] = ['done', 'dead', 'skipped', 'previewed']

export interface NewRun {
  recipe: string
  stepIndex: number
  stepName?: string
  action: string
  /** Earliest start, ms since epoch. */
  runAt: number
}

export interface StepRun extends NewRun {
  id: string
  eventId: string
  state: RunState
  attempt: number
  /** Rendered input of the last attempt (JSON). */
  input?: unknown
  result?: unknown
  error?: string
  createdAt: number
  updatedAt: number
}

export interface RunPatch {
  state: RunState
  runAt?: number
  input?: unknown
  result?: unknown
  error?: string | null
  /** Reset the attempt counter (a person retried the run). */
  attempt?: number
  /**
   * In the same write, mark the pending later steps of this run's recipe
   * skipped with this reason, so a crash cannot run them after a failure.
   */
  skipLater?: string
}

export interface DebounceRequest {
  key: string
  runId: string
  now: number
  wait: number
  maxWait?: number
  scope: 'run' | 'job'
}

export interface PruneResult {
  events: number
  runs: number
  keys: number
}
