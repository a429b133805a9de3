import type { ActionEntry, ActionRegistry } from '../actions/registry.js'
import { parseDuration } from '../duration.js'
import type { ConfigIssue } from '../errors.js'
import { validateCondition } from '../match/condition.js'
import { resolveDebounce, resolveOnce, resolveRetry } from '../config/flow.js'
import type { CompiledInput, CompiledString, Renderer } from '../render/renderer.js'
import { checkSchema } from '../schema.js'
import type { DebounceOption, EventType, OnceOption, Recipe, Step } from '../types.js'
import type { ResolvedConfig, ResolvedRetry } from '../config/resolved.js'

/** A step ready to run: its plugin, compiled input and resolved limits. */
export interface PlannedStep {
  index: number
  step: Step
  /** `recipes[1] "podcast-ready" step 2 (email)`: how messages name it. */
  label: string
  entry: ActionEntry
  input: CompiledInput
  timeout: number
  retry: ResolvedRetry
  /** Set when this step runs in preview mode, and why. */
  previewReason?: string
  once?: PlannedOnce
  debounce?: PlannedDebounce
}

/** `once`, ready to use: the key template compiled, the window in ms (undefined: forever). */
export interface PlannedOnce {
  key: CompiledString
  window?: number
}

/** `debounce`, ready to use; the key template compiled. */
export interface PlannedDebounce {
  key: CompiledString
  wait: number
  maxWait?: number
}

export interface PlannedRecipe {
  index: number
  recipe: Recipe
  events: ReadonlySet<EventType>
  steps: PlannedStep[]
  once?: PlannedOnce
  debounce?: PlannedDebounce
}

export interface Plan {
  recipes: PlannedRecipe[]
  byName: ReadonlyMap<string, PlannedRecipe>
  /** Steps that will only preview, with the reason (shown at start-up and by `check`). */
  previews: Array<{ label: string; reason: string }>
}

/** The step's `with` as written in the config: plugins' escape specs read opt-outs from it. */
export function rawWith(planned: PlannedStep): Readonly<Record<string, unknown>> {
  const raw = planned.step.with
  return raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}
}

/**
 * Binds recipes to plugins and compiles their conditions and templates, once,
 * at load time. Every problem is collected, so `check` shows all of them.
 */
export async function planRecipes(
  config: ResolvedConfig,
  registry: ActionRegistry,
  renderer: Renderer,
): Promise<{ plan: Plan; issues: ConfigIssue[] }> {
  const issues: ConfigIssue[] = []
  const recipes: PlannedRecipe[] = []
  const previews: Plan['previews'] = []
  for (const [ri, recipe] of config.recipes.entries()) {
    // Shapes already reported by the config check are skipped, not crashed on.
    if (!recipe || typeof recipe !== 'object' || !Array.isArray(recipe.do)) continue
    const base = `recipes[${ri}]`
    if (recipe.when && typeof recipe.when !== 'function') issues.push(...validateCondition(recipe.when, `${base}.when`))
    const steps: PlannedStep[] = []
    for (const [si, step] of recipe.do.entries()) {
      if (!step || typeof step !== 'object' || typeof step.action !== 'string') continue
      const path = `${base}.do[${si}]`
      const label = `${base} "${recipe.name}" step ${si + 1} (${step.action})`
      const entry = registry.get(step.action)
      if (!entry) {
        issues.push({ path: `${path}.action`, message: `no action named "${step.action}" (available: ${registry.names().join(', ')})` })
        continue
      }
      if (step.if && typeof step.if !== 'function') issues.push(...validateCondition(step.if, `${path}.if`))
      const raw = step.with && typeof step.with === 'object' && !Array.isArray(step.with) ? step.with : {}
      const input = renderer.compileInput(raw, `${path}.with`, issues)
      // `url: process.env.BUILD_HOOK_URL` with the variable unset (or empty) means "not configured yet".
      const unset = Object.entries(raw)
        .filter(([, v]) => v === undefined || v === '')
        .map(([k]) => k)
      issues.push(...(await staticInputIssues(entry, raw, `${path}.with`, unset)))
      if (typeof raw.template === 'string' && !raw.template.includes('{{'))
        renderer.checkTemplate(raw.template, `${path}.with.template`, issues)
      const planned: PlannedStep = {
        index: si,
        step,
        label,
        entry,
        input,
        timeout: parseDuration(step.timeout) ?? config.queue.timeout,
        retry: resolveRetry(step.retry, config.queue.retry),
      }
      const once = planOnce(step.once, `${path}.once`, renderer, issues)
      if (once) planned.once = once
      // A step's debounce defaults to the step itself: one run for all titles (a site rebuild).
      const debounce = planDebounce(step.debounce, '', `${path}.debounce`, renderer, issues)
      if (debounce) planned.debounce = debounce
      const reason =
        entry.previewReason ??
        (unset.length
          ? `with.${unset.join(', with.')} ${unset.length === 1 ? 'is' : 'are'} not set (an unset environment variable?)`
          : undefined)
      if (reason) {
        planned.previewReason = reason
        previews.push({ label, reason })
      }
      steps.push(planned)
    }
    const on = (Array.isArray(recipe.on) ? recipe.on : [recipe.on]).filter((e): e is EventType => typeof e === 'string')
    const planned: PlannedRecipe = { index: ri, recipe, events: new Set(on), steps }
    const once = planOnce(recipe.once, `${base}.once`, renderer, issues)
    if (once) planned.once = once
    // A recipe's debounce defaults to one run per title.
    const debounce = planDebounce(recipe.debounce, '{{id}}', `${base}.debounce`, renderer, issues)
    if (debounce) planned.debounce = debounce
    recipes.push(planned)
  }
  const byName = new Map(recipes.map((r) => [r.recipe.name, r]))
  return { plan: { recipes, byName, previews }, issues }
}

/**
 * Validates a step's `with` before rendering. Templates are strings that only
 * get their real value per event, so only what cannot change is reported:
 * missing fields, and literal values of the wrong type.
 */
async function staticInputIssues(entry: ActionEntry, raw: Record<string, unknown>, base: string, unset: string[]): Promise<ConfigIssue[]> {
  const { issues } = await checkSchema(entry.plugin.input, raw, base)
  return issues
    .filter(({ field, actual, message }) => {
      if (typeof field === 'string' && unset.includes(field)) return false
      if (actual === undefined) return message === 'required'
      return typeof actual !== 'string' && !containsTemplate(actual)
    })
    .map(({ path, message }) => ({ path, message }))
}

function containsTemplate(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('{{')
  if (value && typeof value === 'object') return Object.values(value).some(containsTemplate)
  return false
}

function planOnce(value: OnceOption | undefined, path: string, renderer: Renderer, issues: ConfigIssue[]): PlannedOnce | undefined {
  const once = resolveOnce(value)
  if (!once) return undefined
  const planned: PlannedOnce = { key: renderer.compileString(once.key, `${path}.key`, issues) }
  if (once.window !== undefined) planned.window = once.window
  return planned
}

function planDebounce(
  value: DebounceOption | undefined,
  defaultKey: string,
  path: string,
  renderer: Renderer,
  issues: ConfigIssue[],
): PlannedDebounce | undefined {
  const debounce = resolveDebounce(value)
  if (!debounce) return undefined
  const planned: PlannedDebounce = { key: renderer.compileString(debounce.key ?? defaultKey, `${path}.key`, issues), wait: debounce.wait }
  if (debounce.maxWait !== undefined) planned.maxWait = debounce.maxWait
  return planned
}
