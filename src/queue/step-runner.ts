import { isPermanentError, PermanentError, RunnerError, retryAfterOf } from '../errors.js'
import { evaluate, explain } from '../match/condition.js'
import { buildContext } from '../render/context.js'
import type { Renderer } from '../render/renderer.js'
import { redact, redactText } from '../redact.js'
import { validateWith } from '../schema.js'
import type { StepRun, Store } from '../store/store.js'
import type { Logger, ResolvedConfig } from '../types.js'
import { type AttemptResult, runAttempt } from './attempt.js'
import { backoff } from './backoff.js'
import type { EventCache, LoadedEvent } from './event-cache.js'
import { createFlow } from './flow.js'
import type { Limits } from './limits.js'
import { type Plan, type PlannedStep, rawWith } from './plan.js'

export interface StepRunnerOptions {
  config: ResolvedConfig
  store: Store
  plan: Plan
  renderer: Renderer
  log: Logger
  limits: Limits
  /** Hand a run (the next step, a retry, a deferred run) back to the scheduler. */
  next: (run: StepRun) => void
  events: EventCache
}

export interface StepRunner {
  /** Take a due run as far as it goes now: run it, defer it, skip it, or retry it later. */
  run(runId: string): Promise<void>
  /** Abort every running attempt (shutdown); they go back to the store to run again. */
  abortAll(reason: string): void
}

/**
 * Runs one step run: condition, flow control, render, validate, limits, then
 * the plugin; records the outcome and decides what comes next (the following
 * step, a retry, or skipping the rest, in the same write as the failure).
 */
