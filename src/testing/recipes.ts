/**
 * Unit tests for users' recipes: load the config as `start` does, run a
 * payload through it as `simulate` does (the same `setup` and `simulate`
 * functions, so a test sees what the engine would decide), and assert on the
 * outcome. Nothing is sent: no server, store or credentials are needed.
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configNotFound } from '../config/load.js'
import { type ConfigIssue, RunnerError } from '../errors.js'
import { eventType, type NoMatch, type Simulation, type StepSimulation, simulate } from '../queue/simulate.js'
import { type Setup, setup, setupFrom } from '../setup.js'
import type { PayloadMap } from '../payload.js'
import type { Config, EventType, Payload } from '../types.js'

export interface LoadRecipesOptions {
  /** Config file or folder to search (relative to `cwd`), or the config object itself. Default: `audiorista.config.*` in `cwd`. */
  config?: string | URL | Config
  /** Folder to search, and for a config object the folder its `plugins/` and `recipes/templates/` are in. Default: `process.cwd()`. */
  cwd?: string
  /** Fail to load when a step would run in preview mode (missing credentials), as `check --strict` does. Default: false. */
  strict?: boolean
}

/** A config loaded and checked, ready to try payloads against. */
export interface LoadedRecipes {
  /** The recipes' names, in config order. */
  recipes: string[]
  /** What `check` warns about (a condition that can never hold for the documented payload); `[]` when nothing. */
  warnings: ConfigIssue[]
  /** A dry run of one delivery: which recipes match, why the others do not, each step's rendered input and preview. */
  simulate<E extends EventType>(event: E, payload: PayloadMap[E]): Promise<SimulationResult>
  /** Lets plugins release what they hold open (only needed for plugins that open something when loaded). */
  close(): Promise<void>
}

/** `simulate --json`'s data, plus lookups that fail with a clear message. */
export interface SimulationResult extends Simulation {
  /** One recipe's outcome by name; throws listing the recipes when there is none. */
  recipe(name: string): RecipeResult
  /** Names of the recipes that match, in config order. */
  matchedNames: string[]
}

/** One recipe's outcome, the same shape whether it matched or not. */
export interface RecipeResult {
  name: string
  matched: boolean
  /** Why it does not run (`reason.text` is what `simulate` prints); absent when it matches. */
  reason?: NoMatch
  /** What each step would do; empty when the recipe does not match. */
  steps: StepSimulation[]
  /** One step by its `name`, or by its 1-based position; throws listing the steps when there is none. */
  step(nameOrIndex: string | number): StepSimulation
}

/**
 * Loads a config (its plugins and templates too) and checks it, throwing the
 * same ConfigError as `check`. Steps without credentials are not an error:
 * they show what they would send, as in `simulate`.
 */
export async function loadRecipes({ config, cwd = process.cwd(), strict = false }: LoadRecipesOptions = {}): Promise<LoadedRecipes> {
  const prepared = await load(config, cwd, strict)
  return {
    recipes: prepared.plan.recipes.map((r) => r.recipe.name),
    warnings: prepared.warnings,
    async simulate(event, payload) {
      return simulationResult(await simulate(prepared, eventType(event), asDelivered(payload)))
    },
    close: () => prepared.registry.close(),
  }
}

async function load(config: LoadRecipesOptions['config'], cwd: string, strict: boolean): Promise<Setup> {
  if (config !== undefined && typeof config !== 'string' && !(config instanceof URL)) return setupFrom(config, { rootDir: cwd, strict })
  const configFile = config instanceof URL ? fileURLToPath(config) : config
  const prepared = await setup({ ...(configFile === undefined ? {} : { configFile }), cwd, strict })
  // The runner starts on defaults without a config; a test of "my recipes" without one is a mistake.
  if (!prepared.config.filepath) {
    throw configNotFound(resolve(cwd, configFile ?? '.'), 'pass loadRecipes({ config: "path/to/audiorista.config.ts" })')
  }
  return prepared
}

/** The payload as the receiver would hand it on: JSON in, JSON out (a Date becomes a string, undefined fields go). */
function asDelivered(payload: object): Payload {
  const copy: unknown = JSON.parse(JSON.stringify(payload) ?? 'null')
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) {
    throw new RunnerError('invalid_payload', 'the payload must be a JSON object, as Audiorista sends (e.g. titleFixture())')
  }
  return copy as Payload
}

function simulationResult(simulation: Simulation): SimulationResult {
  const byName = new Map(simulation.recipes.map((r) => [r.name, r]))
  const names = simulation.recipes.map((r) => r.name)
  return withHelpers(simulation, {
    matchedNames: simulation.recipes.filter((r) => r.matched).map((r) => r.name),
    recipe(name: string): RecipeResult {
      const r = byName.get(name)
      if (!r) throw new RunnerError('recipe_not_found', `no recipe named "${name}" (recipes: ${names.join(', ') || 'none'})`)
      return r.matched ? recipeResult(r.name, true, r.steps) : recipeResult(r.name, false, [], r.reason)
    },
  })
}

function recipeResult(name: string, matched: boolean, steps: StepSimulation[], reason?: NoMatch): RecipeResult {
  const data = { name, matched, ...(reason ? { reason } : {}), steps }
  return withHelpers(data, {
    step(which: string | number): StepSimulation {
      const found = typeof which === 'number' ? steps[which - 1] : steps.find((s) => s.name === which)
      if (found) return found
      const listed = steps.map((s) => `${s.index}. ${s.action}${s.name ? ` "${s.name}"` : ''}`).join(', ')
      const why = matched ? `its steps: ${listed}` : `it does not match: ${reason?.text}`
      throw new RunnerError('step_not_found', `recipe "${name}" has no step ${JSON.stringify(which)} (${why})`)
    },
  })
}

/** `data` with `helpers` added as non-enumerable properties, so `toEqual`, snapshots and JSON see only the data. */
function withHelpers<T extends object, H extends object>(data: T, helpers: H): T & H {
  const out = { ...data }
  for (const [key, value] of Object.entries(helpers)) Object.defineProperty(out, key, { value, enumerable: false })
  return out as T & H
}
