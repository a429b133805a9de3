import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { PermanentError, RetryableError } from '../errors.js'
import { validateWith } from '../schema.js'
import { type ActionPlugin, ESCAPE_MODES } from '../types.js'
import { createTestContext, type TestContext, type TestContextOptions } from './context.js'

/** Settings or input that replace the environment's for one test. */
export interface Overrides {
  settings?: unknown
  input?: unknown
}

/** What a case's `setup` starts: usually a loopback server and the settings that point at it. */
export interface ConformanceEnv {
  /** `actions.<name>` settings, before validation. */
  settings?: unknown
  /** A rendered step input, before validation, that `run` carries out. */
  input: unknown
  /** Side effects so far (requests or messages the server received); `preview` must not add one. */
  sideEffects(): number
  /** Make the next run hang (the server stops answering), or return overrides that do. Without it the abort test is skipped. */
  // biome-ignore lint/suspicious/noConfusingVoidType: an arrange function may return nothing, or overrides.
  hang?(): void | Overrides | Promise<void | Overrides>
  /** Before each test, e.g. forget scripted answers. */
  reset?(): void | Promise<void>
  /** Strings that must never appear in results, errors, previews or logs: tokens, passwords. */
  secrets?: string[]
  close?(): void | Promise<void>
}

export interface ErrorScenario<E extends ConformanceEnv> {
  name: string
  /** Script the failure (e.g. `server.replyOnce({ status: 503 })`), or return overrides that cause it. */
  // biome-ignore lint/suspicious/noConfusingVoidType: an arrange function may return nothing, or overrides.
  arrange(env: E): void | Overrides | Promise<void | Overrides>
  expect: 'permanent' | 'retryable'
  /** For `retryable`: the `retryAfter` (ms) the error must carry. */
  retryAfter?: number
}

export interface ConformanceCase<E extends ConformanceEnv> {
  setup(): E | Promise<E>
  settings?: { valid?: unknown[]; invalid?: unknown[] }
  input?: { valid?: unknown[]; invalid?: unknown[] }
  /** Settings for which `missingCredentials` must give a message, and settings for which it must not. */
  credentials?: { missing?: unknown[]; present?: unknown[] }
  errors?: ErrorScenario<E>[]
  /** Extra context for every call (templates, payload, event). */
  context?: Omit<TestContextOptions, 'settings'>
  /** How soon an aborted run must settle, ms (default 2000). */
  abortWithin?: number
}

/** How the runner treats an error a plugin throws. */
export function classifyError(err: unknown): { kind: 'permanent' | 'retryable'; retryAfter?: number } {
  // By name too: a plugin loaded through jiti may hold its own copy of the error classes.
  const name = (err as { name?: unknown } | null)?.name
  if (err instanceof PermanentError || name === 'PermanentError') return { kind: 'permanent' }
  const retryAfter = err instanceof RetryableError || name === 'RetryableError' ? (err as RetryableError).retryAfter : undefined
  return retryAfter === undefined ? { kind: 'retryable' } : { kind: 'retryable', retryAfter }
}

const MAX_RESULT_BYTES = 16 * 1024

/**
 * Registers vitest tests that every action plugin should pass: schemas,
 * credentials, preview without side effects, a real run, abort, error
 * classification, and no secrets in what the runner records or logs.
 */
