/**
 * Shared tools of the reliability suite: the runner as a child process (on a
 * fixed port, killable while it starts), a read-only look into its SQLite
 * file, its RSS, and a sender that retries like Audiorista. Raw sockets are in
 * raw-http.ts, the RELIABILITY.md table in report.ts.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createSqliteBackend } from '../../src/store/sqlite.js'
import { afterEach } from 'vitest'
import { CLI, type ChildRunner } from '../helpers/child.js'

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `check` every `every` ms until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, every = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await sleep(every)
  }
}

/** A small seeded PRNG (mulberry32), so a failing random schedule can be replayed with the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// ------------------------------------------------------------------ processes and store

export interface Child extends ChildRunner {
  pid: number
  /** SIGKILL (default) or another signal, then wait for the exit; safe to call twice. */
  kill(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * `audiorista-runner start` as a child, like test/helpers/child.ts, but on a
 * chosen port (a restarted runner keeps its URL, as behind a real webhook URL)
 * and never leaving a process behind when it fails to get ready. Keeps only
 * the last `keep` characters of output.
 */
export function spawnRunner(dir: string, options: LaunchOptions = {}): Promise<Child> {
  return launchRunner(dir, options).ready
}

/** Every runner child still alive, for `killRunnersAfterEach`. */
const alive = new Set<{ kill(): Promise<unknown> }>()

/**
 * In the calling test file: after each test, kill every runner child it
 * started (spawnRunner, launchRunner) that is still running, whether the test
 * passed or failed half-way.
 */
export function killRunnersAfterEach(): void {
  afterEach(async () => {
    await Promise.all([...alive].map((child) => child.kill()))
  })
}

export interface LaunchOptions {
  port?: number
  env?: Record<string, string>
  keep?: number
  readyTimeout?: number
}

/**
 * Starts the runner without waiting: `kill` works at once (to kill it while it
 * starts up and recovers), `ready` resolves when it serves. When it dies
 * before ready, `ready` rejects; that rejection is handled here, so a caller
 * that killed it on purpose need not await it.
 */
export function launchRunner(
  dir: string,
  { port = 0, env = {}, keep = 200_000, readyTimeout = 15_000 }: LaunchOptions = {},
): { pid: number; kill(signal?: NodeJS.Signals): Promise<number | null>; ready: Promise<Child> } {
  const proc = spawn(process.execPath, [CLI, 'start', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: dir,
    env: { ...process.env, CI: '1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const append = (chunk: Buffer) => {
    out += chunk.toString()
    if (out.length > keep * 2) out = out.slice(-keep)
  }
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
    return exited
  }
  const handle = { kill }
  alive.add(handle)
  void exited.then(() => alive.delete(handle))
  const ready = new Promise<Child>((resolve, reject) => {
    let seen = ''
    let settled = false
    const ready = (url: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      proc.stdout!.off('data', onReady)
      seen = ''
      resolve({ proc, pid: proc.pid!, url, output: () => out, exited, kill })
    }
    const timer = setTimeout(() => {
      settled = true
      void kill()
      reject(new Error(`runner did not get ready:\n${out.slice(-4000)}`))
    }, readyTimeout)
    // The `ready` log line (info level), or, on a known port, /readyz (any log level).
    const onReady = (chunk: Buffer) => {
      seen += chunk.toString()
      const m = /"url":"(http:\/\/[^"]+)".*"msg":"ready"/.exec(seen)
      if (m) ready(m[1]!)
      else if (seen.length > 100_000) seen = seen.slice(-10_000)
    }
    proc.stdout!.on('data', append)
    proc.stdout!.on('data', onReady)
    proc.stderr!.on('data', append)
    if (port !== 0) {
      const url = `http://127.0.0.1:${port}`
      void (async () => {
        while (!settled) {
          try {
            if ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).status === 200) return ready(url)
          } catch {}
          await sleep(20)
        }
      })()
    }
    void exited.then((code) => {
      clearTimeout(timer)
      if (settled) return
      settled = true
      reject(new Error(`runner exited with ${code} before ready:\n${out.slice(-4000)}`))
    })
  })
  ready.catch(() => {})
  return { pid: proc.pid!, kill, ready }
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1])
  return kb * 1024
}

export interface StoreSnapshot {
  events: Array<{ id: string; type: string; body: string; dispatched: boolean; receivedAt: number }>
  runs: Array<{
    id: string
    eventId: string
    recipe: string
    stepIndex: number
    state: string
    attempt: number
    error: string | null
    result: string | null
    createdAt: number
  }>
}

