/**
 * `audiorista-runner/testing`: test your recipes (`loadRecipes`) and check
 * your action plugins the way the built-in ones are checked. Needs vitest (a
 * dev dependency of your project).
 */
export { loadRecipes } from './recipes.js'
export type { LoadedRecipes, LoadRecipesOptions, RecipeResult, SimulationResult } from './recipes.js'
export type { NoMatch, RecipeSimulation, Simulation, StepSimulation } from '../queue/simulate.js'
export { createTestContext } from './context.js'
export type { LogLine, TestContext, TestContextOptions } from './context.js'
export { classifyError, describePluginConformance } from './conformance.js'
export type { ConformanceCase, ConformanceEnv, ErrorScenario, Overrides } from './conformance.js'
export { titleFixture } from './fixture.js'
export { describeBackendConformance } from './backend-conformance.js'
export type { BackendFactory } from './backend-conformance.js'
