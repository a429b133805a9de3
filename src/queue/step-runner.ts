import type PQueue from 'p-queue'
import { isPermanentError, PermanentError, RetryableError, retryAfterOf, RunnerError } from '../errors.js'
import { evaluate, explain } from '../match/condition.js'
import { buildContext } from '../render/context.js'
import type { Renderer } from '../render/renderer.js'
import { validateWith } from '../schema.js'
import type { StepRun, Store } from '../store/store.js'
import type { ActionContext, EventInfo, Logger, Payload, ResolvedConfig, TemplateContext } from '../types.js'
import { backoff } from './backoff.js'
import { createFlow } from './flow.js'
import type { createLimits } from './limits.js'
import type { Plan, PlannedStep } from './plan.js'

export interface StepRunnerOptions {
  config: ResolvedConfig
  store: Store
  plan: Plan
  renderer: Renderer
  log: Logger
  queue: PQueue
  limits: ReturnType<typeof createLimits>
  /** Hand a run (the next step, or a retry) back to the scheduler. */
  next: (run: StepRun) => void
}

/**
 * Runs one attempt of one step run: condition, render, validate, limits,
 * then the plugin with a timeout; records the outcome and decides what comes
 * next (the following step, a retry, or skipping the rest).
 */
export function createStepRunner({ config, store, plan, renderer, log, queue, limits, next }: StepRunnerOptions) {
  const running = new Map<string, AbortController>()
  const flow = createFlow({ store, renderer })

  async function loadContext(run: StepRun) {
    const event = await store.getEvent(run.eventId)
    if (!event) throw new PermanentError(`event ${run.eventId} is no longer in the store`)
    const payload = JSON.parse(event.body) as Payload
    const info: EventInfo = { id: event.id, type: event.type, receivedAt: new Date(event.receivedAt).toISOString() }
    const siblings = (await store.runsForEvent(run.eventId)).filter((r) => r.recipe === run.recipe)
    const steps: Record<string, unknown> = {}
    for (const r of siblings) if (r.stepName && r.stepIndex < run.stepIndex && (r.state === 'done' || r.state === 'previewed')) steps[r.stepName] = r.result
    const ctx = buildContext({ payload, event: info, vars: config.vars, recipe: { name: run.recipe }, steps })
    return { payload, info, siblings, steps, ctx }
  }

  async function finish(run: StepRun, planned: PlannedStep | undefined, siblings: StepRun[], ok: boolean): Promise<void> {
    const later = siblings.filter((r) => r.stepIndex > run.stepIndex).sort((a, b) => a.stepIndex - b.stepIndex)
    if (ok || planned?.step.continueOnError) {
      const following = later[0]
      if (following) next({ ...following, runAt: Math.max(following.runAt, Date.now()) })
      return
    }
    for (const r of later) {
      if (r.state === 'pending') await store.updateRun(r.id, { state: 'skipped', error: `skipped: step ${run.stepIndex + 1} failed` })
    }
  }

  async function attempt(run: StepRun, planned: PlannedStep, input: unknown, payload: Payload, info: EventInfo, steps: Record<string, unknown>, ctx: TemplateContext, rlog: Logger, release: Array<{ key: string; runId: string }>) {
    const claimed = await store.claimRun(run.id, Date.now())
    // Skipped while it waited for a slot (a later event coalesced it): nothing to do.
    if (!claimed) return { outcome: 'gone' as const }
    // Started: later arrivals open a new debounce window.
    for (const r of release) await store.releaseDebounce(r.key, r.runId)
    const { plugin, settings } = planned.entry
    const controller = new AbortController()
    running.set(run.id, controller)
    const actx: ActionContext = {
      event: info,
      payload,
      settings: settings as Record<string, unknown>,
      signal: controller.signal,
      log: rlog,
      attempt: claimed.attempt,
      runId: run.id,
      steps,
      dryRun: false,
      renderTemplate: (name, escape) => renderer.renderTemplate(name, ctx, escape),
    }
    try {
      if (planned.previewReason) {
        const preview = plugin.preview ? await plugin.preview(input, actx) : input
        await store.updateRun(run.id, { state: 'previewed', input, result: preview ?? null, error: null })
        const flow = planned.debounce ? `; once live, its debounce of ${planned.debounce.wait} ms coalesces bursts` : ''
        rlog.info({ preview, reason: planned.previewReason }, `preview: ${planned.label} would run (${planned.previewReason}${flow})`)
        return { outcome: 'ok' as const }
      }
      const result = await withTimeout(plugin.run(input, actx), planned.timeout, controller)
      await store.updateRun(run.id, { state: 'done', input, result: result ?? null, error: null })
      rlog.info({ attempt: claimed.attempt }, `${planned.label} done`)
      return { outcome: 'ok' as const }
    } catch (err) {
      return { outcome: 'failed' as const, err, attempt: claimed.attempt }
    } finally {
      running.delete(run.id)
    }
  }

  async function fail(run: StepRun, planned: PlannedStep, input: unknown, err: unknown, attemptNo: number, rlog: Logger): Promise<boolean> {
    const message = errorMessage(err)
    const permanent = isPermanentError(err)
    if (!permanent && attemptNo < planned.retry.attempts) {
      const retryAfter = retryAfterOf(err)
      const delay = retryAfter ?? backoff(planned.retry, attemptNo)
      const runAt = Date.now() + delay
      await store.updateRun(run.id, { state: 'retrying', runAt, input, error: message })
      rlog.warn({ attempt: attemptNo, retryIn: delay, error: message }, `${planned.label} failed, retrying`)
      next({ ...run, state: 'retrying', runAt, attempt: attemptNo })
      return true
    }
    await store.updateRun(run.id, { state: 'dead', input, error: `${planned.label}: ${message}` })
    rlog.error({ attempt: attemptNo, error: message, permanent }, `${planned.label} failed for good${permanent ? '' : ` after ${attemptNo} attempts`}`)
    return false
  }

  async function runStep(runId: string): Promise<void> {
    const run = await store.getRun(runId)
    if (!run || (run.state !== 'pending' && run.state !== 'retrying')) return
    const rlog = log.child({ eventId: run.eventId, runId: run.id, recipe: run.recipe, step: run.stepIndex + 1 })
    const plannedRecipe = plan.byName.get(run.recipe)
    const planned = plannedRecipe?.steps.find((s) => s.index === run.stepIndex)
    const { payload, info, siblings, steps, ctx } = await loadContext(run)
    if (!planned || !plannedRecipe) {
      await store.updateRun(run.id, { state: 'skipped', error: `recipe "${run.recipe}" step ${run.stepIndex + 1} is no longer in the config` })
      rlog.warn('step skipped: no longer in the config')
      return finish(run, planned, siblings, true)
    }
    if (planned.step.if) {
      const cond = planned.step.if
      if (!evaluate(cond, ctx)) {
        const why = explain(cond, ctx, 'if')
        await store.updateRun(run.id, { state: 'skipped', error: `condition did not hold: ${why?.reason ?? 'false'}` })
        rlog.info({ reason: why?.reason }, `${planned.label} skipped: its condition did not hold`)
        return finish(run, planned, siblings, true)
      }
    }
    const replaced: StepRun[] = []
    const gate = await flow.gate(run, plannedRecipe, planned, ctx, replaced)
    if (replaced.length) await continueReplaced(replaced, rlog)
    if (gate.action === 'defer') {
      rlog.info({ until: new Date(gate.until).toISOString() }, `${planned.label}: ${gate.reason}`)
      next({ ...run, runAt: gate.until })
      return
    }
    if (gate.action === 'skip') {
      const targets = gate.job ? siblings.filter((r) => r.state === 'pending' || r.id === run.id) : [run]
      for (const r of targets) await store.updateRun(r.id, { state: 'skipped', error: gate.reason })
      rlog.info(`${planned.label} skipped: ${gate.reason}`)
      return gate.job ? undefined : finish(run, planned, siblings, true)
    }
    let input: unknown
    try {
      const rendered = renderer.render(planned.input, ctx, planned.entry.plugin.escape ?? 'none')
      const { value, issues } = await validateWith(planned.entry.plugin.input, rendered, 'with')
      if (issues.length) throw new PermanentError(issues.map((i) => `${i.path}: ${i.message}`).join('; '), { code: 'invalid_input' })
      input = value
    } catch (err) {
      const msg = `${planned.label}: ${errorMessage(err)}`
      await store.updateRun(run.id, { state: 'dead', error: msg })
      rlog.error({ error: msg }, `${planned.label} failed for good: its input is invalid`)
      await flow.release(run, plannedRecipe, planned, ctx, siblings.find((r) => r.stepIndex === 0)?.id)
      return finish(run, planned, siblings, false)
    }
    const key = safeKey(planned, input)
    const result = await limits.run(run.action, planned.entry, key, rlog, () => queue.add(() => attempt(run, planned, input, payload, info, steps, ctx, rlog, gate.release)) as Promise<Awaited<ReturnType<typeof attempt>>>)
    if (result.outcome === 'gone') return
    if (result.outcome === 'ok') return finish(run, planned, siblings, true)
    const retrying = await fail(run, planned, input, result.err, result.attempt, rlog)
    if (retrying) return
    await flow.release(run, plannedRecipe, planned, ctx, siblings.find((r) => r.stepIndex === 0)?.id)
    await finish(run, planned, siblings, false)
  }

  /** Runs a step debounce coalesced away: their jobs go on with the step after it. */
  async function continueReplaced(replaced: StepRun[], rlog: Logger): Promise<void> {
    rlog.info({ replaced: replaced.map((r) => r.id) }, `debounce: coalesced ${replaced.length} earlier run${replaced.length === 1 ? '' : 's'} into this one (latest payload wins)`)
    for (const r of replaced) {
      const planned = plan.byName.get(r.recipe)?.steps.find((s) => s.index === r.stepIndex)
      const siblings = (await store.runsForEvent(r.eventId)).filter((x) => x.recipe === r.recipe)
      await finish(r, planned, siblings, true)
    }
  }

  return {
    run: runStep,
    abortAll(reason: string) {
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

/** Races the action against its timeout: the signal tells the action to stop, the race frees the slot even if it does not. */
async function withTimeout<T>(work: Promise<T>, ms: number, controller: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new RetryableError(`timed out after ${ms} ms`, { code: 'timeout' })
      controller.abort(err)
      reject(err)
    }, ms)
  })
  const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }))
  try {
    return await Promise.race([work, timeout, aborted])
  } finally {
    clearTimeout(timer)
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
