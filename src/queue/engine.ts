import { hostname } from 'node:os'
import PQueue from 'p-queue'
import { type Admission, admitWork } from './yield.js'
import type { AcceptedEvent } from '../receive/receiver.js'
import type { Renderer } from '../render/renderer.js'
import type { Backend, Settlement, Work } from '../store/backend.js'
import type { Logger } from '../types.js'
import type { ResolvedConfig } from '../config/resolved.js'
import { createEventCache, type LoadedEvent } from './event-cache.js'
import { createLimits } from './limits.js'
import { matchRecipes } from './decide.js'
import type { Plan, PlannedRecipe } from './plan.js'
import { createStepRunner, type Recipes, type StepOutcome } from './step-runner.js'
import { noTelemetry, type Telemetry } from '../telemetry.js'

export interface EngineOptions {
  config: ResolvedConfig
  backend: Backend
  plan: Plan
  renderer: Renderer
  log: Logger
  /** Where settled runs and matches are reported once written (metrics, the console's live view). */
  telemetry?: Telemetry
}

export interface Engine {
  /** Start taking work from the backend. */
  start(): void
  /** A delivery this process accepted, parsed already: kept for its match and steps, so it is not read and parsed again. */
  offer(event: AcceptedEvent): void
  /** Resolves when nothing is held here and nothing is left in the backend's schedule. */
  idle(): Promise<void>
  /**
   * Use these recipes from now on (a reload), at once: work taken from now on
   * sees them; a step already running finishes with the ones it started with.
   * Returns a promise of the moment no work taken before the swap is held.
   */
  swap(next: Recipes): { drained: Promise<void> }
  /** Stop taking work; let running steps finish within `grace` ms, then abort them; give back what never started. */
  stop(grace: number): Promise<void>
  stats(): { held: number; queued: number; running: number }
}

/** The log fields that name a piece of work: its event (a match) or its run (a step). */
const about = (work: Work) => (work.kind === 'match' ? { eventId: work.id } : { runId: work.id })

/** How long a `take` waits for work before asking again (also how soon a stop is noticed by a waiting take). */
const TAKE_WAIT = 1000

/**
 * The engine is a worker loop over the backend's schedule: take due work
 * under a lease, run it (a match, or a step through its plugin), settle it
 * (one write: the outcome and what is due next). It keeps no schedule of its
 * own, so any number of engines can work one backend that allows it.
 * p-queue bounds the steps running in this process at once.
 */
