/**
 * The public types of audiorista-runner: what a config file, a plugin or a
 * recipe test writes against, all re-exported from `src/index.ts`. The
 * runner's own view of a validated config is `ResolvedConfig`
 * (config/resolved.ts), which is not exported: it can change freely.
 */
import type { PayloadMap } from './payload.js'
import type { StandardSchemaV1 } from './standard-schema.js'

/** The three Audiorista webhook events; the event type comes from the URL. */
export const EVENT_TYPES = ['title-updated', 'title-ready', 'asset-transcoded'] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** Milliseconds, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'2h'`, `'7d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

/** A webhook body: any JSON object (the Title shape for title events). */
export type Payload = Record<string, unknown>

// ---------------------------------------------------------------- conditions

/** A matcher for one dot-path. A plain value means deep equality. */
export type Matcher =
  | string
  | number
  | boolean
  | null
  | unknown[]
  | RegExp
  | { eq: unknown }
  | { ne: unknown }
  | { in: unknown[] }
  | { nin: unknown[] }
  | { gt: number | string }
  | { gte: number | string }
  | { lt: number | string }
  | { lte: number | string }
  | { matches: string | RegExp }
  | { exists: boolean }
  | { contains: unknown }
  | { empty: boolean }
  | Record<string, unknown>

/**
 * A condition: every entry must hold. Keys are dot-paths into the template
 * context (`'share.url'`, `'tags.slug'`), or the combinators `all`, `any`,
 * `not`, or the sugar `tag`. A function may stand in for any condition.
 */
export type Condition<E extends EventType = EventType> = ConditionObject<E> | ConditionFn<E>

/**
 * A condition as a function of the context, typed by the recipe's events.
 * Declared as a method: a recipe typed for one event (`defineRecipe`) must
 * still fit in a list of recipes for any event.
 */
export type ConditionFn<E extends EventType = EventType> = { condition(ctx: TemplateContext<E>): boolean }['condition']

export interface ConditionObject<E extends EventType = EventType> {
  /** All of these conditions hold. */
  all?: Condition<E>[]
  /** At least one of these conditions holds. */
  any?: Condition<E>[]
  /** This condition does not hold. */
  not?: Condition<E>
  /** Some tag's slug or name equals one of these, case-insensitively. */
  tag?: string | string[]
  /** A dot-path into the context (`'share.url'`, `'tags.slug'`) and what its value must match. */
  [path: string]: Matcher | Condition<E> | Condition<E>[] | string[] | undefined
}

/** Why a condition did not hold: the first failing entry and the actual value. */
export interface Mismatch {
  /** Config-style path of the failing entry, e.g. `when.tag` or `when.all[1].share.url`. */
  path: string
  /** Human sentence: `tag: no tag is "podcast" (tags: "Sci-Fi")`. */
  reason: string
  /** The value found at the path (undefined when missing). */
  actual?: unknown
  /** Set when the condition did not hold because the delivery's condition budget ran out, not because of the value. */
  exhausted?: true
}

// ---------------------------------------------------------------- templates

/**
 * What templates and conditions see for event(s) `E`: the payload's fields at
 * the root (`ctx.name`), plus the fields of ContextFields, which win over
 * payload fields of the same name.
 */
export type TemplateContext<E extends EventType = EventType> = PayloadMap[E] & ContextFields<E>

/** The names the runner adds to a template context beside the payload's fields. */
export interface ContextFields<E extends EventType = EventType> {
  /** The accepted delivery. */
  event: EventInfo<E>
  /** The whole payload, also reachable when a field is shadowed. */
  payload: PayloadMap[E]
  /** `vars` from the config. */
  vars: Record<string, unknown>
  /** The recipe being run. */
  recipe: { name: string }
  /** Earlier steps' results, by step name. */
  steps: Record<string, unknown>
}

export interface EventInfo<E extends EventType = EventType> {
  /** The event id the runner gave the delivery (`events show ID`). */
  id: string
  /** The event, from the webhook URL. */
  type: E
  /** ISO 8601 time the delivery was accepted. */
  receivedAt: string
}