export function describePluginConformance<E extends ConformanceEnv>(plugin: ActionPlugin, spec: ConformanceCase<E>): void {
  describe(`plugin conformance: ${plugin.name || '(unnamed)'}`, () => {
    let env: E
    beforeAll(async () => {
      env = await spec.setup()
    })
    afterAll(async () => {
      await env?.close?.()
    })
    beforeEach(async () => {
      await env.reset?.()
    })

    const noSecrets = (what: string, value: unknown) => {
      const text =
        typeof value === 'string'
          ? value
          : JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? { ...v, message: v.message } : v))
      for (const secret of env.secrets ?? []) expect(text ?? '', `${what} must not contain a secret`).not.toContain(secret)
    }

    // biome-ignore lint/suspicious/noExplicitAny: the plugin under test decides its settings' type.
    const prepare = async (overrides: Overrides = {}): Promise<{ input: unknown; ctx: TestContext<any> }> => {
      const s = await validateWith(plugin.settings, 'settings' in overrides ? overrides.settings : (env.settings ?? {}), 'settings')
      expect(s.issues).toEqual([])
      const i = await validateWith(plugin.input, 'input' in overrides ? overrides.input : env.input, 'with')
      expect(i.issues).toEqual([])
      return { input: i.value, ctx: createTestContext({ ...spec.context, settings: s.value }) }
    }

    it('has a name, a run function and known escape modes', () => {
      expect(plugin.name).toMatch(/^[a-z][\w-]*$/)
      expect(typeof plugin.run).toBe('function')
      const spec = plugin.escape ?? 'none'
      const fields = [...Object.keys(env.input ?? {}), '*']
      const input = (env.input ?? {}) as Record<string, unknown>
      const modes =
        typeof spec === 'function' ? fields.map((f) => spec([f], input)) : typeof spec === 'object' ? Object.values(spec) : [spec]
      for (const mode of modes) expect(ESCAPE_MODES).toContain(mode)
    })

    it('accepts valid settings and rejects invalid ones', async () => {
      for (const s of [env.settings ?? {}, ...(spec.settings?.valid ?? [])])
        expect((await validateWith(plugin.settings, s, 'settings')).issues, JSON.stringify(s)).toEqual([])
      for (const s of spec.settings?.invalid ?? [])
        expect((await validateWith(plugin.settings, s, 'settings')).issues.length, JSON.stringify(s)).toBeGreaterThan(0)
    })

    it('accepts valid input and rejects invalid input with a path', async () => {
      for (const i of [env.input, ...(spec.input?.valid ?? [])]) {
        const { value, issues } = await validateWith(plugin.input, i, 'with')
        expect(issues, JSON.stringify(i)).toEqual([])
        const key = plugin.limitKey?.(value)
        expect(key === undefined || typeof key === 'string').toBe(true)
      }
      for (const i of spec.input?.invalid ?? []) {
        const { issues } = await validateWith(plugin.input, i, 'with')
        expect(issues.length, JSON.stringify(i)).toBeGreaterThan(0)
        for (const issue of issues) expect(issue.path, `${issue.message} should name the field`).toMatch(/^with[.[]/)
      }
    })

    it.skipIf(!spec.credentials)('says which credential is missing', async () => {
      for (const s of spec.credentials?.missing ?? []) {
        const message = plugin.missingCredentials?.((await validateWith(plugin.settings, s, 'settings')).value)
        expect(message, JSON.stringify(s)).toMatch(/\S/)
        noSecrets('missingCredentials', message)
      }
      for (const s of spec.credentials?.present ?? []) {
        expect(plugin.missingCredentials?.((await validateWith(plugin.settings, s, 'settings')).value), JSON.stringify(s)).toBeUndefined()
      }
    })

    it.skipIf(!plugin.preview)('previews without acting', async () => {
      const { input, ctx } = await prepare()
      const before = env.sideEffects()
      const preview = await plugin.preview!(input, ctx)
      expect(typeof preview === 'string' ? preview.trim() : preview).toBeTruthy()
      await new Promise((r) => setTimeout(r, 50))
      expect(env.sideEffects(), 'preview performed the side effect').toBe(before)
      noSecrets('preview', preview)
    })

    it('runs against the test server', async () => {
      const { input, ctx } = await prepare()
      const before = env.sideEffects()
      const result = await plugin.run(input, ctx)
      expect(env.sideEffects()).toBeGreaterThan(before)
      const json = JSON.stringify(result ?? null)
      expect(JSON.parse(json), 'the result must survive JSON').toEqual(result ?? null)
      expect(Buffer.byteLength(json), 'the result must stay small').toBeLessThan(MAX_RESULT_BYTES)
      noSecrets('result', result)
      noSecrets('logs', ctx.logs)
    })

    it('settles promptly when aborted', async (t) => {
      if (!env.hang) return t.skip()
      const { input, ctx } = await prepare((await env.hang()) ?? {})
      const within = spec.abortWithin ?? 2000
      const started = Date.now()
      const settled = plugin.run(input, ctx).then(
        () => 'resolved',
        (err: unknown) => err,
      )
      setTimeout(() => ctx.abort(), 50)
      const timer = new Promise((r) => setTimeout(() => r('still running'), within + 50))
      const outcome = await Promise.race([settled, timer])
      expect(outcome, `run must reject within ${within} ms of the abort`).toBeInstanceOf(Error)
      expect(Date.now() - started).toBeLessThan(within + 50)
    })

    for (const scenario of spec.errors ?? []) {
      it(`classifies ${scenario.name} as ${scenario.expect}`, async () => {
        const { input, ctx } = await prepare((await scenario.arrange(env)) ?? {})
        const err = await plugin.run(input, ctx).then(
          (result) => expect.fail(`run resolved with ${JSON.stringify(result)}`),
          (e: unknown) => e,
        )
        expect(err).toBeInstanceOf(Error)
        expect((err as Error).message).toMatch(/\S/)
        const { kind, retryAfter } = classifyError(err)
        expect(kind, (err as Error).message).toBe(scenario.expect)
        if (scenario.retryAfter !== undefined) expect(retryAfter).toBe(scenario.retryAfter)
        noSecrets('error', { message: (err as Error).message, code: (err as { code?: unknown }).code })
        noSecrets('logs', ctx.logs)
      })
    }
  })
}
