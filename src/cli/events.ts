import { createLogger } from '../log.js'
import { createEngine } from '../queue/engine.js'
import { setup } from '../setup.js'
import { createStore } from '../store/create.js'
import { EVENT_STATUSES, type EventStatus, type StepRun } from '../store/store.js'
import { reportError } from './output.js'

/** `events`: recent events with their status, newest first. */
export async function eventsCommand(options: { config?: string; status?: string; limit?: number; json?: boolean }): Promise<void> {
  try {
    if (options.status && !(EVENT_STATUSES as readonly string[]).includes(options.status)) throw new Error(`unknown status "${options.status}"; use one of ${EVENT_STATUSES.join(', ')}`)
    const { config } = await setup(options.config ? { configFile: options.config } : {})
    const store = createStore(config)
    const events = await store.listEvents({ ...(options.status ? { status: options.status as EventStatus } : {}), limit: options.limit ?? 20 })
    if (options.json) {
      process.stdout.write(`${JSON.stringify(events, null, 2)}\n`)
    } else if (events.length === 0) {
      process.stdout.write(`no events${options.status ? ` with status ${options.status}` : ''} in ${config.store.path}\n`)
    } else {
      const rows = events.map((e) => [e.id, e.type, new Date(e.receivedAt).toISOString(), e.status, String(e.runs), e.title ?? ''])
      process.stdout.write(table([['ID', 'EVENT', 'RECEIVED', 'STATUS', 'STEPS', 'TITLE'], ...rows]))
      for (const e of events.filter((x) => x.status === 'dead')) {
        const dead = (await store.runsForEvent(e.id)).filter((r) => r.state === 'dead')
        for (const r of dead) process.stdout.write(`  ${e.id} ${r.id} ${r.recipe} step ${r.stepIndex + 1} (${r.action}): ${r.error ?? 'failed'}  → retry ${r.id}\n`)
      }
    }
    await store.close()
  } catch (err) {
    reportError(err)
  }
}

/** `replay`: match a stored event again and run what matches now, in this process. */
export async function replayCommand(eventId: string, options: { config?: string }): Promise<void> {
  await runHere(options, async (store) => {
    const event = await store.getEvent(eventId)
    if (!event) throw new Error(`no event ${eventId} in the store (see: audiorista-runner events)`)
    await store.reopenEvent(eventId)
    return { id: event.id, type: event.type }
  })
}

/** `retry`: run a dead or skipped step again, then the steps after it. */
export async function retryCommand(runId: string, options: { config?: string }): Promise<void> {
  await runHere(options, async (store) => {
    const run = await store.getRun(runId)
    if (!run) throw new Error(`no run ${runId} in the store (see: audiorista-runner events --status dead)`)
    if (run.state !== 'dead' && run.state !== 'skipped') throw new Error(`run ${runId} is ${run.state}; only dead or skipped runs can be retried`)
    const later = (await store.runsForEvent(run.eventId)).filter((r) => r.recipe === run.recipe && r.stepIndex > run.stepIndex && r.state === 'skipped')
    for (const r of later) await store.updateRun(r.id, { state: 'pending', error: null, attempt: 0 })
    await store.updateRun(run.id, { state: 'pending', error: null, attempt: 0, runAt: Date.now() })
    return (await store.getRun(runId)) as StepRun
  })
}

async function runHere(options: { config?: string }, arrange: (store: ReturnType<typeof createStore>) => Promise<{ id: string; type: StepRun['action'] } | StepRun>): Promise<void> {
  try {
    const prepared = await setup(options.config ? { configFile: options.config } : {})
    const store = createStore(prepared.config)
    const log = createLogger()
    const engine = createEngine({ ...prepared, store, log })
    const target = await arrange(store)
    if ('eventId' in target) engine.resume(target)
    else engine.submit(target as { id: string; type: never })
    await engine.idle()
    const eventId = 'eventId' in target ? target.eventId : target.id
    const runs = await store.runsForEvent(eventId)
    for (const r of runs) process.stdout.write(`${r.id} ${r.recipe} step ${r.stepIndex + 1} (${r.action}): ${r.state}${r.error ? ` — ${r.error}` : ''}\n`)
    await store.close()
    await prepared.registry.close()
    if (runs.some((r) => r.state === 'dead')) process.exitCode = 1
  } catch (err) {
    reportError(err)
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return `${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`
}
