import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { readConfig } from '../../src/config/read.js'
import { resolveConfig } from '../../src/config/resolve.js'
import { ConfigError } from '../../src/errors.js'
import { configProblems } from '../helpers/config-problems.js'

const fixtures = resolve(import.meta.dirname, '../fixtures/configs')
const rootDir = '/srv/runner'
const step = { action: 'log' }
const recipe = { name: 'r', on: 'title-ready', do: [step] }

const problems = (config: unknown, env: NodeJS.ProcessEnv = {}) => configProblems(config, { rootDir, env })

async function fromDisk(name: string, env: NodeJS.ProcessEnv = {}) {
  const loaded = await loadConfig({ cwd: join(fixtures, name), env })
  return resolveConfig(loaded.config, { ...loaded, env })
}

describe('resolveConfig: defaults', () => {
  it('gives a runnable config for an empty one', () => {
    expect(resolveConfig({}, { rootDir, env: {} })).toEqual({
      rootDir,
      dataDir: '/srv/runner/.audiorista',
      server: {
        host: '0.0.0.0',
        port: 8787,
        basePath: '/webhooks',
        bodyLimit: 1048576,
        inflightBytes: 33_554_432,
        headersTimeout: 10_000,
        requestTimeout: 30_000,
        keepAliveTimeout: 5_000,
        trustProxy: { kind: 'none' },
      },
      auth: { allowUnauthenticated: false },
      store: { driver: 'sqlite', path: '/srv/runner/.audiorista/runner.db', lease: 30_000 },
      queue: { concurrency: 8, timeout: 30_000, retry: { attempts: 5, delay: 2_000, factor: 2, maxDelay: 900_000 } },
      dedupe: { window: 86_400_000 },
      retention: 14 * 86_400_000,
      vars: {},
      actions: {},
      plugins: ['/srv/runner/plugins'],
      recipes: [],
      admin: { enabled: true },
      metrics: { public: false },
    })
  })

  it('treats YAML empty sections (null) as absent', () => {
    expect(resolveConfig({ server: null, recipes: null }, { rootDir, env: {} }).server.port).toBe(8787)
  })

  it('lets PORT override the port, and rejects a PORT that is not one', () => {
    expect(resolveConfig({ server: { port: 9000 } }, { rootDir, env: { PORT: '3000' } }).server.port).toBe(3000)
    expect(resolveConfig({ server: { port: 9000 } }, { rootDir, env: { PORT: '' } }).server.port).toBe(9000)
    expect(problems({}, { PORT: 'http' })).toEqual(['env.PORT: must be an integer from 0 to 65535 (it is "http")'])
    expect(problems({}, { PORT: '70000' })).toEqual(['env.PORT: must be an integer from 0 to 65535 (it is "70000")'])
  })

  it('normalises basePath', () => {
    const base = (basePath: string) => resolveConfig({ server: { basePath } }, { rootDir, env: {} }).server.basePath
    expect(base('hooks')).toBe('/hooks')
    expect(base('/hooks/')).toBe('/hooks')
    expect(base('//a//b/')).toBe('/a/b')
    expect(problems({ server: { basePath: '/admin/hooks' } })).toEqual([
      'server.basePath: /admin/hooks would hide /admin (the console, metrics and health live there); use a path such as /webhooks',
    ])
    expect(problems({ server: { basePath: 'metrics' } })[0]).toContain('would hide /metrics')
    expect(base('/administration')).toBe('/administration')
    expect(base('/')).toBe('')
    expect(problems({ server: { basePath: '/web hooks' } })).toEqual([
      'server.basePath: "/web hooks" is not a path prefix such as /webhooks',
    ])
  })

  it('parses durations and sizes, and explains the ones it cannot', () => {
    const config = resolveConfig(
      {
        server: { bodyLimit: '512kb', keepAliveTimeout: 2500 },
        queue: { timeout: '2m', retry: { delay: '500ms', maxDelay: '1h' } },
        dedupe: { window: '7d' },
        retention: '30d',
      },
      { rootDir, env: {} },
    )
    expect(config.server).toMatchObject({ bodyLimit: 524288, keepAliveTimeout: 2500 })
    expect(config.queue).toEqual({ concurrency: 8, timeout: 120_000, retry: { attempts: 5, delay: 500, factor: 2, maxDelay: 3_600_000 } })
    expect(config.dedupe.window).toBe(7 * 86_400_000)
    expect(config.retention).toBe(30 * 86_400_000)
    expect(
      problems({ queue: { timeout: 0, retry: { delay: true } }, dedupe: { window: -5 }, server: { bodyLimit: 0, inflightBytes: '64kb' } }),
    ).toEqual([
      'server.bodyLimit: 0 is not a size (use 512kb, 1mb or a number of bytes)',
      'server.inflightBytes: must be at least 1mb, got 65536 bytes',
      'queue.timeout: must be longer than 0',
      'queue.retry.delay: must be a duration (use 500ms, 30s, 5m, 2h, 7d or a number of ms)',
      'dedupe.window: -5 is not a duration (use 500ms, 30s, 5m, 2h, 7d or a number of ms)',
    ])
  })

  it('resolves store and plugin paths against rootDir', () => {
    const config = resolveConfig(
      { store: { path: 'data/x.db' }, plugins: ['./plugins', 'extra/discord.ts', '/opt/p'] },
      { rootDir, env: {} },
    )
    expect((config.store as { path: string }).path).toBe('/srv/runner/data/x.db')
    expect(config.plugins).toEqual(['/srv/runner/plugins', '/srv/runner/extra/discord.ts', '/opt/p'])
    expect((resolveConfig({ store: { path: ':memory:' } }, { rootDir, env: {} }).store as { path: string }).path).toBe(':memory:')
    expect(problems({ store: { driver: 'mongo' }, plugins: ['', 3] })).toEqual([
      'store.driver: "mongo" is not a store driver (sqlite, redis)',
      'plugins[0]: must not be empty',
      'plugins[1]: must be a string',
    ])
  })

  it('moves the data folder, and the default store in it, to AUDIORISTA_DATA_DIR (resolved against the working folder)', () => {
    const at = (env: NodeJS.ProcessEnv, store?: unknown) => {
      const config = resolveConfig({ store }, { rootDir, env })
      return { dataDir: config.dataDir, store: (config.store as { path: string }).path }
    }
    expect(at({ AUDIORISTA_DATA_DIR: '/data' })).toEqual({ dataDir: '/data', store: '/data/runner.db' })
    expect(at({ AUDIORISTA_DATA_DIR: 'var/data' })).toEqual({
      dataDir: resolve('var/data'),
      store: resolve('var/data/runner.db'),
    })
    // Empty is unset (`AUDIORISTA_DATA_DIR=` in an env file).
    expect(at({ AUDIORISTA_DATA_DIR: ' ' }).dataDir).toBe('/srv/runner/.audiorista')
    // A path written in the config is the config's: it stays relative to the config's folder.
    expect(at({ AUDIORISTA_DATA_DIR: '/data' }, { path: 'db/x.db' })).toEqual({ dataDir: '/data', store: '/srv/runner/db/x.db' })
  })

  it('keeps action settings, checks concurrency and rateLimit, and gives the interval in ms', () => {
    const config = resolveConfig(
      { actions: { slack: { token: 't', rateLimit: { limit: 1, interval: '1s' } }, http: { concurrency: 1 }, unused: undefined } },
      { rootDir, env: {} },
    )
    expect(config.actions).toEqual({ slack: { token: 't', rateLimit: { limit: 1, interval: 1000 } }, http: { concurrency: 1 } })
    expect(problems({ actions: { http: { concurrency: 0, rateLimit: { limt: 2 } }, email: 'smtp://x' } })).toEqual([
      'actions.http.concurrency: must be a positive integer',
      'actions.http.rateLimit.limt: unknown option (did you mean limit?)',
      'actions.http.rateLimit.limit: required',
      'actions.http.rateLimit.interval: required',
      'actions.email: must be an object of settings',
    ])
  })
})

