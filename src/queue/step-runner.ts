import { isPermanentError, PermanentError, retryAfterOf } from '../errors.js'
import { judge } from '../match/condition.js'
import { buildContext } from '../render/context.js'
import type { Renderer } from '../render/renderer.js'
import { redact, redactText } from '../redact.js'
import type { Backend, RunPatch, ScheduleEntry, Settlement, StepRun, Work } from '../store/backend.js'
import type { Logger } from '../types.js'
import type { ResolvedConfig } from '../config/resolved.js'
import { type AttemptResult, runAttempt } from './attempt.js'
import { backoff } from './backoff.js'
import type { EventCache, LoadedEvent } from './event-cache.js'
import { createFlow } from './flow.js'
import type { Limits } from './limits.js'
import { renderStepInput } from './decide.js'
import type { Plan, PlannedStep } from './plan.js'
import { cutOff, reasons } from './rules.js'
import { SHUTDOWN } from './shutdown.js'

/** The recipes in effect: swapped whole by a reload, read once per run so a run sees one version. */
export interface Recipes {
  config: ResolvedConfig
  plan: Plan
  renderer: Renderer
}

export interface StepRunnerOptions {
  recipes: () => Recipes
  /** True once a reload has replaced the recipes this process started with (for the reason a run is skipped). */
  reloaded: () => boolean
  backend: Backend
  log: Logger
  limits: Limits
  events: EventCache
}

/** What becomes of step work: settled (recorded, what comes next scheduled), or given back unstarted (shutting down). */
export type StepOutcome = { settle: Settlement; ran?: RanStep } | { release: true }

/** The run a settlement records, and how long its attempt took: what the engine reports once it is written. */
export interface RanStep {
  run: StepRun
  ms?: number
}

export interface StepRunner {
  /**
   * Take a due run as far as it goes now: run it, defer it, skip it, or
   * retry it later; the outcome says what to write. `again`: this process
   * ran it already and could not record the outcome, so it is not a cut-off.
   */
  run(work: Work, again?: boolean): Promise<StepOutcome>
  /** Abort every running attempt (shutdown); they are recorded to run again. */
  abortAll(): void
}

const settled = (patch?: RunPatch, schedule: ScheduleEntry[] = []): StepOutcome => ({ settle: patch ? { patch, schedule } : { schedule } })

/**
 * Runs one step run: condition, flow control, render, validate, limits, then
 * the plugin; decides the outcome and what comes next (the following step, a
 * retry, or skipping the rest), which the engine writes in one settle.
 */
