import { RunnerError } from '../errors.js'
import { redact, redactText } from '../redact.js'
import type { Backend, EventRecord, StepRun } from '../store/backend.js'
import type { EventType } from '../types.js'
import { type EventStatus, eventStatus } from './rules.js'

/**
 * What a person looks at: one page of events found by filters, and one
 * event with its runs. The CLI (`events`, `events show`) and the console
 * read through here, above the backend seam, so both backends answer alike.
 */

export interface EventRow {
  id: string
  type: EventType
  receivedAt: number
  status: EventStatus
  /** How many step runs it has. */
  runs: number
  /** The recipes that matched it (those with runs), sorted. */
  recipes: string[]
  /** `name` of the body when it has one (titles do). */
  title?: string
}

export interface EventSearch {
  status?: EventStatus
  type?: EventType
  /** Only events with a run of this recipe. */
  recipe?: string
  /** Case-insensitive text in the title. */
  q?: string
  /** Default 50, at most 200 (`listEvents` takes any number). */
  limit?: number
  /** The `next` of the previous page. */
  before?: string
}

export interface EventPage {
  events: EventRow[]
  /** Where the next page starts; null on the last page. */
  next: string | null
}

/** At most this many events are read for one page of a filtered search; `next` goes on from there. */
export const SCAN_LIMIT = 5_000
export const MAX_PAGE = 200

/**
 * A page of events, newest first. A filter (status, recipe, text) is applied
 * while paging through the backend's listing; a search that reads
 * `SCAN_LIMIT` events without filling the page returns what it found with a
 * `next` cursor, so no request reads the whole store.
 */
export async function searchEvents(backend: Backend, search: EventSearch = {}): Promise<EventPage> {
  const limit = Math.min(MAX_PAGE, Math.max(1, search.limit ?? 50))
  const q = search.q?.trim().toLowerCase()
  const filtered = Boolean(search.status || search.recipe || q)
  const keep = (r: EventRecord, row: EventRow) =>
    (!search.status || row.status === search.status) &&
    (!search.recipe || r.runs.some((b) => b.recipe === search.recipe)) &&
    (!q || (r.title ?? '').toLowerCase().includes(q))
  const out: EventRow[] = []
  let scanned = 0
  const from = search.before ? decodeCursor(search.before) : undefined
  for await (const { records, more } of eventPages(backend, {
    size: filtered ? 200 : limit,
    ...(search.type ? { type: search.type } : {}),
    ...(from ? { before: from } : {}),
  })) {
    for (const [i, r] of records.entries()) {
      scanned++
      const row = toRow(r)
      if (keep(r, row)) out.push(row)
      const lastOfAll = i === records.length - 1 && !more
      if (out.length === limit || scanned >= SCAN_LIMIT) return { events: out, next: lastOfAll ? null : encodeCursor(r) }
    }
  }
  return { events: out, next: null }
}

/**
 * The backend's listing page by page, newest first, from `before` on: the
 * one cursor loop every reader of many events uses. `more` is false on the
 * last page (it came back short).
 */
export async function* eventPages(
  backend: Backend,
  { size, type, before }: { size: number; type?: EventType; before?: { receivedAt: number; id: string } },
): AsyncGenerator<{ records: EventRecord[]; more: boolean }> {
  let cursor = before
  for (;;) {
    const records = await backend.listEvents({ limit: size, ...(type ? { type } : {}), ...(cursor ? { before: cursor } : {}) })
    const last = records.at(-1)
    const more = last !== undefined && records.length === size
    yield { records, more }
    if (!more) return
    cursor = { receivedAt: last.receivedAt, id: last.id }
  }
}

/** Up to `limit` events (any number), page by page: for commands and scripts, which read as far as it takes. */
export async function listEvents(backend: Backend, { limit = 20, ...search }: Omit<EventSearch, 'before'> = {}): Promise<EventRow[]> {
  const out: EventRow[] = []
  let before: string | null = null
  do {
    const page = await searchEvents(backend, { ...search, limit: Math.min(MAX_PAGE, limit - out.length), ...(before ? { before } : {}) })
    out.push(...page.events)
    before = page.next
  } while (before !== null && out.length < limit)
  return out
}

export function toRow(r: EventRecord): EventRow {
  const row: EventRow = {
    id: r.id,
    type: r.type,
    receivedAt: r.receivedAt,
    status: eventStatus(r),
    runs: r.runs.length,
    recipes: [...new Set(r.runs.map((b) => b.recipe))].sort(),
  }
  if (r.title !== undefined) row.title = r.title
  return row
}

/** Opaque to clients: the listing position of the last event shown. */
export function encodeCursor({ receivedAt, id }: { receivedAt: number; id: string }): string {
  return Buffer.from(`${receivedAt}:${id}`).toString('base64url')
}

export function decodeCursor(cursor: string): { receivedAt: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString()
  const match = /^(\d{1,16}):([\w-]{1,100})$/.exec(text)
  if (!match) throw new RunnerError('bad_cursor', 'before: not a cursor from a previous page (use the `next` value as is)', { status: 400 })
  return { receivedAt: Number(match[1]), id: match[2]! }
}

export interface RunView {
  id: string
  eventId: string
  recipe: string
  /** 1-based, as `check` and `simulate` number steps. */
  step: number
  stepName?: string
  action: string
  state: StepRun['state']
  /** Attempts made so far. */
  attempt: number
  /** The rendered input of the last attempt, secrets masked. */
  input?: unknown
  result?: unknown
  error?: string
  createdAt: number
  /** When it is (or was) due. */
  runAt: number
  updatedAt: number
}

export interface EventDetail {
  event: {
    id: string
    type: EventType
    receivedAt: number
    /** When it was matched against the recipes. */
    matchedAt?: number
    status: EventStatus
    title?: string
    /** The body as received, parsed (the text itself if it no longer parses). */
    payload: unknown
  }
  /** By recipe, then step. */
  runs: RunView[]
}

/** One event, its payload and every run with its masked input, result and error; undefined when there is none. */
export async function eventDetail(backend: Backend, id: string): Promise<EventDetail | undefined> {
  const stored = await backend.getEvent(id)
  if (!stored) return undefined
  const runs = await backend.runsForEvent(id)
  const dispatched = stored.dispatchedAt !== undefined
  let payload: unknown
  try {
    payload = JSON.parse(stored.body)
  } catch {
    payload = stored.body
  }
  const event: EventDetail['event'] = {
    id: stored.id,
    type: stored.type,
    receivedAt: stored.receivedAt,
    status: eventStatus({ dispatched, runs }),
    payload,
  }
  if (dispatched) event.matchedAt = stored.dispatchedAt
  const title = (payload as { name?: unknown } | null)?.name
  if (typeof title === 'string') event.title = title
  return { event, runs: runs.map(toRunView) }
}

export function toRunView(r: StepRun): RunView {
  const view: RunView = {
    id: r.id,
    eventId: r.eventId,
    recipe: r.recipe,
    step: r.stepIndex + 1,
    action: r.action,
    state: r.state,
    attempt: r.attempt,
    createdAt: r.createdAt,
    runAt: r.runAt,
    updatedAt: r.updatedAt,
  }
  if (r.stepName !== undefined) view.stepName = r.stepName
  // Stored inputs are masked when written; masked again here in case an older version wrote them.
  if (r.input !== undefined) view.input = redact(r.input)
  if (r.result !== undefined) view.result = redact(r.result)
  if (r.error !== undefined) view.error = redactText(r.error)
  return view
}
