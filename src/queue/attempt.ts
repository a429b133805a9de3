import { RetryableError } from '../errors.js'
import { SHUTDOWN } from './shutdown.js'
import type { Renderer } from '../render/renderer.js'
import { redact } from '../redact.js'
import type { Backend, RunPatch, StepRun, Work } from '../store/backend.js'
import type { ActionContext, EventInfo, Logger, Payload, TemplateContext } from '../types.js'
import type { PlannedStep } from './plan.js'

export interface Attempt {
  work: Work
  run: StepRun
  planned: PlannedStep
  input: unknown
  payload: Payload
  info: EventInfo
  steps: Record<string, unknown>
  ctx: TemplateContext
  log: Logger
}

export type AttemptResult =
  /** Ran (or previewed): `patch` records it. */
  | { outcome: 'ok'; patch: RunPatch }
  /** Not pending any more (a debounce skipped it while it waited for a slot). */
  | { outcome: 'gone' }
  /** The runner stopped before a slot was free. */
  | { outcome: 'stopped' }
  | { outcome: 'failed'; err: unknown; attempt: number; reason: { kind: 'shutdown' } | { kind: 'error' } }

/**
 * One attempt, in a global slot: claim the run (counting the attempt), then
 * preview or run the plugin within its timeout. The outcome comes back as a
 * patch for the engine's settle, with the secrets in its input and result masked.
 */
export async function runAttempt(
  a: Attempt,
  backend: Backend,
  renderer: Renderer,
  running: Map<string, AbortController>,
): Promise<AttemptResult> {
  const { run, planned, input, log } = a
  const claimed = await backend.claim(a.work, Date.now())
  // Skipped while it waited for a slot (a later event coalesced it): nothing to do.
  if (!claimed) return { outcome: 'gone' }
  const { plugin } = planned.entry
  const controller = new AbortController()
  running.set(run.id, controller)
  const actx = actionContext(renderer, { ...a, signal: controller.signal, attempt: claimed.attempt, runId: run.id, dryRun: false })
  const stored = redact(input)
  let result: unknown
  try {
    result = planned.previewReason
      ? plugin.preview
        ? await plugin.preview(input, actx)
        : input
      : await withTimeout(plugin.run(input, actx), planned.timeout, controller)
  } catch (err) {
    const reason =
      controller.signal.aborted && controller.signal.reason === SHUTDOWN ? { kind: 'shutdown' as const } : { kind: 'error' as const }
    return { outcome: 'failed', err, attempt: claimed.attempt, reason }
  } finally {
    running.delete(run.id)
  }
  if (planned.previewReason) {
    const flow = planned.debounce ? `; once live, its debounce of ${planned.debounce.wait} ms coalesces bursts` : ''
    log.info(
      { preview: redact(result), reason: planned.previewReason },
      `preview: ${planned.label} would run (${planned.previewReason}${flow})`,
    )
    return { outcome: 'ok', patch: { state: 'previewed', input: stored, result: redact(result) ?? null, error: null } }
  }
  log.info({ attempt: claimed.attempt }, `${planned.label} done`)
  return { outcome: 'ok', patch: { state: 'done', input: stored, result: redact(result) ?? null, error: null } }
}

/** What a plugin's `run` and `preview` receive, for a real attempt or a dry run. */
export function actionContext(
  renderer: Renderer,
  p: Pick<Attempt, 'planned' | 'payload' | 'info' | 'steps' | 'ctx' | 'log'> & {
    signal: AbortSignal
    attempt: number
    runId: string
    dryRun: boolean
  },
): ActionContext {
  return {
    event: p.info,
    payload: p.payload,
    settings: p.planned.entry.settings as Record<string, unknown>,
    signal: p.signal,
    log: p.log,
    attempt: p.attempt,
    runId: p.runId,
    steps: p.steps,
    dryRun: p.dryRun,
    renderTemplate: (name, mode) => renderer.renderTemplate(name, p.ctx, mode),
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
  const aborted = new Promise<never>((_, reject) =>
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }),
  )
  try {
    return await Promise.race([work, timeout, aborted])
  } finally {
    clearTimeout(timer)
  }
}