export function createStepRunner({ config, store, plan, renderer, log, limits, next, events }: StepRunnerOptions): StepRunner {
  const running = new Map<string, AbortController>()
  const flow = createFlow({ store, renderer })

  async function loadContext(run: StepRun, { payload, info }: LoadedEvent) {
    const siblings = (await store.runsForEvent(run.eventId)).filter((r) => r.recipe === run.recipe)
    const steps: Record<string, unknown> = {}
    for (const r of siblings)
      if (r.stepName && r.stepIndex < run.stepIndex && (r.state === 'done' || r.state === 'previewed')) steps[r.stepName] = r.result
    const ctx = buildContext({ payload, event: info, vars: config.vars, recipe: { name: run.recipe }, steps })
    return { payload, info, siblings, steps, ctx }
  }

  /** Schedule the step after `run` in its recipe, if any. */
  function following(run: StepRun, siblings: StepRun[]): void {
    const after = siblings.filter((r) => r.stepIndex > run.stepIndex).sort((a, b) => a.stepIndex - b.stepIndex)[0]
    if (after) next({ ...after, runAt: Math.max(after.runAt, Date.now()) })
  }

  /** Record a failure for good; later steps are skipped in the same write unless the step continues on error. */
  async function dead(run: StepRun, planned: PlannedStep, patch: { input?: unknown; error: string }, siblings: StepRun[]): Promise<void> {
    const go = planned.step.continueOnError === true
    await store.updateRun(run.id, { state: 'dead', ...patch, ...(go ? {} : { skipLater: `skipped: step ${run.stepIndex + 1} failed` }) })
    if (go) following(run, siblings)
  }

  async function skip(run: StepRun, reason: string, siblings: StepRun[], wholeRecipe: boolean): Promise<void> {
    await store.updateRun(run.id, { state: 'skipped', error: reason, ...(wholeRecipe ? { skipLater: reason } : {}) })
    if (!wholeRecipe) following(run, siblings)
  }

  /** After a failed attempt: retry later, or dead. Returns true when it will retry. */
  async function failed(
    run: StepRun,
    planned: PlannedStep,
    input: unknown,
    result: Extract<AttemptResult, { outcome: 'failed' }>,
    siblings: StepRun[],
    rlog: Logger,
  ): Promise<boolean> {
    const { err, attempt } = result
    // Errors are stored and printed: a plugin's message quoting a URL must not carry its token there.
    const message = redactText(err instanceof Error ? err.message : String(err))
    if ((err as { code?: unknown })?.code === 'shutdown') {
      // Cut off by a shutdown: not the step's fault, so the attempt does not count.
      await store.updateRun(run.id, { state: 'retrying', runAt: Date.now(), attempt: attempt - 1, error: message })
      rlog.warn(`${planned.label} was cut off by the shutdown; it runs again at the next start`)
      return true
    }
    const permanent = isPermanentError(err)
    if (!permanent && attempt < planned.retry.attempts) {
      const delay = retryAfterOf(err) ?? backoff(planned.retry, attempt)
      const runAt = Date.now() + delay
      await store.updateRun(run.id, { state: 'retrying', runAt, input: redact(input), error: message })
      rlog.warn({ attempt, retryIn: delay, error: message }, `${planned.label} failed, retrying`)
      next({ ...run, state: 'retrying', runAt, attempt })
      return true
    }
    // The run row names its recipe and step already; the error is just what went wrong.
    await dead(run, planned, { input: redact(input), error: message }, siblings)
    rlog.error({ attempt, error: message, permanent }, `${planned.label} failed for good${permanent ? '' : ` after ${attempt} attempts`}`)
    return false
  }

  async function runStep(runId: string): Promise<void> {
    const run = await store.getRun(runId)
    // Recorded running but not running here: its outcome could not be written (the store failed). Run it again.
    if (run?.state === 'running' && !running.has(run.id)) {
      await store.updateRun(run.id, { state: 'retrying' })
      run.state = 'retrying'
    }
    if (!run || (run.state !== 'pending' && run.state !== 'retrying')) return
    // Woken early (a timer cannot wait longer than ~24.8 days): not due yet.
    if (run.runAt > Date.now() + 5) return next(run)
    // The parsed payload is held, and counted against the memory budget, until the step is through.
    const lease = await events.require(run.eventId)
    try {
      await runDue(run, lease.event)
    } finally {
      lease.release()
    }
  }

  async function runDue(run: StepRun, event: LoadedEvent): Promise<void> {
    const rlog = log.child({ eventId: run.eventId, runId: run.id, recipe: run.recipe, step: run.stepIndex + 1 })
    const plannedRecipe = plan.byName.get(run.recipe)
    const planned = plannedRecipe?.steps.find((s) => s.index === run.stepIndex)
    const { payload, info, siblings, steps, ctx } = await loadContext(run, event)

    // The config may have changed since the run was recorded: never run a different step in its place.
    const changed =
      !planned || !plannedRecipe
        ? 'is no longer in the config'
        : planned.step.action !== run.action || (planned.step.name ?? undefined) !== run.stepName
          ? `changed to ${planned.step.action}${planned.step.name ? ` "${planned.step.name}"` : ''}`
          : undefined
    if (changed || !plannedRecipe || !planned) {
      const reason = `recipe "${run.recipe}" step ${run.stepIndex + 1} (${run.action}) ${changed} since this run was recorded; use retry to run the new step`
      rlog.warn(`step skipped: ${reason}`)
      return skip(run, reason, siblings, false)
    }
    if (plannedRecipe.recipe.enabled === false) {
      rlog.info(`${planned.label} skipped: the recipe is disabled`)
      return skip(run, `skipped: recipe "${run.recipe}" is disabled (enabled: false)`, siblings, true)
    }
    if (planned.step.if && !evaluate(planned.step.if, ctx)) {
      const why = explain(planned.step.if, ctx, 'if')
      rlog.info({ reason: why?.reason }, `${planned.label} skipped: its condition did not hold`)
      return skip(run, `condition did not hold: ${why?.reason ?? 'false'}`, siblings, false)
    }

    let input: unknown
    try {
      const replaced: StepRun[] = []
      const gate = await flow.gate(run, plannedRecipe, planned, ctx, replaced)
      if (replaced.length) await continueReplaced(replaced, rlog)
      if (gate.action === 'defer') {
        rlog.info({ until: new Date(gate.until).toISOString() }, `${planned.label}: ${gate.reason}`)
        return next({ ...run, runAt: gate.until })
      }
      if (gate.action === 'skip') {
        rlog.info(`${planned.label} skipped: ${gate.reason}`)
        return skip(run, gate.reason, siblings, gate.job)
      }
      const rendered = renderer.render(planned.input, ctx, planned.entry.plugin.escape ?? 'none', rawWith(planned))
      const { value, issues } = await validateWith(planned.entry.plugin.input, rendered, 'with')
      if (issues.length) throw new PermanentError(issues.map((i) => `${i.path}: ${i.message}`).join('; '), { code: 'invalid_input' })
      input = value
    } catch (err) {
      const msg = redactText(err instanceof Error ? err.message : String(err))
      rlog.error({ error: msg }, `${planned.label} failed for good: its input or flow-control key did not render`)
      await flow.release(run, plannedRecipe, planned, ctx, siblings.find((r) => r.stepIndex === 0)?.id).catch(() => {})
      return dead(run, planned, { error: msg }, siblings)
    }

    const key = safeKey(planned, input)
    const attempt = { run, planned, input, payload, info, steps, ctx, log: rlog }
    const result = await limits.run<AttemptResult>(run.action, planned.entry, key, rlog, { outcome: 'gone' }, () =>
      runAttempt(attempt, store, renderer, running),
    )
    if (result.outcome === 'gone') return
    if (result.outcome === 'ok') return following(run, siblings)
    if (await failed(run, planned, input, result, siblings, rlog)) return
    await flow.release(run, plannedRecipe, planned, ctx, siblings.find((r) => r.stepIndex === 0)?.id)
  }

  /** Runs a step debounce coalesced away: their recipes go on with the step after them. */
  async function continueReplaced(replaced: StepRun[], rlog: Logger): Promise<void> {
    rlog.info(
      { replaced: replaced.map((r) => r.id) },
      `debounce: coalesced ${replaced.length} earlier run${replaced.length === 1 ? '' : 's'} into this one (latest payload wins)`,
    )
    for (const r of replaced)
      following(
        r,
        (await store.runsForEvent(r.eventId)).filter((x) => x.recipe === r.recipe),
      )
  }

  return {
    run: runStep,
    abortAll(reason) {
      for (const c of running.values()) c.abort(new RunnerError('shutdown', reason))
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
