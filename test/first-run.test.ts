import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../src/config/resolve.js'
import { ensureKey, keyFile } from '../src/first-run.js'
import { tempDir } from './helpers/runner.js'

const recipes = [{ name: 'r', on: 'title-ready', do: [{ action: 'log' }] }]

describe('ensureKey', () => {
  it('generates a key once, private, and uses it for every event', () => {
    const rootDir = tempDir()
    const first = ensureKey(resolveConfig({ recipes }, { rootDir, env: {} }))
    expect(first.created).toMatch(/^[\w-]{32}$/)
    expect(readFileSync(keyFile(rootDir), 'utf8').trim()).toBe(first.created)
    expect(first.config.auth.keys?.['title-ready']).toEqual([first.created])
    const again = ensureKey(resolveConfig({ recipes }, { rootDir, env: {} }))
    expect(again.created).toBeUndefined()
    expect(again.config.auth.keys?.['asset-transcoded']).toEqual([first.created])
    expect(again.warnings).toEqual([])
  })

  it('warns on a Redis store that replicas need one shared key, since each would generate its own', () => {
    const rootDir = tempDir()
    const config = resolveConfig({ recipes, store: { driver: 'redis', url: 'redis://127.0.0.1:6379' } }, { rootDir, env: {} })
    const { warnings } = ensureKey(config)
    expect(warnings).toEqual([expect.stringMatching(/replicas sharing a Redis store need one key: set auth.keys/)])
  })

  it('leaves a configured key alone', () => {
    const rootDir = tempDir()
    const config = resolveConfig(
      { recipes, auth: { keys: ['k'.repeat(32)] }, store: { driver: 'redis', url: 'redis://127.0.0.1:6379' } },
      { rootDir, env: {} },
    )
    expect(ensureKey(config)).toEqual({ config, warnings: [] })
  })
})
