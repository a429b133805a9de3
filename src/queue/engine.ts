import PQueue from 'p-queue'
import { evaluate, explain } from '../match/condition.js'
import { buildContext } from '../render/context.js'
import type { Renderer } from '../render/renderer.js'
import type { StepRun, Store } from '../store/store.js'
import type { AcceptedEvent } from '../receive/receiver.js'
import type { EventType, Logger, ResolvedConfig } from '../types.js'
import { createEventCache, type LoadedEvent } from './event-cache.js'
import { createLimits } from './limits.js'
import type { Plan } from './plan.js'
import { createStepRunner } from './step-runner.js'
import { createTimerQueue } from './timer-queue.js'

export interface EngineOptions {
  config: ResolvedConfig
  store: Store
  plan: Plan
  renderer: Renderer
  log: Logger
}

export interface Engine {
  /** Match a newly accepted event against the recipes and queue its steps; a parsed body saves a second parse. */
  submit(event: AcceptedEvent): void
  /** Schedule one stored run (a person retried it). */
  resume(run: StepRun): void
  /** Resume what a previous process left: unmatched events, pending, retrying and cut-off steps. */
  recover(): Promise<void>
  /** Resolves when nothing is queued, running or waiting for a retry. */
  idle(): Promise<void>
  /** Stop starting work; let running steps finish within `grace` ms, then abort them. */
  stop(grace: number): Promise<void>
  stats(): { queued: number; running: number; waiting: number }
}

/**
 * The engine: match → record runs → queue steps in order → run through the
 * plugin → retry or finish. Every decision is written to the store before it
 * is acted on, so a killed process resumes where it was.
 */
