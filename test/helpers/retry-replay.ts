/**
 * The retry-and-replay scenario the CLI tests run on each store: a recipe of
 * two http steps to a sink (`/a`, then `/b`), whose first step died once.
 */
import { expect } from 'vitest'
import { runCliAsync } from './child.js'
import type { HttpSink } from './http-sink.js'

/** The config: the two-step recipe `two` on title-ready, deliveries open, on `store`. */
export function twoStepConfig(sinkUrl: string, store: Record<string, unknown>) {
  return {
    auth: { allowUnauthenticated: true },
    store,
    recipes: [
      {
        name: 'two',
        on: 'title-ready',
        do: [
          { action: 'http', with: { url: `${sinkUrl}/a` } },
          { action: 'http', with: { url: `${sinkUrl}/b` } },
        ],
      },
    ],
  }
}

/**
 * `retry RUN_ID` runs the dead first step and the skipped second one; then `replay EVENT_ID` runs the
 * event again as a new event. The sink saw `/a` (the failure) before this.
 */
export async function retryThenReplay(dir: string, runId: string, eventId: string, sink: HttpSink): Promise<void> {
  const retried = await runCliAsync(['retry', runId], { cwd: dir })
  expect(retried.status, retried.stderr).toBe(0)
  expect(retried.stdout).toMatch(/two step 1 \(http\): done/)
  expect(retried.stdout).toMatch(/two step 2 \(http\): done/)
  expect(sink.requests.map((r) => r.path)).toEqual(['/a', '/a', '/b'])

  const replayed = await runCliAsync(['replay', eventId], { cwd: dir })
  expect(replayed.status, replayed.stderr).toBe(0)
  expect(replayed.stderr).toMatch(new RegExp(`replaying ${eventId} as evt_`))
  expect(replayed.stdout.match(/: done/g)).toHaveLength(2)
  expect(sink.requests.map((r) => r.path)).toEqual(['/a', '/a', '/b', '/a', '/b'])
}
