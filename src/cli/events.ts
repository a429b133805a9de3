import { existsSync } from 'node:fs'
import { relative } from 'node:path'
import { readConfig } from '../config/read.js'
import { RunnerError } from '../errors.js'
import { createLogger } from '../log.js'
import { createEngine } from '../queue/engine.js'
import { type EventDetail, eventDetail, listEvents } from '../queue/inspect.js'
import { canRetry, EVENT_STATUSES, type EventStatus, retryRun } from '../queue/rules.js'
import { type Setup, setup } from '../setup.js'
import { type Backend, FINAL_STATES, type StepRun } from '../store/backend.js'
import { createBackend } from '../store/create.js'
import type { ResolvedConfig } from '../config/resolved.js'
import { indent, printable, reportError } from './output.js'

/** The config and its existing store; `readOnly` takes no lock, so listing works beside a running runner. */
async function openStore(configFile: string | undefined, readOnly: boolean): Promise<{ config: ResolvedConfig; store: Backend }> {
  const config = await readConfig(configFile ? { configFile } : {})
  return { config, store: await existingStore(config, readOnly) }
}

/** The store of this config, which must exist already: reading never creates an empty one in the wrong folder. */
async function existingStore(config: ResolvedConfig, readOnly: boolean): Promise<Backend> {
  const store = config.store
  if (store.driver === 'sqlite' && store.path !== ':memory:' && !existsSync(store.path)) {
    throw new RunnerError(
      'store_not_found',
      `no store at ${relative(process.cwd(), store.path) || store.path}: run this in the runner's folder, or pass --config`,
    )
  }
  return createBackend(config, { readOnly, onWarning: () => {} })
}

function where(config: ResolvedConfig): string {
  const store = config.store
  return store.driver === 'sqlite' ? relative(process.cwd(), store.path) || store.path : `Redis (prefix ${store.prefix})`
}

/** `events`: recent events with their status, newest first. */
export async function eventsCommand(options: { config?: string; status?: string; limit?: number; json?: boolean }): Promise<void> {
  try {
    if (options.status && !(EVENT_STATUSES as readonly string[]).includes(options.status))
      throw new RunnerError('bad_status', `unknown status "${options.status}"; use one of ${EVENT_STATUSES.join(', ')}`)
    const { config, store } = await openStore(options.config, true)
    const events = await listEvents(store, {
      ...(options.status ? { status: options.status as EventStatus } : {}),
      limit: options.limit ?? 20,
    })
    if (options.json) {
      process.stdout.write(`${JSON.stringify(events, null, 2)}\n`)
    } else if (events.length === 0) {
      process.stdout.write(`no events${options.status ? ` with status ${options.status}` : ''} in ${where(config)}\n`)
    } else {
      const rows = events.map((e) => [
        e.id,
        e.type,
        new Date(e.receivedAt).toISOString(),
        e.status,
        String(e.runs),
        printable(e.title ?? ''),
      ])
      process.stdout.write(table([['ID', 'EVENT', 'RECEIVED', 'STATUS', 'STEPS', 'TITLE'], ...rows]))
      const hinted = events.filter((x) => x.status === 'dead' || x.status === 'previewed')
      for (const e of hinted) process.stdout.write(await retryHints(store, e.id))
    }
    await store.close()
  } catch (err) {
    reportError(err)
  }
}

/** `events show ID`: one event, its payload, and each run with its masked input, result and error: what the console's detail page shows. */
export async function showEventCommand(eventId: string, options: { config?: string; json?: boolean }): Promise<void> {
  try {
    const { store } = await openStore(options.config, true)
    try {
      const detail = await eventDetail(store, eventId)
      if (!detail) throw new RunnerError('event_not_found', `no event ${eventId} in the store (see: audiorista-runner events)`)
      process.stdout.write(options.json ? `${JSON.stringify(detail, null, 2)}\n` : formatDetail(detail))
    } finally {
      await store.close()
    }
  } catch (err) {
    reportError(err)
  }
}