export function createEngine({ config, store, plan, renderer, log }: EngineOptions): Engine {
  const queue = new PQueue({ concurrency: config.queue.concurrency })
  const limits = createLimits(queue)
  // One timer for every run that waits (a retry, a debounce): the earliest is armed.
  const timers = createTimerQueue()
  let busy = 0
  let stopping = false
  const idleWaiters: Array<() => void> = []

  const failures = new Map<string, number>()
  /** Runs engine work; when the store fails under it, the work is tried again later with backoff. */
  const track = async (work: () => Promise<void>, about: Record<string, unknown> = {}, again?: (delay: number) => void) => {
    busy++
    const id = String(about.runId ?? about.eventId)
    try {
      await work()
      failures.delete(id)
    } catch (err) {
      if (!stopping) {
        const n = (failures.get(id) ?? 0) + 1
        failures.set(id, n)
        const delay = Math.min(5_000, 250 * 2 ** n)
        log.error({ ...about, err, retryIn: delay }, 'engine error (is the store failing?); trying again')
        again?.(delay)
      }
    } finally {
      busy--
      if (backlog && busy < highWater / 2) void pump()
      if (busy === 0 && timers.size === 0 && !backlog && !pumping) for (const w of idleWaiters.splice(0)) w()
    }
  }

  // Backpressure: at most `highWater` runs and matches are held in memory. Beyond that, accepted
  // events wait in the store (they are durable already) and are pulled in order as work drains.
  const highWater = Math.max(64, config.queue.concurrency * 8)
  let backlog = false
  let pumping = false
  const dispatching = new Set<string>()
  // Where the pump left off; events before it are dispatched, in flight, or retried by their own timer.
  let cursor = ''
  async function pump(): Promise<void> {
    if (pumping || stopping) return
    pumping = true
    try {
      for (;;) {
        if (busy >= highWater) return
        const batch = await store.undispatchedEvents(highWater, cursor)
        if (batch.length === 0) {
          backlog = false
          cursor = ''
          return
        }
        for (const event of batch) {
          if (busy >= highWater) return
          cursor = event.id
          if (!dispatching.has(event.id) && !timers.has(`dispatch:${event.id}`)) startDispatch(event)
        }
      }
    } catch (err) {
      log.error({ err }, 'could not read waiting events from the store; trying again in 1 s')
      setTimeout(() => void pump(), 1000).unref()
    } finally {
      pumping = false
      if (busy === 0 && timers.size === 0 && !backlog) for (const w of idleWaiters.splice(0)) w()
    }
  }

  function startDispatch(event: { id: string; type: EventType }): void {
    dispatching.add(event.id)
    void track(
      () => dispatch(event.id).finally(() => dispatching.delete(event.id)),
      { eventId: event.id },
      (d) => submitLater(event, d),
    )
  }

  const events = createEventCache(store)
  const steps = createStepRunner({ config, store, plan, renderer, log, limits, events, next: (run) => schedule(run) })

  function schedule(run: Pick<StepRun, 'id' | 'eventId' | 'runAt'>): void {
    if (stopping) return
    // Only ids wait: the run is read again from the store when it is due.
    const { id, eventId } = run
    const start = () =>
      void track(
        () => steps.run(id),
        { eventId, runId: id },
        (d) => schedule({ id, eventId, runAt: Date.now() + d }),
      )
    if (run.runAt > Date.now()) timers.set(id, run.runAt, start)
    else start()
  }

  function submitLater(event: { id: string; type: EventType }, delay: number): void {
    if (stopping) return
    const { id, type } = event
    timers.set(
      `dispatch:${id}`,
      Date.now() + delay,
      () =>
        void track(
          () => dispatch(id),
          { eventId: id },
          (d) => submitLater({ id, type }, d),
        ),
    )
  }

  /**
   * Decide about the first open run of a job found at start-up. A run cut off
   * mid-attempt runs again, unless it already used all its attempts (a step
   * that crashes the process must not crash it forever); a job whose earlier
   * step failed for good (a crash between the two writes) is not continued.
   */
  async function settleCutOff(run: StepRun): Promise<boolean> {
    const planned = plan.byName.get(run.recipe)?.steps.find((s) => s.index === run.stepIndex)
    const siblings = (await store.runsForEvent(run.eventId)).filter((r) => r.recipe === run.recipe && r.stepIndex < run.stepIndex)
    const failedBefore = siblings.find(
      (r) => r.state === 'dead' && !plan.byName.get(r.recipe)?.steps.find((s) => s.index === r.stepIndex)?.step.continueOnError,
    )
    if (failedBefore) {
      await store.updateRun(run.id, {
        state: 'skipped',
        error: `skipped: step ${failedBefore.stepIndex + 1} failed`,
        skipLater: `skipped: step ${failedBefore.stepIndex + 1} failed`,
      })
      return false
    }
    if (run.state !== 'running') return true
    const attempts = planned?.retry.attempts ?? config.queue.retry.attempts
    if (run.attempt >= attempts) {
      log.error(
        { eventId: run.eventId, runId: run.id, recipe: run.recipe, step: run.stepIndex + 1 },
        'step was cut off by a restart on its last attempt; marking it dead',
      )
      await store.updateRun(run.id, {
        state: 'dead',
        error: `cut off by a restart on attempt ${run.attempt} of ${attempts} (did it crash the process?)`,
        skipLater: `skipped: step ${run.stepIndex + 1} failed`,
      })
      return false
    }
    log.warn(
      { eventId: run.eventId, runId: run.id, recipe: run.recipe, step: run.stepIndex + 1 },
      'step was cut off by a restart; running it again',
    )
    await store.updateRun(run.id, { state: 'retrying', runAt: Date.now() })
    run.state = 'retrying'
    run.runAt = Date.now()
    return true
  }

  async function dispatch(id: string): Promise<void> {
    const lease = await events.acquire(id)
    if (!lease) return
    try {
      await match(id, lease.event)
    } finally {
      lease.release()
    }
  }

  async function match(id: string, event: LoadedEvent): Promise<void> {
    // Matched already (the store re-checks this when recording the runs).
    if (event.dispatched) return
    const ctxBase = { payload: event.payload, event: event.info, vars: config.vars, steps: {} }
    const matched = plan.recipes.filter(({ recipe, events }) => {
      if (recipe.enabled === false || !events.has(event.type)) return false
      if (!recipe.when) return true
      const ctx = buildContext({ ...ctxBase, recipe: { name: recipe.name } })
      const ok = evaluate(recipe.when, ctx)
      if (!ok) log.debug({ eventId: id, recipe: recipe.name, reason: explain(recipe.when, ctx)?.reason }, 'recipe did not match')
      return ok
    })
    const now = Date.now()
    const runs = await store.dispatch(
      id,
      matched.flatMap(({ recipe, steps: planned }) =>
        planned.map((s) => ({
          recipe: recipe.name,
          stepIndex: s.index,
          action: s.step.action,
          runAt: now,
          ...(s.step.name ? { stepName: s.step.name } : {}),
        })),
      ),
    )
    if (!runs) return
    log.info(
      { eventId: id, event: event.type, recipes: matched.map((m) => m.recipe.name) },
      matched.length ? 'event matched' : 'event matched no recipe',
    )
    // Every matched recipe gets a run for each of its steps, from step 0; later steps follow in order.
    for (const run of runs) if (run.stepIndex === 0) schedule(run)
  }

  return {
    submit(accepted) {
      if (stopping) return
      const { id, type, payload, text, receivedAt } = accepted
      if (payload && text !== undefined && receivedAt !== undefined) events.offer({ id, type, payload, receivedAt }, text)
      // Only the id travels on: closures that kept the body would hold it outside the memory budget.
      const event = { id, type }
      // Behind a backlog, in order: the pump takes it from the store.
      if (backlog || busy >= highWater) {
        backlog = true
        return
      }
      startDispatch(event)
    },
    resume: (run) => schedule(run),
    async recover() {
      const open = await store.openRuns()
      const jobs = new Map<string, StepRun>()
      for (const run of open) {
        const job = `${run.eventId}\u0000${run.recipe}`
        const first = jobs.get(job)
        if (!first || run.stepIndex < first.stepIndex) jobs.set(job, run)
      }
      let resumed = 0
      for (const run of jobs.values()) {
        if (await settleCutOff(run)) {
          schedule(run)
          resumed++
        }
      }
      // Match what was accepted but not matched yet, through the same backpressure as new events.
      backlog = true
      await pump()
      if (open.length) log.info({ runs: open.length, resumed }, 'resumed unfinished steps')
    },
    idle() {
      if (busy === 0 && timers.size === 0 && !backlog && !pumping) return Promise.resolve()
      return new Promise((resolve) => idleWaiters.push(resolve))
    },
    async stop(grace) {
      stopping = true
      timers.clear()
      limits.stop()
      queue.pause()
      queue.clear()
      const done = queue.onPendingZero()
      const timedOut = await Promise.race([done.then(() => false), new Promise<boolean>((r) => setTimeout(r, grace, true).unref())])
      if (timedOut) {
        steps.abortAll('the runner is shutting down')
        await Promise.race([queue.onPendingZero(), new Promise((r) => setTimeout(r, 1000).unref())])
      }
      for (const w of idleWaiters.splice(0)) w()
    },
    stats: () => ({ queued: queue.size, running: queue.pending, waiting: timers.size }),
  }
}