/**
 * Everything a runner's store holds (live or dead), read through the backend
 * interface like any other reader: never its tables. The handle takes no
 * lock and writes nothing, so it can run next to the runner.
 */
export async function readStore(path: string): Promise<StoreSnapshot> {
  if (!existsSync(path)) return { events: [], runs: [] }
  const backend = createSqliteBackend({ path, lock: false })
  try {
    const events: StoreSnapshot['events'] = []
    const runs: StoreSnapshot['runs'] = []
    for (let before: { receivedAt: number; id: string } | undefined; ; ) {
      const page = await backend.listEvents({ limit: 500, ...(before ? { before } : {}) })
      for (const e of page) {
        const stored = (await backend.getEvent(e.id))!
        events.push({ id: e.id, type: e.type, body: stored.body, dispatched: e.dispatched, receivedAt: e.receivedAt })
        for (const r of await backend.runsForEvent(e.id))
          runs.push({
            id: r.id,
            eventId: r.eventId,
            recipe: r.recipe,
            stepIndex: r.stepIndex,
            state: r.state,
            attempt: r.attempt,
            error: r.error ?? null,
            result: r.result === undefined ? null : JSON.stringify(r.result),
            createdAt: r.createdAt,
          })
      }
      const last = page.at(-1)
      if (!last || page.length < 500) break
      before = { receivedAt: last.receivedAt, id: last.id }
    }
    // Oldest first, as they arrived.
    events.sort((x, y) => x.receivedAt - y.receivedAt || (x.id < y.id ? -1 : 1))
    runs.sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : 1))
    return { events, runs }
  } finally {
    await backend.close()
  }
}

/** Progress counts of a runner's store, for polling. */
export async function storeCounts(path: string): Promise<{ events: number; undispatched: number; runs: number; done: number }> {
  const { events, runs } = await readStore(path)
  return {
    events: events.length,
    undispatched: events.filter((e) => !e.dispatched).length,
    runs: runs.length,
    done: runs.filter((r) => r.state === 'done').length,
  }
}

/** Counts by a key. */
export function countBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>()
  for (const item of items) {
    const k = key(item)
    out.set(k, (out.get(k) ?? 0) + 1)
  }
  return out
}

// ------------------------------------------------------------------ a sender like Audiorista

export interface Delivered {
  /** Final status (2xx), or the last one seen when we gave up. */
  status?: number
  id?: string
  duplicate?: boolean
  /** Attempts made (1 = no retry needed). */
  attempts: number
  /** Why earlier attempts failed: 'ECONNREFUSED', '503', ... */
  failures: string[]
}

/**
 * POSTs one delivery and retries on a connection error or a 503 (the way a
 * webhook sender that "may retry" does), within `maxAttempts` and `deadline`.
 * `url()` is read at every attempt, so a restarted runner can move.
 */
export async function deliverWithRetry(
  url: () => string,
  event: string,
  body: string,
  {
    key,
    maxAttempts = 400,
    deadline = Date.now() + 60_000,
    pause = 25,
  }: { key?: string; maxAttempts?: number; deadline?: number; pause?: number } = {},
): Promise<Delivered> {
  const out: Delivered = { attempts: 0, failures: [] }
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (key) headers['x-audiorista-key'] = key
  while (out.attempts < maxAttempts && Date.now() < deadline) {
    out.attempts++
    try {
      const res = await fetch(`${url()}/webhooks/${event}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) })
      const text = await res.text()
      out.status = res.status
      if (res.status === 200 || res.status === 202) {
        const json = JSON.parse(text) as { id: string; duplicate: boolean }
        out.id = json.id
        out.duplicate = json.duplicate
        return out
      }
      if (res.status !== 503) return out // anything else is final: the caller decides whether it is wrong
      out.failures.push('503')
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      out.failures.push(cause?.code ?? (err as Error).name)
    }
    await sleep(pause + Math.floor(Math.random() * pause))
  }
  return out
}

/** Runs `tasks` with at most `limit` in flight. */
export async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      results[i] = await task(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker))
  return results
}

/**
 * Waits until the runner has finished starting: the console (express) loads
 * after `ready` and answers 503 until then. A test that measures what a
 * delivery costs starts after it, so the start-up's one-time work is not
 * counted against the delivery.
 */
export async function consoleLoaded(url: string, timeout = 15_000): Promise<void> {
  const loaded = await waitUntil(
    async () => (await fetch(`${url}/admin/login`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.status !== 503,
    timeout,
    20,
  )
  if (!loaded) throw new Error(`the console of ${url} did not load within ${timeout} ms`)
}