describe('resolveConfig: auth keys', () => {
  const keysOf = (keys: unknown) => resolveConfig({ auth: { keys } }, { rootDir, env: {} }).auth.keys

  it('applies a list to every event, dropping unset entries', () => {
    expect(keysOf(['a', undefined, '', 'b', 'a'])).toEqual({
      'title-updated': ['a', 'b'],
      'title-ready': ['a', 'b'],
      'asset-transcoded': ['a', 'b'],
    })
  })

  it('takes a map of event to a key or a list; events left out get no key', () => {
    expect(keysOf({ 'title-ready': ['a', 'b'], 'asset-transcoded': 'c', 'title-updated': undefined })).toEqual({
      'title-updated': [],
      'title-ready': ['a', 'b'],
      'asset-transcoded': ['c'],
    })
  })

  it('has no keys when every entry is unset, so the runner generates one', () => {
    expect(keysOf([process.env.AUDIORISTA_TEST_UNSET_KEY])).toBeUndefined()
    expect(keysOf({ 'title-ready': '' })).toBeUndefined()
    expect(resolveConfig({ auth: { allowUnauthenticated: true } }, { rootDir, env: {} }).auth).toEqual({ allowUnauthenticated: true })
  })

  it('reads both forms from disk', async () => {
    expect((await fromDisk('yaml')).auth.keys).toEqual({
      'title-updated': [],
      'title-ready': ['yaml-key-1', 'yaml-key-2'],
      'asset-transcoded': ['yaml-key-3'],
    })
    expect((await fromDisk('function-export', { FIXTURE_KEY: 'k1' })).auth.keys?.['title-ready']).toEqual(['k1'])
    expect((await fromDisk('function-export', {})).auth.keys).toBeUndefined()
  })

  it('reports wrong entries and events without showing any value', () => {
    const secret = 'sk_live_do_not_print'
    const lines = problems({
      auth: {
        keys: { 'title-published': [secret], 'title-ready': [secret, 42], 'asset-transcoded': { key: secret } },
        allowUnauthenticated: 'yes',
      },
      actions: { slack: { token: secret, concurrency: secret, rateLimit: { limit: secret, interval: secret } } },
    })
    expect(lines).toEqual([
      'auth.allowUnauthenticated: must be true or false',
      'auth.keys.title-published: "title-published" is not an event (title-updated, title-ready, asset-transcoded)',
      'auth.keys.title-ready[1]: must be a string',
      'auth.keys.asset-transcoded: must be a key or a list of keys',
      'actions.slack.concurrency: must be a positive integer',
      'actions.slack.rateLimit.limit: must be a positive integer',
      'actions.slack.rateLimit.interval: must be a duration (use 500ms, 30s, 5m, 2h, 7d or a number of ms)',
    ])
    expect(lines.join('\n')).not.toContain(secret)
    expect(problems({ auth: { keys: secret } })).toEqual(['auth.keys: must be a list of keys, or a map of event to keys'])
    expect(problems({ auth: { keys: [` ${secret}`] } })).toEqual(['auth.keys[0]: must not start or end with whitespace'])
  })
})