export function createStepRunner({ recipes, reloaded, backend, log, limits, events }: StepRunnerOptions): StepRunner {
  const running = new Map<string, AbortController>()
  const flow = createFlow({ backend, renderer: () => recipes().renderer })

  async function loadContext(run: StepRun, { payload, info }: LoadedEvent, config: ResolvedConfig) {
    const siblings = (await backend.runsForEvent(run.eventId)).filter((r) => r.recipe === run.recipe)
    const steps: Record<string, unknown> = {}
    for (const r of siblings)
      if (r.stepName && r.stepIndex < run.stepIndex && (r.state === 'done' || r.state === 'previewed')) steps[r.stepName] = r.result
    const ctx = buildContext({ payload, event: info, vars: config.vars, recipe: { name: run.recipe }, steps })
    return { payload, info, siblings, steps, ctx }
  }

  /** The step after `run` in its recipe, due now, if any. */
  function following(run: StepRun, siblings: StepRun[]): ScheduleEntry[] {
    const after = siblings.filter((r) => r.stepIndex > run.stepIndex).sort((a, b) => a.stepIndex - b.stepIndex)[0]
    return after ? [{ runId: after.id, at: Math.max(after.runAt, Date.now()) }] : []
  }

  /** A failure for good; later steps are skipped in the same write unless the step continues on error. */
  function dead(run: StepRun, planned: PlannedStep, patch: { input?: unknown; error: string }, siblings: StepRun[]): StepOutcome {
    const go = planned.step.continueOnError === true
    return settled(
      { state: 'dead', ...patch, ...(go ? {} : { skipLater: reasons.stepFailed(run.stepIndex) }) },
      go ? following(run, siblings) : [],
    )
  }

  function skip(run: StepRun, reason: string, siblings: StepRun[], wholeRecipe: boolean): StepOutcome {
    return settled(
      { state: 'skipped', error: reason, ...(wholeRecipe ? { skipLater: reason } : {}) },
      wholeRecipe ? [] : following(run, siblings),
    )
  }

  /** After a failed attempt: retry later, or dead (the once keys given back). */
  async function failed(
    run: StepRun,
    planned: PlannedStep,
    input: unknown,
    result: Extract<AttemptResult, { outcome: 'failed' }>,
    siblings: StepRun[],
    rlog: Logger,
  ): Promise<StepOutcome> {
    const { err, attempt } = result
    // Errors are stored and printed: a plugin's message quoting a URL must not carry its token there.
    const message = redactText(err instanceof Error ? err.message : String(err))
    if (result.reason.kind === 'shutdown') {
      // Cut off by a shutdown: not the step's fault, so the attempt does not count.
      rlog.warn(`${planned.label} was cut off by the shutdown; it runs again at the next start`)
      const now = Date.now()
      return settled({ state: 'retrying', runAt: now, attempt: attempt - 1, error: message }, [{ runId: run.id, at: now }])
    }
    const permanent = isPermanentError(err)
    if (!permanent && attempt < planned.retry.attempts) {
      const delay = retryAfterOf(err) ?? backoff(planned.retry, attempt)
      const runAt = Date.now() + delay
      rlog.warn({ attempt, retryIn: delay, error: message }, `${planned.label} failed, retrying`)
      return settled({ state: 'retrying', runAt, input: redact(input), error: message }, [{ runId: run.id, at: runAt }])
    }
    // The run row names its recipe and step already; the error is just what went wrong.
    rlog.error({ attempt, error: message, permanent }, `${planned.label} failed for good${permanent ? '' : ` after ${attempt} attempts`}`)
    return dead(run, planned, { input: redact(input), error: message }, siblings)
  }

  async function runStep(work: Work, again = false): Promise<StepOutcome> {
    const run = await backend.getRun(work.id)
    if (!run) return settled()
    if (run.state === 'running') {
      const decided = await settleCutOff(run, again)
      if (decided) return decided
    }
    if (run.state !== 'pending' && run.state !== 'retrying') return settled()
    // Put in the schedule early (a person scheduled it; its runAt moved later): not due yet.
    if (run.runAt > Date.now() + 5) return settled(undefined, [{ runId: run.id, at: run.runAt }])
    // The parsed payload is held, and counted against the memory budget, until the step is through.
    const lease = await events.acquire(run.eventId)
    if (!lease) return settled({ state: 'dead', error: `event ${run.eventId} is no longer in the store` })
    try {
      const timing: { ms?: number } = {}
      const outcome = await runDue(work, run, lease.event, timing)
      if ('settle' in outcome && outcome.settle.patch) outcome.ran = { run, ...timing }
      return outcome
    } finally {
      lease.release()
    }
  }

  /** A run recorded running that nobody runs: decided by the rules; undefined when it runs again now. */
  async function settleCutOff(run: StepRun, again: boolean): Promise<StepOutcome | undefined> {
    // Its outcome could not be written here (the backend failed): it runs again, the attempt counted.
    if (again) {
      run.state = 'retrying'
      return undefined
    }
    const { plan, config } = recipes()
    const planned = plan.byName.get(run.recipe)?.steps.find((s) => s.index === run.stepIndex)
    const rlog = log.child({ eventId: run.eventId, runId: run.id, recipe: run.recipe, step: run.stepIndex + 1 })
    const decision = cutOff(run, planned, await backend.runsForEvent(run.eventId), plan, config.queue.retry.attempts)
    // Written meanwhile by a worker whose lease ran out (it was alive after all): read it again. Ending the work
    // here instead could take out of the schedule a retry that worker has just put in.
    if (!(await backend.updateRun(run.id, decision.patch))) return { release: true }
    if (decision.kind === 'skip') return settled()
    if (decision.kind === 'dead') {
      rlog.error('step was cut off on its last attempt (its worker died); marking it dead')
      return settled()
    }
    rlog.warn('step was cut off (its worker died or restarted); running it again')
    run.state = 'retrying'
    run.runAt = Date.now()
    return undefined
  }

  async function runDue(work: Work, run: StepRun, event: LoadedEvent, timing: { ms?: number }): Promise<StepOutcome> {
    const rlog = log.child({ eventId: run.eventId, runId: run.id, recipe: run.recipe, step: run.stepIndex + 1 })
    // One version of the recipes for the whole run, even if a reload swaps them meanwhile.
    const { config, plan, renderer } = recipes()
    const plannedRecipe = plan.byName.get(run.recipe)
    const planned = plannedRecipe?.steps.find((s) => s.index === run.stepIndex)
    const { payload, info, siblings, steps, ctx } = await loadContext(run, event, config)

    // The config may have changed since the run was recorded: never run a different step in its place.
    const by = reloaded() ? 'by reload' : 'since this run was recorded'
    const changed =
      !planned || !plannedRecipe
        ? `was removed ${by}; there is nothing to run`
        : planned.step.action !== run.action || (planned.step.name ?? undefined) !== run.stepName
          ? `was changed to ${planned.step.action}${planned.step.name ? ` "${planned.step.name}"` : ''} ${by}; use retry to run the new step`
          : undefined
    if (changed || !plannedRecipe || !planned) {
      const reason = `recipe "${run.recipe}" step ${run.stepIndex + 1} (${run.action}) ${changed}`
      rlog.warn(`step skipped: ${reason}`)
      return skip(run, reason, siblings, false)
    }
    if (plannedRecipe.recipe.enabled === false) {
      rlog.info(`${planned.label} skipped: the recipe is disabled`)
      return skip(run, reasons.recipeDisabled(run.recipe), siblings, true)
    }
    // A step's `if` is judged once per run, with a budget of its own.
    const why = planned.step.if ? judge(planned.step.if, ctx, 'if') : undefined
    if (why) {
      if (why.exhausted) rlog.warn({ path: why.path }, `${planned.label} skipped: ${why.path}: ${why.reason}`)
      else rlog.info({ reason: why.reason }, `${planned.label} skipped: its condition did not hold`)
      return skip(run, `condition did not hold: ${why.reason}`, siblings, false)
    }

    let input: unknown
    try {
      const replaced: StepRun[] = []
      const gate = await flow.gate(run, plannedRecipe, planned, ctx, replaced)
      // The backend has put the step after each of them in the schedule, in the same write.
      if (replaced.length)
        rlog.info(
          { replaced: replaced.map((r) => r.id) },
          `debounce: coalesced ${replaced.length} earlier run${replaced.length === 1 ? '' : 's'} into this one (latest payload wins)`,
        )
      if (gate.action === 'defer') {
        rlog.info({ until: new Date(gate.until).toISOString() }, `${planned.label}: ${gate.reason}`)
        return settled(undefined, [{ runId: run.id, at: gate.until }])
      }
      if (gate.action === 'skip') {
        rlog.info(`${planned.label} skipped: ${gate.reason}`)
        return skip(run, gate.reason, siblings, gate.job)
      }
      const { value, issues } = await renderStepInput(planned, ctx, renderer)
      if (issues.length) throw new PermanentError(issues.map((i) => `${i.path}: ${i.message}`).join('; '), { code: 'invalid_input' })
      input = value
    } catch (err) {
      const msg = redactText(err instanceof Error ? err.message : String(err))
      rlog.error({ error: msg }, `${planned.label} failed for good: its input or flow-control key did not render`)
      await flow.release(run, plannedRecipe, planned, ctx, siblings.find((r) => r.stepIndex === 0)?.id).catch(() => {})
      return dead(run, planned, { error: msg }, siblings)
    }

    const key = safeKey(planned, input)
    const attempt = { work, run, planned, input, payload, info, steps, ctx, log: rlog }
    const result = await limits.run<AttemptResult>(
      run.action,
      planned.entry,
      key,
      rlog,
      { outcome: 'stopped' },
      planned.timeout + 5_000,
      async () => {
        const started = performance.now()
        try {
          return await runAttempt(attempt, backend, renderer, running)
        } finally {
          timing.ms = performance.now() - started
        }
      },
    )
    // Not claimed (stopping; or no longer claimable: skipped by a debounce, or running under another lease):
    // the work goes back, and whoever takes it next reads the run again. Ending it here could drop a running run.
    if (result.outcome === 'stopped' || result.outcome === 'gone') return { release: true }
    if (result.outcome === 'ok') return settled(result.patch, following(run, siblings))
    const outcome = await failed(run, planned, input, result, siblings, rlog)
    if ('settle' in outcome && outcome.settle.patch?.state === 'dead')
      await flow.release(run, plannedRecipe, planned, ctx, siblings.find((r) => r.stepIndex === 0)?.id)
    return outcome
  }

  return {
    run: runStep,
    abortAll() {
      for (const c of running.values()) c.abort(SHUTDOWN)
    },
  }
}

function safeKey(planned: PlannedStep, input: unknown): string | undefined {
  try {
    return planned.entry.plugin.limitKey?.(input)
  } catch {
    return undefined
  }
}
