/**
 * Starts a real runner in-process on a loopback port 0, with its store in a
 * temporary folder, and captures its log lines so tests can read what a user
 * would see in the terminal.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { expect } from 'vitest'
import { createLogger } from '../../src/log.js'
import { startRunner, type Runner } from '../../src/runner.js'
import { setupFrom } from '../../src/setup.js'
import type { StepRun } from '../../src/store/backend.js'
import type { Config } from '../../src/types.js'

export interface TestRunner {
  runner: Runner
  url: string
  dir: string
  /** Raw log output so far. */
  logs(): string
  /** Parsed log lines so far. */
  lines(): Array<Record<string, unknown>>
  post(
    event: string,
    body: unknown,
    options?: { key?: string; headers?: Record<string, string>; method?: string },
  ): Promise<{ status: number; headers: Headers; json: any }>
  /** Posts a new delivery (it must get 202), waits until the engine is idle, and returns the event's runs. */
  deliver(event: string, body: unknown): Promise<StepRun[]>
  close(): Promise<void>
}

/** `text` parsed as JSON, or `otherwise` when it is not JSON (an HTML page, an empty body). */
export function jsonOr<T>(text: string, otherwise: T): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return otherwise
  }
}

export function tempDir(prefix = 'ar-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export async function startTestRunner(config: Config, { dir = tempDir() }: { dir?: string } = {}): Promise<TestRunner> {
  let out = ''
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString()
      cb()
    },
  })
  const log = createLogger({ pretty: false, destination: sink, level: 'debug' })
  const prepared = await setupFrom(
    { store: { path: join(dir, 'runner.db') }, ...config, server: { host: '127.0.0.1', ...config.server, port: 0 } },
    { rootDir: dir, strict: false },
  )
  const runner = await startRunner(prepared, log)
  const self: TestRunner = {
    runner,
    url: runner.url,
    dir,
    logs: () => out,
    lines: () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async post(event, body, { key, headers = {}, method = 'POST' } = {}) {
      const h: Record<string, string> = { 'content-type': 'application/json', ...headers }
      if (key !== undefined) h['x-audiorista-key'] = key
      const res = await fetch(`${runner.url}${runner.config.server.basePath}/${event}`, {
        method,
        headers: h,
        ...(method === 'GET' || method === 'HEAD' ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      })
      const text = await res.text()
      return { status: res.status, headers: res.headers, json: jsonOr(text, text) }
    },
    async deliver(event, body) {
      const res = await self.post(event, body)
      expect(res.status).toBe(202)
      await runner.engine.idle()
      return runner.store.runsForEvent(res.json.id)
    },
    close: () => runner.close(1000),
  }
  return self
}
