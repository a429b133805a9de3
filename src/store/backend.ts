import type { EventType } from '../types.js'

/**
 * The seam between the engine and where events, runs and the schedule live.
 * Shaped like unstorage's `Driver`: a few required methods with documented
 * guarantees, an optional capability beside them (`limiter`), and one
 * conformance suite (`describeBackendConformance` in `src/testing/`) that
 * every backend passes. See docs/architecture.md.
 *
 * The backend owns the schedule: what is due, when, and who holds it. Work
 * is handed out by `take` under a lease; a lease that is not extended or
 * ended expires and the work is due again for any worker. The engine above
 * is a loop that takes work, runs it and settles it; the rules (what a cut-off
 * run means, which steps a failure skips, an event's status) live above too,
 * in `src/queue/rules.ts`, so backends only store and schedule.
 *
 * Payload text reaches a backend only as data (bound SQL parameters, Lua
 * script arguments), never as part of a statement or a key it cannot bound:
 * keys derived from config templates (once, debounce) are hashed or length-
 * checked by the caller.
 */
export interface Backend {
  /** `sqlite`, `redis`, or a third party's name; shown in logs. */
  readonly driver: string
  /** How long a lease lasts from `take` or `extend`, ms. */
  readonly lease: number
  /** Per-action limits that hold for every worker of this backend. Without one, limits are per process (enough for one process per store). */
  readonly limiter?: Limiter

  // Deliveries and events

  /**
   * Store a delivery with its dedupe check, atomically: of concurrent
   * identical deliveries within the window, exactly one is new. A new event
   * is due for matching at once. Resolves only once the event is durable.
   */
  accept(delivery: Delivery): Promise<AcceptResult>
  getEvent(id: string): Promise<StoredEvent | undefined>
  /** Events newest first (received time, then id), after the `before` cursor; with a brief of each of their runs. */
  listEvents(query?: EventListQuery): Promise<EventRecord[]>
  /** A copy of a stored event as a new event, due for matching; its id. */
  replayEvent(id: string, now: number): Promise<string | undefined>

  // Runs

  getRun(id: string): Promise<StepRun | undefined>
  /** Runs of an event, by recipe then step. */
  runsForEvent(eventId: string): Promise<StepRun[]>
  /**
   * Change a run's record (a person retries it; a rule decides about a
   * cut-off run). Schedules nothing. False, and nothing written, when the
   * patch's `expect` no longer holds.
   */
  updateRun(id: string, patch: RunPatch): Promise<boolean>

  // The schedule

  /**
   * Up to `limit` due pieces of work, each leased to `worker` for `lease` ms.
   * Waits up to `wait` ms for work to become due when none is. Work leased to
   * anyone else is never handed out until that lease expires.
   */
  take(request: TakeRequest): Promise<Work[]>
  /**
   * Renew leases; resolves with the work whose lease was lost (expired and
   * taken by another, or ended). Work that settled into its own reschedule
   * has ended: extending it reports it lost.
   */
  extend(work: Work[]): Promise<Work[]>
  /** Give work back unstarted (shutting down): due again at once for any worker. */
  release(work: Work[]): Promise<void>
  /**
   * End a match: record its runs (those with `queue` set are due at their
   * `runAt`) and mark the event matched, in one write; the match work ends.
   * Undefined, and nothing written, when the event was matched already
   * (the match work ends either way).
   */
  dispatch(work: Work, runs: NewRun[]): Promise<StepRun[] | undefined>
  /**
   * Start an attempt: a pending or retrying run becomes running, its attempt
   * counts, and the claim belongs to this lease (`work.token`). Claiming
   * again under the same lease (the first answer was lost on the way)
   * returns the run as it is and counts nothing. Undefined when the run is
   * neither pending nor retrying nor claimed under this lease.
   */
  claim(work: Work, now: number): Promise<StepRun | undefined>
  /**
   * End work, in one write: apply `patch` to its run (step work), and
   * schedule `schedule` (runs due at a time; a step's own run among them
   * puts it back in the schedule instead of ending it). Match work with no
   * event left to match ends this way too. A lost lease is not an error:
   * the write is applied, and the next holder finds the new state.
   */
  settle(work: Work, settlement: Settlement): Promise<void>
  /** Put runs in the schedule (a person retried them; a debounce coalesced into another run). */
  schedule(entries: ScheduleEntry[]): Promise<void>

  // Flow control

