import PQueue from 'p-queue'
import { evaluate, explain } from '../match/condition.js'
import { buildContext } from '../render/context.js'
import type { Renderer } from '../render/renderer.js'
import type { StepRun, Store } from '../store/store.js'
import type { EventType, Logger, ResolvedConfig } from '../types.js'
import { createLimits } from './limits.js'
import type { Plan } from './plan.js'
import { createStepRunner } from './step-runner.js'

export interface EngineOptions {
  config: ResolvedConfig
  store: Store
  plan: Plan
  renderer: Renderer
  log: Logger
}

export interface Engine {
  /** Match a newly accepted event against the recipes and queue its steps. */
  submit(event: { id: string; type: EventType }): void
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
  const limits = createLimits()
  const timers = new Map<string, NodeJS.Timeout>()
  let busy = 0
  let stopping = false
  let idleWaiters: Array<() => void> = []

  const track = async (work: () => Promise<void>) => {
    busy++
    try {
      await work()
    } catch (err) {
      log.error({ err }, 'engine error')
    } finally {
      busy--
      if (busy === 0 && timers.size === 0) for (const w of idleWaiters.splice(0)) w()
    }
  }

  const steps = createStepRunner({ config, store, plan, renderer, log, queue, limits, next: (run) => schedule(run) })

  function schedule(run: StepRun): void {
    if (stopping) return
    const delay = run.runAt - Date.now()
    if (delay > 0) {
      clearTimeout(timers.get(run.id))
      const timer = setTimeout(() => {
        timers.delete(run.id)
        void track(() => steps.run(run.id))
      }, delay)
      timers.set(run.id, timer)
      return
    }
    void track(() => steps.run(run.id))
  }

  async function dispatch(id: string): Promise<void> {
    const event = await store.getEvent(id)
    if (!event || event.dispatchedAt !== undefined) return
    const payload = JSON.parse(event.body) as Record<string, unknown>
    const ctxBase = { payload, event: { id, type: event.type, receivedAt: new Date(event.receivedAt).toISOString() }, vars: config.vars, steps: {} }
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
        planned.map((s) => ({ recipe: recipe.name, stepIndex: s.index, action: s.step.action, runAt: now, ...(s.step.name ? { stepName: s.step.name } : {}) })),
      ),
    )
    if (!runs) return
    log.info({ eventId: id, event: event.type, recipes: matched.map((m) => m.recipe.name) }, matched.length ? 'event matched' : 'event matched no recipe')
    for (const run of runs) if (run.stepIndex === firstIndex(runs, run)) schedule(run)
  }

  return {
    submit(event) {
      if (stopping) return
      void track(() => dispatch(event.id))
    },
    resume: (run) => schedule(run),
    async recover() {
      const open = await store.openRuns()
      const jobs = new Map<string, StepRun>()
      for (const run of open) {
        if (run.state === 'running') {
          log.warn({ eventId: run.eventId, runId: run.id, recipe: run.recipe, step: run.stepIndex + 1 }, 'step was cut off by a restart; running it again')
          await store.updateRun(run.id, { state: 'retrying', runAt: Date.now() })
          run.state = 'retrying'
          run.runAt = Date.now()
        }
        const job = `${run.eventId}\u0000${run.recipe}`
        const first = jobs.get(job)
        if (!first || run.stepIndex < first.stepIndex) jobs.set(job, run)
      }
      for (const run of jobs.values()) schedule(run)
      for (let batch = await store.undispatchedEvents(500); batch.length > 0; batch = await store.undispatchedEvents(500)) {
        for (const event of batch) await track(() => dispatch(event.id))
      }
      if (open.length) log.info({ runs: open.length, jobs: jobs.size }, 'resumed unfinished steps')
    },
    idle() {
      if (busy === 0 && timers.size === 0) return Promise.resolve()
      return new Promise((resolve) => idleWaiters.push(resolve))
    },
    async stop(grace) {
      stopping = true
      for (const t of timers.values()) clearTimeout(t)
      timers.clear()
      queue.clear()
      limits.clear()
      const done = queue.onIdle()
      const timedOut = await Promise.race([done.then(() => false), new Promise<boolean>((r) => setTimeout(r, grace, true).unref())])
      if (timedOut) {
        steps.abortAll('the runner is shutting down')
        await Promise.race([queue.onIdle(), new Promise((r) => setTimeout(r, 1000).unref())])
      }
      idleWaiters = []
    },
    stats: () => ({ queued: queue.size, running: queue.pending, waiting: timers.size }),
  }
}

function firstIndex(runs: StepRun[], run: StepRun): number {
  let min = run.stepIndex
  for (const r of runs) if (r.recipe === run.recipe && r.stepIndex < min) min = r.stepIndex
  return min
}
