import { isAbsolute, join, resolve } from 'node:path'
import { ConfigError, type ConfigIssue } from '../errors.js'
import type { ActionSettings } from '../types.js'
import { RESERVED_PATHS, type ResolvedConfig } from './resolved.js'
import { resolveAuth } from './auth.js'
import { resolveDataDir } from './data-dir.js'
import { checkRetry } from './flow.js'
import { checkRecipes } from './recipes.js'
import { resolveTls } from './tls.js'
import { resolveTrustProxy } from './trust-proxy.js'
import { at, createValidator, type Validator } from './validate.js'

const TOP_KEYS = [
  'server',
  'auth',
  'store',
  'queue',
  'dedupe',
  'retention',
  'vars',
  'actions',
  'plugins',
  'recipes',
  'admin',
  'metrics',
] as const
const SERVER_KEYS = [
  'host',
  'port',
  'basePath',
  'bodyLimit',
  'inflightBytes',
  'headersTimeout',
  'requestTimeout',
  'keepAliveTimeout',
  'trustProxy',
  'tls',
] as const
const TOP_SYNONYMS = {
  recipe: 'recipes',
  plugin: 'plugins',
  action: 'actions',
  http: 'server',
  key: 'auth',
  keys: 'auth',
  storage: 'store',
  console: 'admin',
  dashboard: 'admin',
  prometheus: 'metrics',
}

export interface ResolveOptions {
  /** Folder that relative paths resolve against (the config file's folder). */
  rootDir: string
  /** The config file, for messages. */
  filepath?: string
  /** Environment: `PORT` overrides `server.port`; `AUDIORISTA_DATA_DIR` moves the data folder. */
  env?: NodeJS.ProcessEnv
  /**
   * Collect problems here instead of throwing, and return a best-effort
   * config, so that later checks (plugins, templates) can report theirs too.
   */
  collect?: ConfigIssue[]
}

/**
 * Validates a loaded config and applies the defaults. Throws one ConfigError
 * listing every problem. Recipes come back as written (`./flow.js` turns
 * their `once`, `debounce` and `retry` into ms).
 */
export function resolveConfig(config: unknown, { rootDir, filepath, env = process.env, collect }: ResolveOptions): ResolvedConfig {
  const v = createValidator()
  const input = v.object(config ?? {}, '', { keys: TOP_KEYS, synonyms: TOP_SYNONYMS })
  if (!input) {
    const issue = { path: '', message: 'the config must be an object: export default defineConfig({ ... })' }
    if (!collect) throw new ConfigError([issue], filepath)
    collect.push(issue)
    return resolveConfig({}, { rootDir, ...(filepath ? { filepath } : {}), env })
  }

  const dataDir = resolveDataDir(rootDir, env)
  const resolved: ResolvedConfig = {
    rootDir,
    dataDir,
    server: resolveServer(v, input.server, rootDir, env),
    auth: resolveAuth(v, input.auth),
    store: resolveStore(v, input.store, rootDir, dataDir),
    queue: resolveQueue(v, input.queue),
    dedupe: resolveDedupe(v, input.dedupe),
    retention: v.duration(input.retention, 'retention', { positive: true }) ?? 14 * 86_400_000,
    vars: v.object(input.vars, 'vars') ?? {},
    actions: resolveActions(v, input.actions),
    plugins: resolvePlugins(v, input.plugins, rootDir),
    recipes: checkRecipes(v, input.recipes),
    admin: resolveAdmin(v, input.admin, env),
    metrics: { public: v.boolean(v.object(input.metrics, 'metrics', { keys: ['public'] })?.public, 'metrics.public') ?? false },
  }
  if (filepath) resolved.filepath = filepath
  if (collect) collect.push(...v.issues)
  else if (v.issues.length > 0) throw new ConfigError(v.issues, filepath)
  return resolved
}