describe('resolveConfig: every problem at once', () => {
  it('lists every mistake of many-mistakes with its path', async () => {
    const error = await fromDisk('many-mistakes').then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    const { issues, filepath, message } = error as ConfigError
    expect(filepath).toBe(join(fixtures, 'many-mistakes', 'audiorista.config.ts'))
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'serverr: unknown option (did you mean server?)',
      'server.port: must be an integer from 0 to 65535',
      'server.bodyLimit: "1 megabyte" is not a size (use 512kb, 1mb or a number of bytes)',
      'auth.keys[0]: must not start or end with whitespace',
      'auth.keys[1]: must be a string',
      'queue.concurrency: must be a positive integer',
      'queue.retry.atempts: unknown option (did you mean attempts?)',
      'queue.retry.delay: "2 seconds" is not a duration (use 500ms, 30s, 5m, 2h, 7d or a number of ms)',
      'retention: "2 weeks" is not a duration (use 500ms, 30s, 5m, 2h, 7d or a number of ms)',
      'recipes[1].on: "title-published" is not an event (title-updated, title-ready, asset-transcoded)',
      'recipes[1].do[0].input: unknown option (did you mean with?)',
      'recipes[2].do[0].action: required',
      'recipes[2].do[0].timeout: "soon" is not a duration (use 500ms, 30s, 5m, 2h, 7d or a number of ms)',
      'recipes[3].name: "podcast-ready" is already used by recipes[0]',
      'recipes[3].do: must have at least one step',
    ])
    expect(message).toMatch(/^15 problems in .*many-mistakes\/audiorista\.config\.ts:\n {2}serverr: unknown option/)
    // The fixture's key is a secret: no message may repeat it.
    expect(message).not.toContain('super-secret-key-value')
  })

  it('names the known options when no suggestion is close', () => {
    expect(problems({ zzz: 1 })).toEqual([
      'zzz: unknown option (known: server, auth, store, queue, dedupe, retention, vars, actions, plugins, recipes, admin, metrics)',
    ])
  })

  it('refuses a config that is not an object', () => {
    expect(problems([recipe])).toEqual(['the config must be an object: export default defineConfig({ ... })'])
  })

  it('checks server options', () => {
    expect(problems({ server: { host: 1, port: 80.5, prot: 1, headersTimeout: '1m', requestTimeout: '30s' } })).toEqual([
      'server.prot: unknown option (did you mean port?)',
      'server.port: must be an integer from 0 to 65535',
      'server.headersTimeout: must not be longer than server.requestTimeout (30000 ms)',
      'server.host: must be a string',
    ])
  })
})

