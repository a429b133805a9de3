import type { EventInfo, Payload, TemplateContext } from '../types.js'

export interface ContextParts {
  /** The delivery's body; its fields land at the root of the context. */
  payload: Payload
  /** The accepted delivery. */
  event: EventInfo
  /** `vars` from the config. */
  vars?: Record<string, unknown>
  /** The recipe being run; only its name is exposed. */
  recipe: { name: string }
  /** Earlier steps' results, by step name. */
  steps?: Record<string, unknown>
}

/**
 * What templates and conditions see: the payload's fields at the root, then
 * the reserved names, which win over payload fields of the same name (those
 * stay reachable as `payload.x`).
 */
export function buildContext({ payload, event, vars = {}, recipe, steps = {} }: ContextParts): TemplateContext {
  const root: Record<string, unknown> = {}
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
    for (const key of Object.keys(payload)) {
      // JSON.parse makes `__proto__` an own key; assigning it would swap the context's prototype.
      if (key !== '__proto__') root[key] = payload[key]
    }
  }
  return Object.assign(root, { payload, event, vars, recipe: { name: recipe.name }, steps })
}
