import { existsSync } from 'node:fs'
import { relative } from 'node:path'
import { readConfig } from '../config/read.js'
import { RunnerError } from '../errors.js'
import { createLogger } from '../log.js'
import { createEngine } from '../queue/engine.js'
import { type Setup, setup } from '../setup.js'
import { createStore } from '../store/create.js'
import { EVENT_STATUSES, type EventStatus, type RunState, type StepRun, type Store } from '../store/store.js'
import type { ResolvedConfig } from '../types.js'
import { reportError } from './output.js'

/** The config and its existing store. */
async function openStore(configFile: string | undefined): Promise<{ config: ResolvedConfig; store: Store }> {
  const config = await readConfig(configFile ? { configFile } : {})
  return { config, store: existingStore(config) }
}

/** The store of this config, which must exist already: reading never creates an empty one in the wrong folder. */
function existingStore(config: ResolvedConfig): Store {
  if (config.store.path !== ':memory:' && !existsSync(config.store.path)) {
    throw new RunnerError(
      'store_not_found',
      `no store at ${relative(process.cwd(), config.store.path) || config.store.path}: run this in the runner's folder, or pass --config`,
    )
  }
  return createStore(config)
}

/** `events`: recent events with their status, newest first. */
export async function eventsCommand(options: { config?: string; status?: string; limit?: number; json?: boolean }): Promise<void> {
  try {
    if (options.status && !(EVENT_STATUSES as readonly string[]).includes(options.status))
      throw new RunnerError('bad_status', `unknown status "${options.status}"; use one of ${EVENT_STATUSES.join(', ')}`)
    const { config, store } = await openStore(options.config)
    const events = await store.listEvents({
      ...(options.status ? { status: options.status as EventStatus } : {}),
      limit: options.limit ?? 20,
    })
    if (options.json) {
      process.stdout.write(`${JSON.stringify(events, null, 2)}\n`)
    } else if (events.length === 0) {
      process.stdout.write(
        `no events${options.status ? ` with status ${options.status}` : ''} in ${relative(process.cwd(), config.store.path) || config.store.path}\n`,
      )
    } else {
      const rows = events.map((e) => [e.id, e.type, new Date(e.receivedAt).toISOString(), e.status, String(e.runs), e.title ?? ''])
      process.stdout.write(table([['ID', 'EVENT', 'RECEIVED', 'STATUS', 'STEPS', 'TITLE'], ...rows]))
      const hinted = events.filter((x) => x.status === 'dead' || x.status === 'previewed')
      for (const e of hinted) process.stdout.write(await retryHints(store, e.id))
    }
    await store.close()
  } catch (err) {
    reportError(err)
  }
}

/** `replay`: run a stored event again, as a new event with its own runs, in this process. */
export async function replayCommand(eventId: string, options: { config?: string }): Promise<void> {
  await runHere(options, async (store, engine) => {
    const copy = await store.replayEvent(eventId, Date.now())
    if (!copy) throw new RunnerError('event_not_found', `no event ${eventId} in the store (see: audiorista-runner events)`)
    const event = (await store.getEvent(copy))!
    process.stderr.write(`replaying ${eventId} as ${copy}\n`)
    engine.submit({ id: copy, type: event.type })
    return { eventId: copy }
  })
}

/** Under an event's listing: each dead or previewed run, and the command that runs it (again, or for real). */
async function retryHints(store: Store, eventId: string): Promise<string> {
  const runs = (await store.runsForEvent(eventId)).filter((r) => r.state === 'dead' || r.state === 'previewed')
  return runs
    .map((r) => {
      const head = `  ${r.id} ${r.recipe} step ${r.stepIndex + 1} (${r.action}):`
      if (r.state === 'dead') return `${head} ${r.error ?? 'failed'}\n    → audiorista-runner retry ${r.id}\n`
      return `${head} previewed, nothing was sent\n    → once its credentials are set: audiorista-runner retry ${r.id}\n`
    })
    .join('')
}

const RETRYABLE: readonly RunState[] = ['dead', 'skipped', 'previewed']

/**
 * The steps that run again after `run`: the ones right after it in its recipe
 * that never ran for real (skipped or previewed), up to the first that did
 * (done: it never runs twice) or failed (dead: retried by its own id).
 */
function stepsAfter(run: StepRun, all: StepRun[]): StepRun[] {
  const later = all.filter((r) => r.recipe === run.recipe && r.stepIndex > run.stepIndex).sort((a, b) => a.stepIndex - b.stepIndex)
  const stop = later.findIndex((r) => r.state !== 'skipped' && r.state !== 'previewed')
  return stop < 0 ? later : later.slice(0, stop)
}

/** `retry`: run a dead, skipped or previewed step again (for real), then the steps after it that never ran for real. */
export async function retryCommand(runId: string, options: { config?: string }): Promise<void> {
  await runHere(options, async (store, engine, { plan }) => {
    const run = await store.getRun(runId)
    if (!run) throw new RunnerError('run_not_found', `no run ${runId} in the store (see: audiorista-runner events --status dead)`)
    if (!RETRYABLE.includes(run.state)) {
      throw new RunnerError('run_not_final', `run ${runId} is ${run.state}; only dead, skipped or previewed runs can be retried`)
    }
    const planned = plan.byName.get(run.recipe)?.steps.find((s) => s.index === run.stepIndex)
    if (run.state === 'previewed' && planned?.previewReason) {
      const why = `${planned.label} would only preview again (${planned.previewReason})`
      throw new RunnerError('still_preview', `${why}; set its credentials, then retry ${runId}`)
    }
    const later = stepsAfter(run, await store.runsForEvent(run.eventId))
    for (const r of later) await store.updateRun(r.id, { state: 'pending', error: null, attempt: 0 })
    await store.updateRun(run.id, { state: 'pending', error: null, attempt: 0, runAt: Date.now() })
    engine.resume((await store.getRun(runId)) as StepRun)
    return { eventId: run.eventId, recipe: run.recipe, fromStep: run.stepIndex }
  })
}

type Arranged = { eventId: string; recipe?: string; fromStep?: number }
type Arrange = (store: Store, engine: ReturnType<typeof createEngine>, prepared: Setup) => Promise<Arranged>

/** Runs the work to the end in this process, logging to stderr, and prints the runs it touched. */
async function runHere(options: { config?: string }, arrange: Arrange): Promise<void> {
  try {
    // A person asked for this run: missing credentials preview rather than refuse, as at start-up.
    const prepared = await setup({ ...(options.config ? { configFile: options.config } : {}), strict: false })
    const store = existingStore(prepared.config)
    const log = createLogger({ destination: process.stderr, pretty: Boolean(process.stderr.isTTY) })
    const engine = createEngine({ ...prepared, store, log })
    const target = await arrange(store, engine, prepared)
    await engine.idle()
    const runs = (await store.runsForEvent(target.eventId)).filter(
      (r) => target.recipe === undefined || (r.recipe === target.recipe && r.stepIndex >= (target.fromStep ?? 0)),
    )
    for (const r of runs)
      process.stdout.write(`${r.id} ${r.recipe} step ${r.stepIndex + 1} (${r.action}): ${r.state}${r.error ? ` — ${r.error}` : ''}\n`)
    await store.close()
    await prepared.registry.close()
    if (runs.some((r) => r.state === 'dead')) process.exitCode = 1
  } catch (err) {
    reportError(err)
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
