/**
 * `audiorista-runner/testing`: check your action plugins the way the built-in
 * ones are checked. Needs vitest (a dev dependency of your project).
 */
export { createTestContext } from './context.js'
export type { LogLine, TestContext, TestContextOptions } from './context.js'
export { classifyError, describePluginConformance } from './conformance.js'
export type { ConformanceCase, ConformanceEnv, ErrorScenario, Overrides } from './conformance.js'
export { titleFixture } from './fixture.js'
export { describeBackendConformance } from './backend-conformance.js'
export type { BackendFactory } from './backend-conformance.js'
