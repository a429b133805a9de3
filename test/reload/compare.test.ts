import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config/resolve.js'
import { applicable, compareConfigs, describeChange } from '../../src/reload/compare.js'
import type { Config } from '../../src/types.js'

const resolve = (config: Config) => resolveConfig(config, { rootDir: '/srv/app' })
const base: Config = {
  auth: { keys: ['key-one-secret-000'] },
  actions: { slack: { token: 'xoxb-old' } },
  recipes: [
    { name: 'a', on: 'title-ready', when: (ctx) => ctx.name === 'x', do: [{ action: 'log' }] },
    { name: 'b', on: 'title-ready', do: [{ action: 'log', with: { message: 'hi' } }] },
  ],
}

describe('compareConfigs', () => {
  it('counts recipes added, changed (a `when` function by its source) and removed', () => {
    const next: Config = {
      ...base,
      recipes: [
        { name: 'a', on: 'title-ready', when: (ctx) => ctx.name === 'y', do: [{ action: 'log' }] },
        { name: 'c', on: 'title-ready', do: [{ action: 'log' }] },
      ],
    }
    const change = compareConfigs(resolve(base), resolve(next))
    expect(change.recipes).toEqual({ added: ['c'], changed: ['a'], removed: ['b'] })
    expect(describeChange(change)).toBe('recipes: +1 ~1 -1; keys: unchanged')
  })

  it('says keys rotated and which settings apply, without a secret in the summary', () => {
    const next: Config = { ...base, auth: { keys: ['key-two-secret-000'] }, actions: { slack: { token: 'xoxb-new' } }, vars: { a: 1 } }
    const summary = describeChange(compareConfigs(resolve(base), resolve(next)))
    expect(summary).toBe('recipes: +0 ~0 -0; keys: rotated; settings: vars, actions.slack')
    expect(summary).not.toMatch(/secret|xoxb/)
  })

  it('reports settings that need a restart, and applicable() keeps them as they run', () => {
    const before = resolve(base)
    const after = resolve({ ...base, server: { port: 9999, bodyLimit: '2mb' }, queue: { concurrency: 2 }, store: { path: 'other.db' } })
    const change = compareConfigs(before, after)
    expect(change.restart).toEqual(['server.port', 'store.path', 'queue.concurrency'])
    expect(change.applied).toEqual(['server.bodyLimit'])
    const kept = applicable(before, after)
    expect(kept.server.port).toBe(before.server.port)
    expect(kept.store).toEqual(before.store)
    expect(kept.queue.concurrency).toBe(before.queue.concurrency)
    expect(kept.server.bodyLimit).toBe(2 * 1024 * 1024)
  })
})
