import { RunnerError } from '../errors.js'
import type { Backend, EventRecord, RunPatch, RunState, StepRun } from '../store/backend.js'
import type { Plan, PlannedStep } from './plan.js'

/**
 * The rules of runs and events, once, above every backend: what an event's
 * status is, what a run cut off mid-attempt becomes, which steps a failure
 * skips, and what a person's retry resets. Backends store and schedule;
 * the engine, the CLI and the console ask here.
 */

/**
 * `running` while any step is open; then `dead` if a step failed for good;
 * then `previewed` if a step only logged what it would send (missing
 * credentials: `retry` runs it for real); else `done`.
 */
export type EventStatus = 'received' | 'unmatched' | 'running' | 'dead' | 'previewed' | 'done'
export const EVENT_STATUSES: readonly EventStatus[] = ['received', 'unmatched', 'running', 'dead', 'previewed', 'done']

const OPEN: ReadonlySet<RunState> = new Set(['pending', 'running', 'retrying'])

/** A run still to be run (again): pending, running or retrying. */
export const isOpen = (state: RunState): boolean => OPEN.has(state)

export function eventStatus({ dispatched, runs }: Pick<EventRecord, 'dispatched' | 'runs'>): EventStatus {
  if (!dispatched) return 'received'
  if (runs.length === 0) return 'unmatched'
  if (runs.some((r) => OPEN.has(r.state))) return 'running'
  if (runs.some((r) => r.state === 'dead')) return 'dead'
  if (runs.some((r) => r.state === 'previewed')) return 'previewed'
  return 'done'
}

/** Why runs were skipped or ended: built here only, so every place says it the same way. */
export const reasons = {
  stepFailed: (stepIndex: number) => `skipped: step ${stepIndex + 1} failed`,
  recipeDisabled: (recipe: string) => `skipped: recipe "${recipe}" is disabled (enabled: false)`,
  coalescedInto: (runId: string) => `coalesced into run ${runId} (debounce: a later event replaced this one)`,
  cutOffOnLastAttempt: (attempt: number, attempts: number) =>
    `cut off by a restart on attempt ${attempt} of ${attempts} (did it crash the process?)`,
}

/** What becomes of a run found `running` when its work is taken: its last holder died mid-attempt. */
export type CutOffDecision =
  | { kind: 'resume'; patch: RunPatch }
  | { kind: 'dead'; patch: RunPatch }
  | { kind: 'skip'; patch: RunPatch; because: StepRun }

/**
 * A run cut off mid-attempt runs again, unless it already used all its
 * attempts (a step that crashes the process must not crash it forever); a
 * job whose earlier step failed for good is not continued.
 */
export function cutOff(run: StepRun, planned: PlannedStep | undefined, siblings: StepRun[], plan: Plan, attempts: number): CutOffDecision {
  // Decided on what was read: written only if no other worker has written the run since.
  const expect = { state: run.state, attempt: run.attempt }
  const failedBefore = siblings.find(
    (r) =>
      r.recipe === run.recipe &&
      r.stepIndex < run.stepIndex &&
      r.state === 'dead' &&
      !plan.byName.get(r.recipe)?.steps.find((s) => s.index === r.stepIndex)?.step.continueOnError,
  )
  if (failedBefore) {
    const why = reasons.stepFailed(failedBefore.stepIndex)
    return { kind: 'skip', patch: { state: 'skipped', error: why, skipLater: why, expect }, because: failedBefore }
  }
  const allowed = planned?.retry.attempts ?? attempts
  if (run.attempt >= allowed)
    return {
      kind: 'dead',
      patch: {
        state: 'dead',
        error: reasons.cutOffOnLastAttempt(run.attempt, allowed),
        skipLater: reasons.stepFailed(run.stepIndex),
        expect,
      },
    }
  return { kind: 'resume', patch: { state: 'retrying', runAt: Date.now(), expect } }
}

const RETRYABLE: readonly RunState[] = ['dead', 'skipped', 'previewed']

/** What a person may retry: a run that failed for good, was skipped, or only previewed. */
export const canRetry = (state: RunState): boolean => RETRYABLE.includes(state)

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

/**
 * A person retries a dead, skipped or previewed run: it and the steps after
 * it that never ran for real are reset, and it is put in the schedule, due
 * now. Refused, with how to fix it, when the run cannot be retried.
 */
export async function retryRun(backend: Backend, plan: Plan, runId: string): Promise<StepRun> {
  const run = await backend.getRun(runId)
  if (!run)
    throw new RunnerError('run_not_found', `no run ${runId} in the store (see: audiorista-runner events --status dead)`, { status: 404 })
  if (!canRetry(run.state))
    throw new RunnerError('run_not_final', `run ${runId} is ${run.state}; only dead, skipped or previewed runs can be retried`, {
      status: 409,
    })
  const planned = plan.byName.get(run.recipe)?.steps.find((s) => s.index === run.stepIndex)
  if (run.state === 'previewed' && planned?.previewReason) {
    const why = `${planned.label} would only preview again (${planned.previewReason})`
    throw new RunnerError('still_preview', `${why}; set its credentials, then retry ${runId}`, { status: 409 })
  }
  const now = Date.now()
  // Two people (or a console and a CLI) retrying at once: one of them wins.
  const reset = { state: 'pending', error: null, attempt: 0, runAt: now, expect: { state: run.state, attempt: run.attempt } } as const
  if (!(await backend.updateRun(run.id, reset)))
    throw new RunnerError(
      'run_changed',
      `run ${runId} changed while it was being retried (retried by someone else?); see: audiorista-runner events`,
      {
        status: 409,
      },
    )
  for (const r of stepsAfter(run, await backend.runsForEvent(run.eventId)))
    await backend.updateRun(r.id, { state: 'pending', error: null, attempt: 0 })
  await backend.schedule([{ runId: run.id, at: now }])
  return (await backend.getRun(run.id))!
}
