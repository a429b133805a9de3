import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../src/config/resolve.js'
import { adminTokenFile, ensureAdminToken, ensureKey, keyFile, readGeneratedKey } from '../src/first-run.js'
import { tempDir } from './helpers/runner.js'

const recipes = [{ name: 'r', on: 'title-ready', do: [{ action: 'log' }] }]

describe('ensureKey', () => {
  it('generates a key once, private, and uses it for every event', () => {
    const rootDir = tempDir()
    const first = ensureKey(resolveConfig({ recipes }, { rootDir, env: {} }))
    expect(first.created).toMatch(/^[\w-]{32}$/)
    expect(readFileSync(keyFile(first.config), 'utf8').trim()).toBe(first.created)
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

describe('the data folder', () => {
  it('holds the generated key and admin token beside the config by default (.audiorista/)', () => {
    const rootDir = tempDir()
    const config = resolveConfig({ recipes }, { rootDir, env: {} })
    ensureKey(config)
    ensureAdminToken(config)
    expect(keyFile(config)).toBe(join(rootDir, '.audiorista', 'key'))
    expect(adminTokenFile(config)).toBe(join(rootDir, '.audiorista', 'admin-token'))
    expect([keyFile(config), adminTokenFile(config)].every((f) => existsSync(f))).toBe(true)
  })

  it('is AUDIORISTA_DATA_DIR when set: key, admin token and store there, private, nothing beside the config', () => {
    const rootDir = tempDir()
    const dataDir = join(tempDir(), 'nested', 'data')
    const config = resolveConfig({ recipes }, { rootDir, env: { AUDIORISTA_DATA_DIR: dataDir } })
    const key = ensureKey(config)
    const token = ensureAdminToken(config)
    expect(config.store).toMatchObject({ driver: 'sqlite', path: join(dataDir, 'runner.db') })
    expect(key.file).toBe(join(dataDir, 'key'))
    expect(token.file).toBe(join(dataDir, 'admin-token'))
    expect(readGeneratedKey(config)).toBe(key.created)
    expect(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()).toBe(token.created)
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8)
    expect([dataDir, join(dataDir, '..')].map(mode)).toEqual(['700', '700'])
    expect([join(dataDir, 'key'), join(dataDir, 'admin-token')].map(mode)).toEqual(['600', '600'])
    expect(existsSync(join(rootDir, '.audiorista'))).toBe(false)
  })
})