  /**
   * Take a `once` key for `runId`, atomically; false when another run holds
   * it unexpired. Taking it again for the same run is true. `expiresAt` is
   * compared with the backend's clock as given by `now` (null: never).
   */
  claimOnce(key: string, runId: string, now: number, expiresAt: number | null): Promise<boolean>
  /** Give a `once` key back, if `runId` still holds it. */
  releaseOnce(key: string, runId: string): Promise<void>
  /**
   * Make `runId` the pending run of debounce `key`, atomically: the latest
   * run wins. A still-pending run it replaces is marked skipped with
   * `reason` (all the pending runs of its job for `scope: 'job'`) and its
   * once keys are given back; for `scope: 'run'`, the run right after it in
   * its recipe is put in the schedule, due now, in the same write (a step
   * coalesced away lets its recipe go on, whatever becomes of the answer).
   * Resolves with when the run is due (never later than the window's first
   * arrival + `maxWait`; its `runAt` is set to it) and what it replaced.
   * Asking again for the run already registered returns its due time and
   * replaces nothing.
   */
  debounce(request: DebounceRequest): Promise<{ dueAt: number; replaced: StepRun[] }>
  /** The debounce of `key` fires for `runId`: later runs start a new window. */
  releaseDebounce(key: string, runId: string): Promise<void>

  // Upkeep

  /**
   * Delete events received before `before` whose runs are all final, with
   * their runs, and expired dedupe and once keys. An event with any open run
   * keeps all its runs (its finished steps are what `retry` builds on).
   */
  prune(now: number, before: number): Promise<PruneResult>
  /** Work in the schedule: all of it, what is due now and not leased (and since when), and what is leased. */
  stats(): Promise<ScheduleStats>
  /** True while the backend can take writes. Cheap: no I/O while healthy (it is asked on every delivery). */
  isReady(): boolean
  /** Stop; leases held are not given back (they expire), what was acknowledged is durable. */
  close(): Promise<void>
}

/** Cluster-wide per-action limits (optional capability). */
export interface Limiter {
  /**
   * Take a slot of `lane` for `holder`: at most `concurrency` holders at once
   * (a slot not released expires after `lease` ms), and at most `rate.limit`
   * slots taken in any `rate.interval` (a sliding window). Resolves 0 when
   * taken, else the ms to wait before asking again (at least 1).
   */
  acquire(lane: string, holder: string, limits: LaneLimits, lease: number): Promise<number>
  /** Give a slot back. */
  release(lane: string, holder: string): Promise<void>
}

export interface LaneLimits {
  concurrency?: number
  rate?: { limit: number; interval: number }
}

/** A piece of due work under a lease. */
export interface Work {
  /** `match`: an accepted event to match against the recipes; `step`: a step run. */
  kind: 'match' | 'step'
  /** The event id (match) or the run id (step). */
  id: string
  /** The lease; opaque to the engine. */
  token: string
}

export interface TakeRequest {
  /** Who takes it (one per engine): a name for logs and lease ownership. */
  worker: string
  limit: number
  /** Longest wait for work to become due, ms (0: answer at once). */
  wait: number
}

export interface Settlement {
  patch?: RunPatch
  schedule?: ScheduleEntry[]
}

export interface ScheduleEntry {
  runId: string
  /** Due time, ms since epoch. */
  at: number
}

export interface ScheduleStats {
  /** Work in the schedule, due or not, leased or not. */
  scheduled: number
  due: number
  leased: number
  /** Earliest due time (ms since epoch) of the work that is due now and not leased; undefined when there is none. */
  oldestDueAt?: number
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

export interface EventListQuery {
  type?: EventType
  /** Only events before this one in the listing order (received time, then id, both descending). */
  before?: { receivedAt: number; id: string }
  /** Default 20. */
  limit?: number
}

/** One event in a listing: what the rules need to tell its status. */
export interface EventRecord {
  id: string
  type: EventType
  receivedAt: number
  dispatched: boolean
  /** Its runs, in no particular order. */
  runs: RunBrief[]
  /** `name` of the body when it has one (titles do). */
  title?: string
}

/** One run of an event in a listing: enough to tell the event's status, filter by recipe, and count outcomes over time. */
export interface RunBrief {
  recipe: string
  action: string
  state: RunState
  /** Last change, ms since epoch. */
  updatedAt: number
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
  /** In the schedule from the start (a recipe's first step); the others are scheduled as earlier steps end. */
  queue?: boolean
}

export interface StepRun extends Omit<NewRun, 'queue'> {
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
  /** null clears it. */
  error?: string | null
  /** Set the attempt counter (a person retried the run; a shutdown cut an attempt off). */
  attempt?: number
  /**
   * Written only if the run is still in this state at this attempt (a rule
   * deciding on what it read, such as a cut-off run, must not overwrite what
   * another worker wrote since): otherwise nothing of the patch is written.
   * In `settle`, the work still ends and `schedule` still applies.
   */
  expect?: { state: RunState; attempt: number }
  /**
   * In the same write, mark the pending later steps of this run's recipe
   * skipped with this reason as their `error`, so a crash cannot run them
   * after a failure.
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
  /** The `error` of each run it replaces (the rules word it). */
  reason: string
}

export interface PruneResult {
  events: number
  runs: number
  keys: number
}
