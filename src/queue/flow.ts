import { createHash } from 'node:crypto'
import type { Renderer } from '../render/renderer.js'
import { reasons } from './rules.js'
import type { Backend, StepRun } from '../store/backend.js'
import type { TemplateContext } from '../types.js'
import type { PlannedDebounce, PlannedRecipe, PlannedStep } from './plan.js'

/** What flow control decided for a run that is due. */
export type Gate = { action: 'run' } | { action: 'defer'; until: number; reason: string } | { action: 'skip'; reason: string; job: boolean }

/**
 * `debounce` and `once`, on recipes and steps, decided just before a step
 * runs. All state lives in the backend, so a restart neither forgets a pending
 * debounce nor repeats a `once`.
 */
export function createFlow({ backend, renderer }: { backend: Backend; renderer: () => Renderer }) {
  const key = (parts: string[]) => boundedKey(parts.join('\u0000'))
  const render = (ctx: TemplateContext, template: PlannedDebounce['key']) => renderer().renderString(template, ctx, 'none')

  /** The debounces that apply to this run: a recipe's on its first step, then the step's own. */
  function debounces(run: StepRun, recipe: PlannedRecipe, step: PlannedStep, ctx: TemplateContext) {
    const list: Array<{ key: string; debounce: PlannedDebounce; scope: 'job' | 'run'; what: string }> = []
    if (step.index === 0 && recipe.debounce)
      list.push({
        key: key(['recipe', run.recipe, render(ctx, recipe.debounce.key)]),
        debounce: recipe.debounce,
        scope: 'job',
        what: 'recipe',
      })
    // A preview sends nothing, so there is nothing to coalesce: it shows at once (the log says a debounce applies).
    if (step.debounce && !step.previewReason)
      list.push({
        key: key(['step', run.recipe, step.step.name ?? String(step.index), render(ctx, step.debounce.key)]),
        debounce: step.debounce,
        scope: 'run',
        what: 'step',
      })
    return list
  }

  /** Keys of the `once` guards of this run: the recipe's (first step only) and the step's. */
  function onceKeys(run: StepRun, recipe: PlannedRecipe, step: PlannedStep, ctx: TemplateContext) {
    const keys: Array<{ key: string; window?: number; job: boolean }> = []
    // A preview is not a run: it must not use up the key the real run will need.
    if (step.index === 0 && recipe.once && !step.previewReason)
      keys.push({
        key: key(['recipe', run.recipe, render(ctx, recipe.once.key)]),
        ...(recipe.once.window ? { window: recipe.once.window } : {}),
        job: true,
      })
    if (step.once && !step.previewReason)
      keys.push({
        key: key(['step', run.recipe, step.step.name ?? String(step.index), render(ctx, step.once.key)]),
        ...(step.once.window ? { window: step.once.window } : {}),
        job: false,
      })
    return keys
  }

  return {
    /**
     * Decide whether a due run runs now, waits (debounce), or is skipped
     * (once). `replaced` collects runs a debounce coalesced into this one.
     */
    async gate(run: StepRun, recipe: PlannedRecipe, step: PlannedStep, ctx: TemplateContext, replaced: StepRun[]): Promise<Gate> {
      const now = Date.now()
      // Only before the first attempt: a retry is not a new arrival.
      if (run.attempt === 0) {
        for (const d of debounces(run, recipe, step, ctx)) {
          const result = await backend.debounce({
            key: d.key,
            runId: run.id,
            now,
            wait: d.debounce.wait,
            scope: d.scope,
            reason: reasons.coalescedInto(run.id),
            ...(d.debounce.maxWait ? { maxWait: d.debounce.maxWait } : {}),
          })
          replaced.push(...result.replaced)
          if (result.dueAt > now)
            return { action: 'defer', until: result.dueAt, reason: `${d.what} debounce: waiting ${result.dueAt - now} ms for later events` }
          // Due: later arrivals open a new window instead of replacing a run that may already be waiting for a slot.
          await backend.releaseDebounce(d.key, run.id)
        }
      }
      for (const o of onceKeys(run, recipe, step, ctx)) {
        const taken = await backend.claimOnce(o.key, run.id, now, o.window ? now + o.window : null)
        if (!taken)
          return {
            action: 'skip',
            job: o.job,
            reason: `once: the ${o.job ? 'recipe' : 'step'} already ran for key "${o.key.split('\u0000').pop()}"`,
          }
      }
      return { action: 'run' }
    },

    /** A run failed for good: give its `once` keys back so that a later event may try again. */
    async release(
      run: StepRun,
      recipe: PlannedRecipe,
      step: PlannedStep,
      ctx: TemplateContext,
      firstRunId: string | undefined,
    ): Promise<void> {
      if (step.once)
        await backend.releaseOnce(key(['step', run.recipe, step.step.name ?? String(step.index), render(ctx, step.once.key)]), run.id)
      if (recipe.once && firstRunId) await backend.releaseOnce(key(['recipe', run.recipe, render(ctx, recipe.once.key)]), firstRunId)
    },
  }
}

/** Longest key kept as written; a longer one (a payload value in its template) is stored as its hash. */
export const MAX_KEY_LENGTH = 256

/**
 * Once keys can live forever, and debounce keys and limit lanes are in every
 * write of their window, so their size must not follow a payload's: a long key is kept as
 * its SHA-256. Short keys stay readable and unchanged from older versions.
 */
export function boundedKey(key: string): string {
  return key.length <= MAX_KEY_LENGTH ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`
}