function resolveServer(v: Validator, value: unknown, rootDir: string, env: NodeJS.ProcessEnv): ResolvedConfig['server'] {
  const server = v.object(value, 'server', { keys: SERVER_KEYS }) ?? {}
  const configured = v.integer(server.port, 'server.port', 0, 65535)
  const port = envPort(v, env.PORT) ?? configured ?? 8787
  const headersTimeout = v.duration(server.headersTimeout, 'server.headersTimeout') ?? 10_000
  const requestTimeout = v.duration(server.requestTimeout, 'server.requestTimeout') ?? 30_000
  // Node refuses to start a server whose headers may take longer than the whole request.
  if (requestTimeout > 0 && headersTimeout > requestTimeout) {
    v.fail('server.headersTimeout', `must not be longer than server.requestTimeout (${requestTimeout} ms)`)
  }
  const tls = resolveTls(v, server.tls, rootDir)
  return {
    host: v.string(server.host, 'server.host') ?? '0.0.0.0',
    port,
    basePath: basePath(v, server.basePath),
    bodyLimit: v.bytes(server.bodyLimit, 'server.bodyLimit') ?? 1024 * 1024,
    inflightBytes: inflightBytes(v, server.inflightBytes),
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: v.duration(server.keepAliveTimeout, 'server.keepAliveTimeout') ?? 5_000,
    trustProxy: resolveTrustProxy(v, server.trustProxy),
    ...(tls ? { tls } : {}),
  }
}

/** At least 1 MB: below that the budget only slows ordinary deliveries down, it bounds nothing that matters. */
function inflightBytes(v: Validator, value: unknown): number {
  const bytes = v.bytes(value, 'server.inflightBytes')
  if (bytes === undefined) return 32 * 1024 * 1024
  if (bytes < 1024 * 1024) v.fail('server.inflightBytes', `must be at least 1mb, got ${bytes} bytes`)
  return bytes
}

function envPort(v: Validator, value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  const port = Number(value)
  if (/^\s*\d+\s*$/.test(value) && port <= 65535) return port
  return v.fail('env.PORT', `must be an integer from 0 to 65535 (it is ${JSON.stringify(value)})`)
}