/**
 * Where a rendered value goes, which decides how payload values are made safe
 * there (a payload value is data, never syntax):
 * - `none`: as is (log lines, email subjects and text bodies, headers).
 * - `html`: each value HTML-escaped.
 * - `slack`: each value's `& < >` escaped, so it cannot mention, link or format.
 * - `url`: each value percent-encoded as one URL component; a string that is exactly
 *   one expression takes the value whole, which must be an absolute http(s) URL.
 * - `json`: a string that is exactly one expression keeps the value's JSON type.
 * - `address`: a templated string must render to exactly one email address.
 * - `arg`: a templated program argument may not start with `-` from a value.
 */
export const ESCAPE_MODES = ['none', 'html', 'slack', 'url', 'json', 'address', 'arg'] as const
export type EscapeMode = (typeof ESCAPE_MODES)[number]

/** Where one leaf of a step's `with` sits: `['blocks', 0, 'text', 'text']`. */
export type InputPath = ReadonlyArray<string | number>

/**
 * How a plugin's input is escaped: one mode for everything, a mode per
 * top-level field (`'*'` the default), or a function of the leaf's path and
 * the step's `with` as written in the config (for opt-outs such as exec's
 * `allowOptionArgs`).
 */
export type EscapeSpec =
  | EscapeMode
  | Record<string, EscapeMode>
  | ((path: InputPath, input: Readonly<Record<string, unknown>>) => EscapeMode)

// ---------------------------------------------------------------- flow control

export interface RetryOptions {
  /** Total attempts including the first (default 5). */
  attempts?: number
  /** Delay before the first retry (default '2s'). */
  delay?: Duration
  /** Backoff multiplier (default 2). */
  factor?: number
  /** Upper bound of one delay (default '15m'). */
  maxDelay?: Duration
}

/** `true` (key `{{id}}`), a key template, or a key with a window. */
export type OnceOption = boolean | string | { key?: string; window?: Duration }

/** A wait, or a wait with an optional key template and `maxWait`. */
export type DebounceOption = Duration | { wait: Duration; key?: string; maxWait?: Duration }

export interface RateLimit {
  /** Calls allowed per interval. */
  limit: number
  /** The interval. */
  interval: Duration
}

// ---------------------------------------------------------------- recipes

/** One step of a recipe; `E` types the context its `if` function sees. */
export interface Step<E extends EventType = EventType> {
  /** Name of the action plugin: `slack`, `http`, `email`, `exec`, `log`, or yours. */
  action: string
  /** The action's input. Every string inside is a Handlebars template. */
  with?: Record<string, unknown>
  /** Name under which later steps see this step's result (`{{steps.NAME}}`). */
  name?: string
  /** Run this step only when the condition holds. */
  if?: Condition<E>
  /** Run at most once per key (default key `{{id}}`). */
  once?: OnceOption
  /** Trailing debounce; default key: this step (one run for all titles). */
  debounce?: DebounceOption
  /** Abort the attempt after this long (default `queue.timeout`). */
  timeout?: Duration
  /** Retry policy for this step (defaults from `queue.retry`). */
  retry?: RetryOptions
  /** Run later steps even when this one fails for good. */
  continueOnError?: boolean
}

/**
 * A recipe. `E` (inferred from `on` by `defineRecipe`) types the payload its
 * condition functions see; in a plain list of recipes it is every event.
 */
export interface Recipe<E extends EventType = EventType> {
  /** Unique name, shown in logs and in `events`. */
  name: string
  /** The event(s) that trigger this recipe. */
  on: E | E[]
  /** Run only when this holds. */
  when?: Condition<E>
  /** The steps, run in order. */
  do: Step<E>[]
  /** Run the whole recipe at most once per key (default key `{{id}}`). */
  once?: OnceOption
  /** Trailing debounce; default key `{{id}}` (one run per title). */
  debounce?: DebounceOption
  /** Set to false to keep a recipe without running it. */
  enabled?: boolean
}

// ---------------------------------------------------------------- config

