import { evaluate, explain } from '../match/condition.js'
import { buildContext } from '../render/context.js'
import type { Renderer } from '../render/renderer.js'
import { validateWith } from '../schema.js'
import type { EventInfo, EventType, Payload, TemplateContext } from '../types.js'
import { type Plan, type PlannedRecipe, type PlannedStep, rawWith } from './plan.js'

/** Why a recipe does or does not run for an event; `actual`: the value found at `path` (undefined when missing). */
export type RecipeVerdict =
  | { recipe: PlannedRecipe; matched: true }
  | {
      recipe: PlannedRecipe
      matched: false
      reason: { kind: 'disabled' } | { kind: 'event' } | { kind: 'when'; path: string; reason: string; actual?: unknown }
    }

/**
 * Each recipe's verdict on one event. The engine runs the matched ones;
 * `simulate` prints them all, so both decide with this one function.
 */
export function matchRecipes(
  plan: Plan,
  event: { type: EventType; payload: Payload; info: EventInfo },
  vars: Record<string, unknown>,
): RecipeVerdict[] {
  return plan.recipes.map((recipe): RecipeVerdict => {
    if (recipe.recipe.enabled === false) return { recipe, matched: false, reason: { kind: 'disabled' } }
    if (!recipe.events.has(event.type)) return { recipe, matched: false, reason: { kind: 'event' } }
    const when = recipe.recipe.when
    if (!when) return { recipe, matched: true }
    const ctx = buildContext({ payload: event.payload, event: event.info, vars, recipe: { name: recipe.recipe.name }, steps: {} })
    if (evaluate(when, ctx)) return { recipe, matched: true }
    const why = explain(when, ctx)
    const reason = { kind: 'when' as const, path: why?.path ?? 'when', reason: why?.reason ?? 'false', actual: why?.actual }
    return { recipe, matched: false, reason }
  })
}

/** A step's input for one event: rendered with its destination's escaping, then checked by the plugin's schema. */
export async function renderStepInput(planned: PlannedStep, ctx: TemplateContext, renderer: Renderer) {
  const rendered = renderer.render(planned.input, ctx, planned.entry.plugin.escape ?? 'none', rawWith(planned))
  const { value, issues } = await validateWith(planned.entry.plugin.input, rendered, 'with')
  return { rendered, value, issues }
}
