import { conditionBudget } from '../match/budget.js'
import { judge } from '../match/condition.js'
import { buildContext } from '../render/context.js'
import type { Renderer } from '../render/renderer.js'
import { validateWith } from '../schema.js'
import type { EventInfo, EventType, Payload, TemplateContext } from '../types.js'
import { type Plan, type PlannedRecipe, type PlannedStep, rawWith } from './plan.js'
import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * Why a recipe does or does not run for an event; `actual`: the value found at `path` (undefined when missing).
 * `budget`: the delivery's condition budget ran out at `path` (budget.ts), so `when` does not hold.
 */
export type RecipeVerdict =
  | { recipe: PlannedRecipe; matched: true }
  | {
      recipe: PlannedRecipe
      matched: false
      reason:
        | { kind: 'disabled' }
        | { kind: 'event' }
        | { kind: 'when'; path: string; reason: string; actual?: unknown }
        | { kind: 'budget'; path: string; reason: string }
    }

/**
 * Each recipe's verdict on one event. The engine runs the matched ones;
 * `simulate` prints them all, so both decide with this one function. All the
 * recipes' conditions draw from one budget: the delivery's.
 */
export function matchRecipes(
  plan: Plan,
  event: { type: EventType; payload: Payload; info: EventInfo },
  vars: Record<string, unknown>,
): RecipeVerdict[] {
  const budget = conditionBudget()
  return plan.recipes.map((recipe): RecipeVerdict => {
    if (recipe.recipe.enabled === false) return { recipe, matched: false, reason: { kind: 'disabled' } }
    if (!recipe.events.has(event.type)) return { recipe, matched: false, reason: { kind: 'event' } }
    const when = recipe.recipe.when
    if (!when) return { recipe, matched: true }
    const ctx = buildContext({ payload: event.payload, event: event.info, vars, recipe: { name: recipe.recipe.name }, steps: {} })
    const why = judge(when, ctx, 'when', budget)
    if (!why) return { recipe, matched: true }
    if (why.exhausted) return { recipe, matched: false, reason: { kind: 'budget', path: why.path, reason: why.reason } }
    return { recipe, matched: false, reason: { kind: 'when', path: why.path, reason: why.reason, actual: why.actual } }
  })
}

/** Rendering longer than this gives the event loop a turn before the step goes on. */
const LONG_RENDER_MS = 8

/** A step's input for one event: rendered with its destination's escaping, then checked by the plugin's schema. */
export async function renderStepInput(planned: PlannedStep, ctx: TemplateContext, renderer: Renderer) {
  // In a turn of its own: whatever ran before it in this task (a store read, a parse slice) does not add to it.
  await nextTurn()
  const started = performance.now()
  const rendered = renderer.render(planned.input, ctx, planned.entry.plugin.escape ?? 'none', rawWith(planned))
  // A helper given a megabyte takes tens of ms: deliveries waiting meanwhile get a turn before the step goes on.
  if (performance.now() - started >= LONG_RENDER_MS) await nextTurn()
  const { value, issues } = await validateWith(planned.entry.plugin.input, rendered, 'with')
  return { rendered, value, issues }
}