export interface ServerOptions {
  /** Interface to listen on (default `0.0.0.0`). */
  host?: string
  /** Port (default 8787; the `PORT` environment variable overrides). */
  port?: number
  /** Prefix of the webhook routes (default `/webhooks`). */
  basePath?: string
  /** Largest accepted body, bytes or `'1mb'` (default `'1mb'`). */
  bodyLimit?: number | string
  /** Memory for bodies being received at once, bytes or `'64mb'` (default `'32mb'`); beyond it a delivery waits, then gets 503. */
  inflightBytes?: number | string
  /** Time allowed to receive a request's headers (default '10s'). */
  headersTimeout?: Duration
  /** Time allowed to receive a whole request (default '30s'). */
  requestTimeout?: Duration
  /** Idle keep-alive time (default '5s'). */
  keepAliveTimeout?: Duration
  /** Proxies whose `X-Forwarded-For` names the client (express's `trust proxy`): false (default), true, a hop count, or their addresses/CIDRs. */
  trustProxy?: boolean | number | string | string[]
  /** Serve HTTPS with this certificate and key (PEM files, relative to the config); read again on every reload, so a renewed certificate needs only SIGHUP. */
  tls?: TlsOptions
}

/** The files of `server.tls`: PEM, unencrypted key. */
export interface TlsOptions {
  /** The certificate, with its chain after it (certbot's `fullchain.pem`). */
  cert: string
  /** Its private key (certbot's `privkey.pem`). */
  key: string
}

export interface AuthOptions {
  /** Accepted `X-Audiorista-Key` values: a list (rotation) or a map event → list. */
  keys?: Array<string | undefined> | Partial<Record<EventType, Array<string | undefined> | string | undefined>>
  /** Accept deliveries without a key. Without keys and without this, a key is generated. */
  allowUnauthenticated?: boolean
}

/** Where events, runs and the schedule live: one SQLite file (default), or Redis shared by several replicas. */
export type StoreOptions = SqliteStoreOptions | RedisStoreOptions

export interface SqliteStoreOptions {
  /** Storage engine (default `sqlite`): one process per file. */
  driver?: 'sqlite'
  /** Path of the SQLite file, relative to the config (default `runner.db` in the data folder: `.audiorista/`, or `AUDIORISTA_DATA_DIR`). */
  path?: string
  /** How long work taken by a worker stays its own without renewal (default '30s'). */
  lease?: Duration
}

export interface RedisStoreOptions {
  /** Redis, with BullMQ as the work queue: any number of replicas share it. */
  driver: 'redis'
  /** `redis://[:password@]host:6379[/db]` (or `rediss://` for TLS); typically `process.env.REDIS_URL` (unset is reported at load). */
  url: string | undefined
  /** Prefix of every key, so several runners can share one Redis (default `audiorista`). */
  prefix?: string
  /** How long work taken by a replica stays its own without renewal; a killed replica's work returns to the others after it (default '30s'). */
  lease?: Duration
}

export interface QueueOptions {
  /** Steps running at once (default 8). */
  concurrency?: number
  /** Time allowed for one attempt of a step (default '30s'). */
  timeout?: Duration
  /** Default retry policy. */
  retry?: RetryOptions
}

/** Settings for one action plugin, under `actions.<name>`. */
export interface ActionSettings {
  /** Calls of this action running at once (per limit key where the action has one, e.g. per Slack channel). */
  concurrency?: number
  /** At most `limit` calls per `interval` (per limit key where the action has one). */
  rateLimit?: RateLimit
  [setting: string]: unknown
}

