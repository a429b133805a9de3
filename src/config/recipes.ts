import { EVENT_TYPES, type Recipe } from '../types.js'
import { checkDebounce, checkOnce, checkRetry } from './flow.js'
import { at, isPlainObject, type Validator } from './validate.js'

const RECIPE_KEYS = ['name', 'on', 'when', 'do', 'once', 'debounce', 'enabled'] as const
const STEP_KEYS = ['action', 'with', 'name', 'if', 'once', 'debounce', 'timeout', 'retry', 'continueOnError'] as const

// Names people reach for from other automation tools, and the one we use.
const RECIPE_SYNONYMS = {
  event: 'on',
  events: 'on',
  trigger: 'on',
  steps: 'do',
  actions: 'do',
  if: 'when',
  condition: 'when',
  disabled: 'enabled',
}
const STEP_SYNONYMS = {
  input: 'with',
  params: 'with',
  options: 'with',
  uses: 'action',
  type: 'action',
  when: 'if',
  condition: 'if',
  id: 'name',
}

export const NOT_AN_EVENT = `is not an event (${EVENT_TYPES.join(', ')})`

/** Checks the recipes; returns them as written (conditions and templates are checked elsewhere). */
export function checkRecipes(v: Validator, value: unknown): Recipe[] {
  const recipes = v.list(value, 'recipes', 'a list of recipes')
  if (!recipes) return []
  const names = new Map<string, string>()
  for (const [i, recipe] of recipes.entries()) checkRecipe(v, recipe, `recipes[${i}]`, names)
  return recipes as Recipe[]
}

function checkRecipe(v: Validator, value: unknown, path: string, names: Map<string, string>): void {
  if (value == null) return void v.fail(path, 'must be a recipe ({ name, on, do })')
  const recipe = v.object(value, path, { keys: RECIPE_KEYS, synonyms: RECIPE_SYNONYMS, what: 'a recipe ({ name, on, do })' })
  if (!recipe) return
  const name = v.string(recipe.name, `${path}.name`, { required: true })
  if (name !== undefined) unique(v, name, `${path}.name`, names)
  checkOn(v, recipe.on, `${path}.on`)
  checkCondition(v, recipe.when, `${path}.when`)
  checkOnce(v, recipe.once, `${path}.once`)
  checkDebounce(v, recipe.debounce, `${path}.debounce`)
  v.boolean(recipe.enabled, `${path}.enabled`)

  const steps = recipe.do == null ? v.fail(`${path}.do`, 'required') : v.list(recipe.do, `${path}.do`, 'a list of steps')
  if (steps?.length === 0) v.fail(`${path}.do`, 'must have at least one step')
  const stepNames = new Map<string, string>()
  for (const [i, step] of (steps ?? []).entries()) checkStep(v, step, at(`${path}.do`, i), stepNames)
}

function checkOn(v: Validator, value: unknown, path: string): void {
  if (value == null) return void v.fail(path, `required (one of ${EVENT_TYPES.join(', ')}, or a list)`)
  const events = Array.isArray(value) ? value : [value]
  if (events.length === 0) v.fail(path, 'must have at least one event')
  events.forEach((event, i) => {
    const where = Array.isArray(value) ? at(path, i) : path
    if (typeof event !== 'string') v.fail(where, `must be an event (${EVENT_TYPES.join(', ')})`)
    else if (!(EVENT_TYPES as readonly string[]).includes(event)) v.fail(where, `${JSON.stringify(event)} ${NOT_AN_EVENT}`)
  })
}

function checkStep(v: Validator, value: unknown, path: string, names: Map<string, string>): void {
  if (value == null) return void v.fail(path, 'must be a step ({ action, with })')
  const step = v.object(value, path, { keys: STEP_KEYS, synonyms: STEP_SYNONYMS, what: 'a step ({ action, with })' })
  if (!step) return
  v.string(step.action, `${path}.action`, { required: true })
  v.object(step.with, `${path}.with`, { what: "an object (the action's input)" })
  const name = v.string(step.name, `${path}.name`)
  if (name !== undefined) unique(v, name, `${path}.name`, names)
  checkCondition(v, step.if, `${path}.if`)
  checkOnce(v, step.once, `${path}.once`)
  checkDebounce(v, step.debounce, `${path}.debounce`)
  v.duration(step.timeout, `${path}.timeout`, { positive: true })
  checkRetry(v, step.retry, `${path}.retry`)
  v.boolean(step.continueOnError, `${path}.continueOnError`)
}

// The match module checks what is inside a condition; here only its shape.
function checkCondition(v: Validator, value: unknown, path: string): void {
  if (value == null || typeof value === 'function' || isPlainObject(value)) return
  v.fail(path, 'must be a condition (an object or a function)')
}

// `path` ends in `.name`; the message points at the recipe or step that has it first.
function unique(v: Validator, name: string, path: string, seen: Map<string, string>): void {
  const first = seen.get(name)
  if (first === undefined) seen.set(name, path.slice(0, -'.name'.length))
  else v.fail(path, `${JSON.stringify(name)} is already used by ${first}`)
}