function formatDetail({ event, runs }: EventDetail): string {
  const time = (ms: number) => new Date(ms).toISOString()
  const out = [`${event.id}  ${event.type}  ${event.status}`, `received: ${time(event.receivedAt)}`]
  if (event.matchedAt !== undefined) out.push(`matched:  ${time(event.matchedAt)}`)
  if (event.title !== undefined) out.push(`title:    ${printable(event.title)}`)
  out.push('', 'payload:', indent(JSON.stringify(event.payload, null, 2), 2), '')
  if (runs.length === 0) out.push(event.status === 'received' ? 'not matched yet' : 'no recipe matched it')
  else out.push(`runs (${runs.length}):`)
  for (const r of runs) {
    const name = r.stepName ? ` "${r.stepName}"` : ''
    const took = ((r.updatedAt - r.createdAt) / 1000).toFixed(1)
    out.push(
      `  ${r.id}  ${r.recipe} step ${r.step}${name} (${r.action}): ${r.state}, attempt ${r.attempt}, ${time(r.createdAt)} + ${took} s`,
    )
    if (r.input !== undefined) out.push(`    input:  ${indent(JSON.stringify(r.input, null, 2), 4).trimStart()}`)
    if (r.result !== undefined) out.push(`    result: ${indent(JSON.stringify(r.result, null, 2), 4).trimStart()}`)
    if (r.error !== undefined) out.push(`    error:  ${printable(r.error)}`)
    if (canRetry(r.state)) out.push(`    → audiorista-runner retry ${r.id}`)
  }
  if (event.status !== 'received') out.push('', `→ audiorista-runner replay ${event.id}   (runs it again as a new event)`)
  return `${out.join('\n')}\n`
}

/** `replay`: run a stored event again, as a new event with its own runs. */
export async function replayCommand(eventId: string, options: { config?: string }): Promise<void> {
  await runHere(options, async (store) => {
    const copy = await store.replayEvent(eventId, Date.now())
    if (!copy) throw new RunnerError('event_not_found', `no event ${eventId} in the store (see: audiorista-runner events)`)
    process.stderr.write(`replaying ${eventId} as ${copy}\n`)
    return { eventId: copy }
  })
}

/** Under an event's listing: each dead or previewed run, and the command that runs it (again, or for real). */
async function retryHints(store: Backend, eventId: string): Promise<string> {
  const runs = (await store.runsForEvent(eventId)).filter((r) => r.state === 'dead' || r.state === 'previewed')
  return runs
    .map((r) => {
      const head = `  ${r.id} ${r.recipe} step ${r.stepIndex + 1} (${r.action}):`
      if (r.state === 'dead') return `${head} ${printable(r.error ?? 'failed')}\n    → audiorista-runner retry ${r.id}\n`
      return `${head} previewed, nothing was sent\n    → once its credentials are set: audiorista-runner retry ${r.id}\n`
    })
    .join('')
}

/** `retry`: run a dead, skipped or previewed step again (for real), then the steps after it that never ran for real. */
export async function retryCommand(runId: string, options: { config?: string }): Promise<void> {
  await runHere(options, async (store, { plan }) => {
    const run = await retryRun(store, plan, runId)
    return { eventId: run.eventId, recipe: run.recipe, fromStep: run.stepIndex }
  })
}

type Arranged = { eventId: string; recipe?: string; fromStep?: number }
type Arrange = (store: Backend, prepared: Setup) => Promise<Arranged>

/**
 * Arranges the work, waits until it has run to the end, and prints the runs
 * it touched. On SQLite this process is the only one on the store (it takes
 * the lock), so it works the schedule itself; on Redis the replicas do.
 */
async function runHere(options: { config?: string }, arrange: Arrange): Promise<void> {
  try {
    // A person asked for this run: missing credentials preview rather than refuse, as at start-up.
    const prepared = await setup({ ...(options.config ? { configFile: options.config } : {}), strict: false })
    const store = await existingStore(prepared.config, false)
    const log = createLogger({ destination: process.stderr, pretty: Boolean(process.stderr.isTTY) })
    const engine = prepared.config.store.driver === 'sqlite' ? createEngine({ ...prepared, backend: store, log }) : undefined
    try {
      const target = await arrange(store, prepared)
      engine?.start()
      const mine = (r: StepRun) => target.recipe === undefined || (r.recipe === target.recipe && r.stepIndex >= (target.fromStep ?? 0))
      const runs = await settledRuns(store, target.eventId, mine, engine ? undefined : 'a replica')
      for (const r of runs)
        process.stdout.write(`${r.id} ${r.recipe} step ${r.stepIndex + 1} (${r.action}): ${r.state}${r.error ? ` — ${r.error}` : ''}\n`)
      if (runs.some((r) => r.state === 'dead')) process.exitCode = 1
    } finally {
      await engine?.stop(10_000)
      await store.close()
      await prepared.registry.close()
    }
  } catch (err) {
    reportError(err)
  }
}

/** Waits until the event is matched and the runs it picks are final; says so on stderr while others do the work. */
async function settledRuns(store: Backend, eventId: string, mine: (r: StepRun) => boolean, worker?: string): Promise<StepRun[]> {
  const started = Date.now()
  let told = 0
  for (;;) {
    const event = await store.getEvent(eventId)
    const runs = (await store.runsForEvent(eventId)).filter(mine)
    if (event?.dispatchedAt !== undefined && runs.every((r) => FINAL_STATES.includes(r.state))) return runs
    if (worker && Date.now() - started > 5_000 * (told + 1)) {
      told++
      process.stderr.write(`waiting for ${worker} to run it (is one running on this store?)\n`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return `${rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`
}
