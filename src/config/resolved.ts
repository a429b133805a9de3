/**
 * The config after validation (defaults applied, durations in ms, paths
 * absolute): what the runner's modules read. Internal: users write against
 * `Config` in types.ts, which the package exports; this is not exported.
 */
import type { ActionSettings, EventType, Recipe } from '../types.js'

/** Config after validation: defaults applied, durations in ms, paths absolute. */
export interface ResolvedConfig {
  /** Folder of the config file; relative paths resolve against it. */
  rootDir: string
  /** The config file, when there is one. */
  filepath?: string
  /** Where the runner writes (store, key, admin token): `AUDIORISTA_DATA_DIR`, else `.audiorista/` beside the config. */
  dataDir: string
  server: {
    host: string
    port: number
    basePath: string
    bodyLimit: number
    /** Estimated bytes of bodies the receiver holds at once (see receive/inflight.ts). */
    inflightBytes: number
    headersTimeout: number
    requestTimeout: number
    keepAliveTimeout: number
    /** Which proxies' `X-Forwarded-For` is believed for the client address (the console's failure limit, logs). */
    trustProxy: TrustProxy
    /** Set: the runner serves HTTPS (`server.tls`). */
    tls?: ResolvedTls
  }
  auth: {
    /** undefined: any key or none (allowUnauthenticated). */
    keys?: Record<EventType, string[]>
    allowUnauthenticated: boolean
    /** True when the key was generated on first run. */
    generated?: boolean
  }
  store: { driver: 'sqlite'; path: string; lease: number } | { driver: 'redis'; url: string; prefix: string; lease: number }
  queue: { concurrency: number; timeout: number; retry: ResolvedRetry }
  dedupe: { window: number }
  retention: number
  vars: Record<string, unknown>
  actions: Record<string, ActionSettings>
  plugins: string[]
  recipes: Recipe[]
  admin: {
    enabled: boolean
    /** Undefined until `ensureAdminToken` reads or generates one. */
    token?: string
    /** Where the token came from, for messages (never the token itself). */
    tokenFrom?: 'config' | 'env' | 'generated'
  }
  metrics: { public: boolean }
}

/** `server.trustProxy` resolved: which hops in front of the runner are proxies it believes. */
export type TrustProxy =
  | { kind: 'none' }
  | { kind: 'all' }
  /** The nearest `hops` addresses are proxies (express's `trust proxy: n`). */
  | { kind: 'hops'; hops: number }
  /** Addresses, CIDRs and proxy-addr's names (`loopback`, `linklocal`, `uniquelocal`). */
  | { kind: 'list'; entries: string[] }

/** `server.tls` resolved: the files (absolute) and the PEM text read from them at this load. */
export interface ResolvedTls {
  certFile: string
  keyFile: string
  cert: string
  /** The private key itself: a secret (masked in logs by its name and its value), never in a message. */
  key: string
}

export interface ResolvedRetry {
  attempts: number
  delay: number
  factor: number
  maxDelay: number
}

/** Paths the runner answers beside the webhooks (the console, metrics, health): no `server.basePath` may hide them. */
export const RESERVED_PATHS = ['admin', 'metrics', 'healthz', 'readyz'] as const