export function createEngine({ config, backend, plan, renderer, log, telemetry = noTelemetry }: EngineOptions): Engine {
  let current: Recipes = { config, plan, renderer }
  let reloaded = false
  const worker = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
  const queue = new PQueue({ concurrency: config.queue.concurrency })
  const limits = createLimits(queue, backend.limiter)
  const events = createEventCache(backend)
  const steps = createStepRunner({ recipes: () => current, reloaded: () => reloaded, backend, log, limits, events })
  // Work held at once (matching, waiting for a slot, running): the backend keeps the rest.
  const capacity = Math.max(64, config.queue.concurrency * 8)
  const held = new Map<string, Work>()
  /** Resolves when the work of each lease held is through (for `swap`). */
  const through = new Map<string, Promise<void>>()
  let stopping = false
  let started = false
  let room: (() => void) | undefined
  let renewer: NodeJS.Timeout | undefined
  let admission: Admission | undefined
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref())

  let looping: Promise<void> | undefined
  /** Leases found lost while their work still runs. */
  const lostLeases = new Set<string>()
  async function loop(): Promise<void> {
    let failures = 0
    while (!stopping) {
      if (held.size >= capacity) {
        await new Promise<void>((r) => {
          room = r
        })
        continue
      }
      // Acknowledgements first: while work keeps the event loop from answering deliveries, less of it starts.
      const allowed = admission?.allowance() ?? Number.POSITIVE_INFINITY
      if (allowed <= 0) {
        await admission?.next()
        continue
      }
      try {
        const works = await backend.take({ worker, limit: Math.min(capacity - held.size, allowed), wait: TAKE_WAIT })
        admission?.started(works.length)
        failures = 0
        if (stopping) {
          await backend.release(works).catch(() => {})
          return
        }
        for (const w of works) begin(w)
      } catch (err) {
        if (stopping) return
        const delay = Math.min(5_000, 250 * 2 ** failures++)
        log.error({ err, retryIn: delay }, 'could not take work from the store; trying again')
        await sleep(delay)
      }
    }
  }

  // Keyed by lease: the same work taken again after its lease was lost is another entry, renewed on its own.
  function begin(work: Work): void {
    held.set(work.token, work)
    const done = handle(work).finally(() => {
      held.delete(work.token)
      through.delete(work.token)
      lostLeases.delete(work.token)
      room?.()
      room = undefined
    })
    through.set(work.token, done)
  }

  /** Runs one piece of work; when the backend fails under it, the work is tried again with backoff while its lease is held. */
  async function handle(work: Work): Promise<void> {
    for (let n = 0; ; n++) {
      try {
        const outcome = work.kind === 'match' ? await dispatch(work) : await steps.run(work, n > 0)
        if (outcome) await finish(work, outcome)
        return
      } catch (err) {
        if (stopping) return
        const delay = Math.min(5_000, 250 * 2 ** n)
        log.error({ ...about(work), err, retryIn: delay }, 'engine error (is the store failing?); trying again')
        await sleep(delay)
      }
    }
  }

  /** Writes the outcome. It is what happened already, so it is written again until it sticks; the action never runs twice for it. */
  async function finish(work: Work, outcome: StepOutcome): Promise<void> {
    if ('release' in outcome) return backend.release([work])
    for (let n = 0; ; n++) {
      try {
        await backend.settle(work, outcome.settle)
        return reportRun(outcome)
      } catch (err) {
        // Shutting down: the lease runs out and the work runs again (at least once).
        if (stopping && n >= 3) throw err
        const delay = Math.min(5_000, 100 * 2 ** n)
        log.error({ ...about(work), err, retryIn: delay }, 'could not record the outcome; trying again')
        await sleep(delay)
      }
    }
  }

  function reportRun({ settle, ran }: Extract<StepOutcome, { settle: Settlement }>): void {
    if (!ran || !settle.patch) return
    const { run, ms } = ran
    const signal = {
      kind: 'run',
      runId: run.id,
      eventId: run.eventId,
      recipe: run.recipe,
      action: run.action,
      state: settle.patch.state,
    } as const
    telemetry.emit(ms === undefined ? signal : { ...signal, ms })
  }

  async function dispatch(work: Work): Promise<{ settle: Settlement } | undefined> {
    const lease = await events.acquire(work.id)
    // Pruned meanwhile: nothing left to match.
    if (!lease) return { settle: {} }
    try {
      await match(work, lease.event)
      return undefined
    } finally {
      lease.release()
    }
  }

  async function match(work: Work, event: LoadedEvent): Promise<void> {
    const id = work.id
    const matched: PlannedRecipe[] = []
    const { plan, config } = current
    for (const verdict of matchRecipes(plan, event, config.vars)) {
      if (verdict.matched) matched.push(verdict.recipe)
      else if (verdict.reason.kind === 'when')
        log.debug({ eventId: id, recipe: verdict.recipe.recipe.name, reason: verdict.reason.reason }, 'recipe did not match')
      else if (verdict.reason.kind === 'budget') {
        const { path, reason } = verdict.reason
        log.warn(
          { eventId: id, recipe: verdict.recipe.recipe.name, path },
          `recipe "${verdict.recipe.recipe.name}" did not match: ${path}: ${reason}`,
        )
      }
    }
    const now = Date.now()
    // Every matched recipe gets a run for each of its steps; its first step is due now, the others follow in order.
    const runs = await backend.dispatch(
      work,
      matched.flatMap(({ recipe, steps: planned }) =>
        planned.map((s) => ({
          recipe: recipe.name,
          stepIndex: s.index,
          action: s.step.action,
          runAt: now,
          ...(s.index === 0 ? { queue: true } : {}),
          ...(s.step.name ? { stepName: s.step.name } : {}),
        })),
      ),
    )
    if (!runs) return
    telemetry.emit({ kind: 'matched', eventId: id, recipes: matched.length })
    log.info(
      { eventId: id, event: event.type, recipes: matched.map((m) => m.recipe.name) },
      matched.length ? 'event matched' : 'event matched no recipe',
    )
  }

  /** Leases are renewed while work is held, so only a dead worker's work goes back to the others. */
  async function renew(): Promise<void> {
    if (held.size === 0) return
    try {
      const lost = await backend.extend([...held.values()].filter((w) => !lostLeases.has(w.token)))
      for (const w of lost) {
        // Said once: the work goes on (its outcome is written all the same), the lease is not asked for again.
        lostLeases.add(w.token)
        log.warn(about(w), 'lost the lease on this work; another worker may run it too')
      }
    } catch (err) {
      log.warn({ err }, 'could not renew leases')
    }
  }

  return {
    start() {
      if (started) return
      started = true
      renewer = setInterval(() => void renew(), Math.max(50, backend.lease / 3)).unref()
      admission = admitWork()
      looping = loop()
    },
    offer(accepted) {
      admission?.delivered()
      const { id, type, payload, text, receivedAt, plan } = accepted
      if (payload && text !== undefined && receivedAt !== undefined) events.offer({ id, type, payload, receivedAt }, text)
      else if (plan) events.offerPlan(id, plan)
    },
    async idle() {
      for (;;) {
        if (held.size === 0 && queue.size === 0 && queue.pending === 0) {
          const { scheduled } = await backend.stats()
          if (scheduled === 0 && held.size === 0) return
        }
        if (stopping) return
        await sleep(10)
      }
    },
    swap(next) {
      current = next
      reloaded = true
      return { drained: Promise.allSettled([...through.values()]).then(() => {}) }
    },
    async stop(grace) {
      stopping = true
      room?.()
      // Work waiting for a slot sees the stop as it gets one, and is given back unstarted.
      limits.stop()
      const done = async () => {
        while (held.size > 0) await sleep(10)
      }
      const timedOut = await Promise.race([done().then(() => false), sleep(grace).then(() => true)])
      if (timedOut) {
        steps.abortAll()
        await Promise.race([done(), sleep(1000)])
      }
      clearInterval(renewer)
      admission?.stop()
      // A take in flight ends within its wait; what it brings is given back by the loop.
      await Promise.race([looping, sleep(TAKE_WAIT + 2_000)])
      // Whatever is still held never got to record an outcome: give it back, due at once.
      await backend.release([...held.values()]).catch(() => {})
    },
    stats: () => ({ held: held.size, queued: queue.size, running: queue.pending }),
  }
}