describe('resolveConfig: fixtures that are right', () => {
  it('resolves the valid TypeScript config', async () => {
    const config = await fromDisk('valid')
    expect(config.server).toMatchObject({ port: 9000, basePath: '/hooks' })
    expect(config.auth.keys?.['title-updated']).toEqual(['key-from-file'])
    expect(config.queue.retry).toEqual({ attempts: 3, delay: 1000, factor: 2, maxDelay: 900_000 })
    expect(config.recipes.map((r) => r.name)).toEqual(['podcast-ready', 'email-creator'])
    // Recipes keep what the user wrote; ./flow.js gives the numbers.
    expect(config.recipes[0]?.do[1]?.debounce).toBe('2m')
  })

  it('resolves the JSON, YAML and package.json configs', async () => {
    expect((await fromDisk('json')).server).toMatchObject({ port: 9100, bodyLimit: 524288 })
    expect((await fromDisk('json')).auth).toEqual({ allowUnauthenticated: true })
    expect((await fromDisk('yaml')).dedupe.window).toBe(12 * 3_600_000)
    const pkg = await fromDisk('package-json')
    expect(pkg.rootDir).toBe(join(fixtures, 'package-json'))
    expect(pkg.recipes).toEqual([{ name: 'from-package', on: 'title-updated', do: [{ action: 'log' }] }])
  })
})

describe('readConfig', () => {
  it('loads and resolves, rooted at the config folder', async () => {
    const config = await readConfig({ cwd: join(fixtures, 'json'), env: { PORT: '4000' } })
    expect(config).toMatchObject({ filepath: join(fixtures, 'json', 'audiorista.config.json'), server: { port: 4000 } })
    expect((config.store as { path: string }).path).toBe(join(fixtures, 'json', '.audiorista', 'runner.db'))
  })
})
