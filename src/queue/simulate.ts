/**
 * A dry run of one payload, as plain data: which recipes match, why the others
 * do not, and each step's rendered input and preview. It decides with the
 * engine's own functions (`matchRecipes`, the step's `if`, `renderStepInput`,
 * the plugin's `preview`) and sends nothing. The `simulate` command prints it
 * (or its JSON); the console returns it as is.
 */
import { RunnerError } from '../errors.js'
import { silentLogger } from '../log.js'
import { judge } from '../match/condition.js'
import { redact, redactText } from '../redact.js'
import { buildContext } from '../render/context.js'
import type { Setup } from '../setup.js'
import { EVENT_TYPES, type EventInfo, type EventType, type Payload, type TemplateContext } from '../types.js'
import { actionContext } from './attempt.js'
import { matchRecipes, type RecipeVerdict, renderStepInput } from './decide.js'
import type { PlannedRecipe, PlannedStep } from './plan.js'

/** What one payload would do. JSON-safe: secrets in inputs and previews are masked. */
export interface Simulation {
  event: EventType
  /** How many recipes match, of `total`. */
  matched: number
  total: number
  /** Every recipe, in config order. */
  recipes: RecipeSimulation[]
}

export type RecipeSimulation = { name: string; matched: true; steps: StepSimulation[] } | { name: string; matched: false; reason: NoMatch }

/** Why a recipe does not run; `text` is the sentence `simulate` prints after its name. */
export type NoMatch =
  | { kind: 'disabled'; text: string }
  | { kind: 'event'; events: EventType[]; text: string }
  /** `when` did not hold: the failing entry's config path and the value found there (absent when missing). */
  | { kind: 'condition'; path: string; actual?: unknown; text: string }
  /** `when` was not decided: the delivery's condition budget ran out at `path`, so it does not hold. */
  | { kind: 'budget'; path: string; text: string }

/** One step of a matching recipe. */
export interface StepSimulation {
  /** 1-based, as printed. */
  index: number
  action: string
  name?: string
  /** Set when its `if` does not hold, with why; nothing below is then worked out. */
  skipped?: string
  /** Set when it would only preview (missing credentials), with why. */
  previewMode?: string
  flow: Array<'once' | 'debounced'>
  /** The rendered input, secrets masked; absent when it did not render (see `error`). */
  input?: unknown
  /** The plugin's input schema refused `input`: no preview then. */
  issues?: Array<{ path: string; message: string }>
  /** What the plugin's `preview` says it would do, masked: a sentence, or a value. */
  preview?: unknown
  /** The input did not render (no `input`), or the preview threw; URL secrets masked. */
  error?: string
}

/** `value` as an event type, or an error that lists them (for a command-line argument or a request body). */
export function eventType(value: unknown): EventType {
  if (typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value)) return value as EventType
  throw new RunnerError('unknown_event', `unknown event "${String(value)}"; use one of ${EVENT_TYPES.join(', ')}`, { status: 400 })
}

/** Each recipe's verdict on this payload, and for those that match, what each step would do. Sends nothing. */
export async function simulate(
  { config, plan, renderer }: Pick<Setup, 'config' | 'plan' | 'renderer'>,
  type: EventType,
  payload: Payload,
): Promise<Simulation> {
  const info: EventInfo = { id: 'evt_simulated', type, receivedAt: new Date().toISOString() }
  const recipes: RecipeSimulation[] = []
  // The engine's own decision, recipe by recipe.
  for (const verdict of matchRecipes(plan, { type, payload, info }, config.vars)) {
    const name = verdict.recipe.recipe.name
    if (!verdict.matched) recipes.push({ name, matched: false, reason: noMatch(verdict, type) })
    else recipes.push({ name, matched: true, steps: await simulateSteps(verdict.recipe, { payload, info, vars: config.vars, renderer }) })
  }
  return { event: type, matched: recipes.filter((r) => r.matched).length, total: plan.recipes.length, recipes }
}

function noMatch(verdict: RecipeVerdict & { matched: false }, type: EventType): NoMatch {
  const r = verdict.reason
  if (r.kind === 'disabled') return { kind: 'disabled', text: 'disabled (enabled: false)' }
  if (r.kind === 'event') {
    const events = [...verdict.recipe.events]
    return { kind: 'event', events, text: `runs on ${events.join(', ')}, not ${type}` }
  }
  if (r.kind === 'budget') return { kind: 'budget', path: r.path, text: `${r.path} did not hold: ${r.reason}` }
  const actual = r.actual === undefined ? {} : { actual: masked(r.actual) }
  return { kind: 'condition', path: r.path, ...actual, text: `${r.path} did not hold: ${r.reason}` }
}

interface StepEnv {
  payload: Payload
  info: EventInfo
  vars: Record<string, unknown>
  renderer: Setup['renderer']
}

/** The steps in order; a named step's preview (or input) is `steps.NAME` to the ones after it, as its result is to the engine. */
async function simulateSteps({ recipe, steps }: PlannedRecipe, env: StepEnv): Promise<StepSimulation[]> {
  const { payload, info, vars } = env
  const results: Record<string, unknown> = {}
  const out: StepSimulation[] = []
  for (const planned of steps) {
    const ctx = buildContext({ payload, event: info, vars, recipe: { name: recipe.name }, steps: { ...results } })
    const { step, done, result } = await simulateStep(planned, ctx, { ...results }, env)
    out.push(step)
    if (done && planned.step.name) results[planned.step.name] = result
  }
  return out
}

async function simulateStep(
  planned: PlannedStep,
  ctx: TemplateContext,
  results: Record<string, unknown>,
  env: StepEnv,
): Promise<{ step: StepSimulation; done: boolean; result?: unknown }> {
  const { step: s, previewReason } = planned
  const flow: StepSimulation['flow'] = []
  if (s.once) flow.push('once')
  if (s.debounce) flow.push('debounced')
  const step: StepSimulation = {
    index: planned.index + 1,
    action: s.action,
    ...(s.name ? { name: s.name } : {}),
    ...(previewReason ? { previewMode: previewReason } : {}),
    flow,
  }
  const miss = s.if ? judge(s.if, ctx, 'if') : undefined
  if (miss) {
    step.skipped = miss.reason
    return { step, done: false }
  }
  try {
    const { rendered, value, issues } = await renderStepInput(planned, ctx, env.renderer)
    step.input = masked(rendered)
    if (issues.length) {
      step.issues = issues
      return { step, done: false }
    }
    const actx = actionContext(env.renderer, {
      planned,
      payload: env.payload,
      info: env.info,
      steps: results,
      ctx,
      log: silentLogger(),
      signal: new AbortController().signal,
      attempt: 1,
      runId: 'run_simulated',
      dryRun: true,
    })
    const preview = planned.entry.plugin.preview ? await planned.entry.plugin.preview(value, actx) : undefined
    if (preview !== undefined) step.preview = masked(preview)
    return { step, done: true, result: preview ?? value }
  } catch (err) {
    step.error = redactText(err instanceof Error ? err.message : String(err))
    return { step, done: false }
  }
}

/** A JSON copy with secrets masked, so what `simulate` prints is what `--json` and the console show; throws as printing would. */
function masked(value: unknown): unknown {
  const text = JSON.stringify(redact(value))
  return text === undefined ? undefined : JSON.parse(text)
}