export interface Config {
  /** HTTP server. */
  server?: ServerOptions
  /** Webhook keys. */
  auth?: AuthOptions
  /** Where events and runs are kept. */
  store?: StoreOptions
  /** Work queue. */
  queue?: QueueOptions
  /** Deduplication of retried deliveries. */
  dedupe?: {
    /** How long a delivery counts as seen (default '24h'). */
    window?: Duration
  }
  /** How long events and runs are kept (default '14d'). */
  retention?: Duration
  /** Constants for templates and conditions (`{{vars.x}}`). */
  vars?: Record<string, unknown>
  /** Settings per action plugin. */
  actions?: Record<string, ActionSettings | undefined>
  /** Files or folders of custom action plugins (default `['./plugins']`). */
  plugins?: string[]
  /** The recipes. */
  recipes?: Recipe[]
  /** The operations console and its JSON API at `/admin` (on by default, behind a token). */
  admin?: AdminOptions
  /** Prometheus metrics at `/metrics` (behind the admin token unless `public`). */
  metrics?: MetricsOptions
}

export interface AdminOptions {
  /** Set false to remove the console and its API entirely (default true). */
  enabled?: boolean
  /** The admin token (default: `AUDIORISTA_ADMIN_TOKEN`, else one generated into `admin-token` in the data folder). At least 16 characters. */
  token?: string
}

export interface MetricsOptions {
  /** Serve `/metrics` without the admin token, for a scraper on a private network (default false). */
  public?: boolean
}

// ---------------------------------------------------------------- plugins

export interface Logger {
  info(obj: object, msg?: string): void
  info(msg: string): void
  warn(obj: object, msg?: string): void
  warn(msg: string): void
  error(obj: object, msg?: string): void
  error(msg: string): void
  debug(obj: object, msg?: string): void
  debug(msg: string): void
  child(bindings: Record<string, unknown>): Logger
}

/** What an action's `run` receives besides its input. */
export interface ActionContext<S = Record<string, unknown>> {
  /** The delivery being handled. */
  event: EventInfo
  /** The delivery's body: a Title unless `event.type` is `asset-transcoded` (cast with `as TitlePayload` after checking). */
  payload: PayloadMap[EventType]
  /** Validated `actions.<name>` settings. */
  settings: S
  /** Aborted when the step times out or the runner shuts down. */
  signal: AbortSignal
  /** Logger bound to the event id and run id. */
  log: Logger
  /** 1 for the first attempt. */
  attempt: number
  /** Id of this step run; stable across retries (use it as an idempotency key). */
  runId: string
  /** Earlier steps' results, by step name. */
  steps: Record<string, unknown>
  /** True in `simulate` without `--run`: describe, do not act. */
  dryRun: boolean
  /** Render a named template from `recipes/templates/NAME.hbs` with this step's context. */
  renderTemplate(name: string, mode?: EscapeMode): string
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds plugins of every input and settings type.
export interface ActionPlugin<I = any, S = any> {
  /** Name used in recipes (`action: 'discord'`). */
  name: string
  /** One-line description, shown by `check`. */
  description?: string
  /** Schema of `actions.<name>` (any Standard Schema, e.g. zod). */
  settings?: StandardSchemaV1<unknown, S>
  /** Schema of a step's rendered `with` (any Standard Schema, e.g. zod). */
  input?: StandardSchemaV1<unknown, I>
  /** Default number of calls at once (`actions.<name>.concurrency` overrides). */
  concurrency?: number
  /** Default rate limit (`actions.<name>.rateLimit` overrides). */
  rateLimit?: RateLimit
  /**
   * Key that rate limits and concurrency apply per (e.g. the Slack channel).
   * Without it, limits apply to the action as a whole.
   */
  limitKey?(input: I): string | undefined
  /** How template output is escaped for where it goes (see EscapeMode); default `none`. */
  escape?: EscapeSpec
  /**
   * Say what credential is missing, if any. When it returns a message the
   * action runs in preview mode (logged, recorded `previewed`), or is an
   * error in production and `check --strict`.
   */
  missingCredentials?(settings: S): string | undefined
  /** Do the work; the resolved value is recorded as the step's result. */
  run(input: I, ctx: ActionContext<S>): Promise<unknown>
  /** Describe what `run` would do, for previews and dry runs. */
  preview?(input: I, ctx: ActionContext<S>): unknown
  /** Release what the plugin keeps open (pooled connections) when the runner stops. */
  close?(): void | Promise<void>
}
