import { RetryableError } from '../errors.js'
import type { Renderer } from '../render/renderer.js'
import { redact } from '../redact.js'
import type { StepRun, Store } from '../store/store.js'
import type { ActionContext, EventInfo, Logger, Payload, TemplateContext } from '../types.js'
import type { PlannedStep } from './plan.js'

export interface Attempt {
  run: StepRun
  planned: PlannedStep
  input: unknown
  payload: Payload
  info: EventInfo
  steps: Record<string, unknown>
  ctx: TemplateContext
  log: Logger
}

export type AttemptResult = { outcome: 'ok' } | { outcome: 'gone' } | { outcome: 'failed'; err: unknown; attempt: number }

/**
 * One attempt, in a global slot: claim the run (counting the attempt), then
 * preview or run the plugin within its timeout, and record the outcome. The
 * input is stored with secret-looking fields masked.
 */
export async function runAttempt(
  a: Attempt,
  store: Store,
  renderer: Renderer,
  running: Map<string, AbortController>,
): Promise<AttemptResult> {
  const { run, planned, input, log } = a
  const claimed = await store.claimRun(run.id, Date.now())
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
    return { outcome: 'failed', err, attempt: claimed.attempt }
  } finally {
    running.delete(run.id)
  }
  // The action succeeded: if the store hiccups now, retry the write, never the action.
  if (planned.previewReason) {
    await persist(() => store.updateRun(run.id, { state: 'previewed', input: stored, result: redact(result) ?? null, error: null }))
    const flow = planned.debounce ? `; once live, its debounce of ${planned.debounce.wait} ms coalesces bursts` : ''
    log.info(
      { preview: redact(result), reason: planned.previewReason },
      `preview: ${planned.label} would run (${planned.previewReason}${flow})`,
    )
  } else {
    await persist(() => store.updateRun(run.id, { state: 'done', input: stored, result: result ?? null, error: null }))
    log.info({ attempt: claimed.attempt }, `${planned.label} done`)
  }
  return { outcome: 'ok' }
}

/** Retries a store write for a few seconds before giving up (the run then resumes at the next start). */
async function persist(write: () => Promise<void>): Promise<void> {
  for (let delay = 100; ; delay *= 2) {
    try {
      return await write()
    } catch (err) {
      if (delay > 3200) throw err
      await new Promise((r) => setTimeout(r, delay))
    }
  }
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