/** `webhooks/` → `/webhooks`; `/` → `` (routes at `/{event}`). */
function basePath(v: Validator, value: unknown): string {
  if (value == null) return '/webhooks'
  if (typeof value !== 'string' || /[\s?#%]/.test(value)) {
    const shown = v.show('server.basePath', value)
    v.fail('server.basePath', `${shown ? `${shown} is not` : 'must be'} a path prefix such as /webhooks`)
    return '/webhooks'
  }
  const trimmed = value.replace(/\/{2,}/g, '/').replace(/^\/|\/$/g, '')
  const reserved = RESERVED_PATHS.find((p) => trimmed === p || trimmed.startsWith(`${p}/`))
  if (reserved) {
    v.fail(
      'server.basePath',
      `/${trimmed} would hide /${reserved} (the console, metrics and health live there); use a path such as /webhooks`,
    )
    return '/webhooks'
  }
  return trimmed ? `/${trimmed}` : ''
}

function resolveStore(v: Validator, value: unknown, rootDir: string, dataDir: string): ResolvedConfig['store'] {
  const store = v.object(value, 'store', { keys: ['driver', 'path', 'url', 'prefix', 'lease'] }) ?? {}
  const driver = store.driver ?? 'sqlite'
  if (driver !== 'sqlite' && driver !== 'redis') {
    const shown = v.show('store.driver', driver)
    v.fail('store.driver', shown ? `${shown} is not a store driver (sqlite, redis)` : 'must be "sqlite" or "redis"')
  }
  for (const key of driver === 'redis' ? ['path'] : ['url', 'prefix'])
    if (store[key] !== undefined)
      v.fail(`store.${key}`, `is for driver "${driver === 'redis' ? 'sqlite' : 'redis'}"; this store is ${driver}`)
  const lease = v.duration(store.lease, 'store.lease', { positive: true }) ?? 30_000
  if (driver === 'redis') {
    const url = v.string(store.url, 'store.url')
    if (url === undefined) v.fail('store.url', 'is required with driver "redis", e.g. url: process.env.REDIS_URL (redis://host:6379)')
    else if (!/^rediss?:\/\/[^\s]+$/.test(url)) v.fail('store.url', 'must be a redis:// or rediss:// URL')
    const prefix = v.string(store.prefix, 'store.prefix') ?? 'audiorista'
    if (!/^[\w:.-]{1,64}$/.test(prefix)) v.fail('store.prefix', 'must be 1 to 64 letters, digits, or _ : . -')
    return { driver: 'redis', url: url ?? '', prefix, lease }
  }
  const path = v.string(store.path, 'store.path')
  if (path === undefined) return { driver: 'sqlite', path: join(dataDir, 'runner.db'), lease }
  // better-sqlite3 keeps ':memory:' in memory; it is not a file name. A path written in the config is the config's: relative to its folder.
  return { driver: 'sqlite', path: path === ':memory:' || isAbsolute(path) ? path : resolve(rootDir, path), lease }
}

function resolveQueue(v: Validator, value: unknown): ResolvedConfig['queue'] {
  const queue = v.object(value, 'queue', { keys: ['concurrency', 'timeout', 'retry'] }) ?? {}
  return {
    concurrency: v.integer(queue.concurrency, 'queue.concurrency', 1) ?? 8,
    timeout: v.duration(queue.timeout, 'queue.timeout', { positive: true }) ?? 30_000,
    retry: { attempts: 5, delay: 2_000, factor: 2, maxDelay: 15 * 60_000, ...checkRetry(v, queue.retry, 'queue.retry') },
  }
}

function resolveDedupe(v: Validator, value: unknown): ResolvedConfig['dedupe'] {
  const dedupe = v.object(value, 'dedupe', { keys: ['window'] }) ?? {}
  return { window: v.duration(dedupe.window, 'dedupe.window', { positive: true }) ?? 24 * 3_600_000 }
}

/**
 * Checks what the engine reads (`concurrency`, and `rateLimit` whose interval
 * becomes ms); every other setting is the plugin's to check, and is kept.
 */
function resolveActions(v: Validator, value: unknown): Record<string, ActionSettings> {
  const actions = v.object(value, 'actions', { what: 'an object of settings per action' }) ?? {}
  const resolved: Record<string, ActionSettings> = {}
  for (const [name, entry] of Object.entries(actions)) {
    const path = at('actions', name)
    const settings = v.object(entry, path, { what: 'an object of settings' })
    if (!settings) continue
    v.integer(settings.concurrency, `${path}.concurrency`, 1)
    const kept: ActionSettings = { ...settings }
    resolved[name] = kept
    const rateLimit = v.object(settings.rateLimit, `${path}.rateLimit`, {
      keys: ['limit', 'interval'],
      what: 'an object ({ limit, interval })',
    })
    if (!rateLimit) continue
    const limit =
      rateLimit.limit == null ? v.fail(`${path}.rateLimit.limit`, 'required') : v.integer(rateLimit.limit, `${path}.rateLimit.limit`, 1)
    const interval =
      rateLimit.interval == null
        ? v.fail(`${path}.rateLimit.interval`, 'required')
        : v.duration(rateLimit.interval, `${path}.rateLimit.interval`, { positive: true })
    if (limit !== undefined && interval !== undefined) kept.rateLimit = { limit, interval }
  }
  return resolved
}

function resolvePlugins(v: Validator, value: unknown, rootDir: string): string[] {
  const plugins = v.list(value, 'plugins', 'a list of files or folders') ?? ['./plugins']
  return plugins.flatMap((plugin, i) => {
    const path = v.string(plugin, at('plugins', i), { required: true })
    return path === undefined ? [] : [resolve(rootDir, path)]
  })
}

/** The admin token from the config, else from the environment; generated at start when neither is set. */
function resolveAdmin(v: Validator, value: unknown, env: NodeJS.ProcessEnv): ResolvedConfig['admin'] {
  const admin = v.object(value, 'admin', { keys: ['enabled', 'token'] }) ?? {}
  const enabled = v.boolean(admin.enabled, 'admin.enabled') ?? true
  const fromEnv = env.AUDIORISTA_ADMIN_TOKEN?.trim() || undefined
  // A token that is present but empty (an unset variable) falls through to the next source, as keys do.
  const configured = admin.token === undefined || admin.token === '' ? undefined : v.string(admin.token, 'admin.token')
  const token = configured ?? fromEnv
  if (token !== undefined && token.length < 16)
    v.fail(configured ? 'admin.token' : 'env.AUDIORISTA_ADMIN_TOKEN', 'must be at least 16 characters (e.g. openssl rand -hex 24)')
  if (token === undefined) return { enabled }
  return { enabled, token, tokenFrom: configured ? 'config' : 'env' }
}
