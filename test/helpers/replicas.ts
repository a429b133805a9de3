/**
 * Replicas: several runner processes (the built CLI, each in its own folder
 * with its own config file) on one Redis under one prefix, as a scaled-out
 * deployment runs them. Outcomes are read through the runner's surfaces only:
 * HTTP answers, the child's log lines, and the Backend interface opened on the
 * same Redis (never Redis keys).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Backend, StepRun, StoredEvent } from '../../src/store/backend.js'
import { createRedisBackend } from '../../src/store/redis.js'
import { type ChildRunner, startChild, writeConfig } from './child.js'
import { createHttpSink, type HttpSink, type RecordedRequest } from './http-sink.js'

export interface Replica {
  /** 'A', 'B', ...: also sent by its http steps as `x-replica` when the config asks for it. */
  name: string
  dir: string
  url: string
  child: ChildRunner
  /** False once killed or exited. */
  readonly alive: boolean
  /** SIGKILL (default) or another signal; resolves once it exited. Safe to call twice. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Its JSON log lines so far. */
  lines(): Array<Record<string, unknown>>
  /** Run ids of the steps this replica logged as done (`… step N (action) done`). */
  stepsDone(): string[]
}

/** A config for one replica; `store` is filled in (Redis url, prefix, lease). */
export type ReplicaConfig = (name: string) => Record<string, unknown>

/**
 * Starts one runner process per name, each in a fresh folder with a config
 * from `config(name)` and `store: { driver: 'redis', url, prefix, lease }`.
 * Every started process is pushed to `started` at once, so a caller's
 * afterEach can kill it even when a later one fails to get ready.
 */
export async function startReplicas(
  started: Replica[],
  {
    url,
    prefix,
    lease,
    names = ['A', 'B'],
    config,
  }: { url: string; prefix: string; lease: number; names?: string[]; config: ReplicaConfig },
): Promise<Replica[]> {
  const out: Replica[] = []
  // One after the other: two cold starts at once on two cores are slow, and ordering keeps logs readable.
  for (const name of names) {
    const dir = mkdtempSync(join(tmpdir(), `ar-replica-${name}-`))
    writeConfig(dir, { ...config(name), store: { driver: 'redis', url, prefix, lease } })
    const child = await startChild(dir, { env: { LOG_LEVEL: 'info' } })
    let alive = true
    void child.exited.then(() => {
      alive = false
    })
    const replica: Replica = {
      name,
      dir,
      url: child.url,
      child,
      get alive() {
        return alive
      },
      async kill(signal: NodeJS.Signals = 'SIGKILL') {
        if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill(signal)
        await child.exited
        alive = false
      },
      lines: () => parseLines(child.output()),
      stepsDone: () =>
        parseLines(child.output())
          .filter((l) => typeof l.runId === 'string' && / step \d+ \([^)]+\) done$/.test(String(l.msg)))
          .map((l) => String(l.runId)),
    }
    started.push(replica)
    out.push(replica)
  }
  return out
}

/** Kills every replica (SIGKILL) and deletes its folder; never throws. */
export async function stopReplicas(replicas: Replica[]): Promise<void> {
  await Promise.all(replicas.map((r) => r.kill('SIGKILL').catch(() => {})))
  for (const r of replicas) rmSync(r.dir, { recursive: true, force: true })
  replicas.length = 0
}

function parseLines(out: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = []
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>)
    } catch {}
  }
  return lines
}

// ------------------------------------------------------------------ reading the shared store

/** The shared store through the Backend interface (like `events` does on Redis), for reading outcomes. */
export function openStore(url: string, prefix: string): Promise<Backend> {
  return createRedisBackend({ url, prefix, lease: 2000, onWarning: () => {} })
}

export interface Snapshot {
  events: Array<StoredEvent & { runs: StepRun[] }>
  runs: StepRun[]
}

/** Every event (with its body) and every run in the store, oldest event first. */
export async function snapshot(store: Backend): Promise<Snapshot> {
  const events: Snapshot['events'] = []
  for (let before: { receivedAt: number; id: string } | undefined; ; ) {
    const page = await store.listEvents({ limit: 500, ...(before ? { before } : {}) })
    const loaded = await Promise.all(
      page.map(async (e) => {
        const [stored, runs] = await Promise.all([store.getEvent(e.id), store.runsForEvent(e.id)])
        return stored ? { ...stored, runs } : undefined
      }),
    )
    for (const e of loaded) if (e) events.push(e)
    const last = page.at(-1)
    if (!last || page.length < 500) break
    before = { receivedAt: last.receivedAt, id: last.id }
  }
  events.sort((x, y) => x.receivedAt - y.receivedAt || (x.id < y.id ? -1 : 1))
  return { events, runs: events.flatMap((e) => e.runs) }
}

/** Runs recorded `running` right now (claimed, not settled): found through the listing, then the runs of those events only. */
export async function runningNow(store: Backend): Promise<StepRun[]> {
  const out: StepRun[] = []
  for (let before: { receivedAt: number; id: string } | undefined; ; ) {
    const page = await store.listEvents({ limit: 500, ...(before ? { before } : {}) })
    const busy = page.filter((e) => e.runs.some((r) => r.state === 'running'))
    for (const runs of await Promise.all(busy.map((e) => store.runsForEvent(e.id)))) out.push(...runs.filter((r) => r.state === 'running'))
    const last = page.at(-1)
    if (!last || page.length < 500) break
    before = { receivedAt: last.receivedAt, id: last.id }
  }
  return out
}

// ------------------------------------------------------------------ a sink that knows who called and how many at once

export interface Call {
  /** Idempotency-Key: the run id. */
  key: string
  /** `x-replica` header of the step. */
  replica: string
  path: string
  at: number
  /** When the answer was sent (undefined while in flight). */
  answeredAt?: number
  request: RecordedRequest
}

export interface TrackingSink {
  sink: HttpSink
  url: string
  calls: Call[]
  /** Requests received and not answered yet. */
  readonly inFlight: number
  /** The most requests in flight at once so far. */
  readonly maxInFlight: number
  /** Requests in flight now that came from this replica. */
  inFlightFrom(replica: string): number
  close(): Promise<void>
}

/** An HTTP sink that answers 200 after `delay` ms and records who called (x-replica), with what run id, and how many were in flight at once. */
export async function createTrackingSink(delay: number): Promise<TrackingSink> {
  const calls: Call[] = []
  let inFlight = 0
  let maxInFlight = 0
  const sink = await createHttpSink({
    reply: (request) => {
      const call: Call = {
        key: String(request.headers['idempotency-key'] ?? ''),
        replica: String(request.headers['x-replica'] ?? ''),
        path: request.path,
        at: Date.now(),
        request,
      }
      calls.push(call)
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      // Set before the sink's own timer of the same delay, so it fires first: the count drops just before the answer goes out.
      setTimeout(() => {
        inFlight--
        call.answeredAt = Date.now()
      }, delay)
      return { status: 200, delay, body: 'ok' }
    },
  })
  return {
    sink,
    url: sink.url,
    calls,
    get inFlight() {
      return inFlight
    },
    get maxInFlight() {
      return maxInFlight
    },
    inFlightFrom: (replica) => calls.filter((c) => c.replica === replica && c.answeredAt === undefined).length,
    close: () => sink.close(),
  }
}
