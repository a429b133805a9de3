/**
 * CI-sized crash loop (see crash-loop.ts): 2,000 distinct deliveries, 16 in
 * flight, the runner child `kill -9`ed at 5 random moments
 * and restarted. `npm run soak` runs the same loop bigger.
 * RELIABILITY_SEED replays a kill schedule.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { runCrashLoop } from './crash-loop.js'
import { createReport } from './report.js'

const report = createReport()
afterAll(() => report.write())

describe('crash loop: kill -9 at random moments while deliveries arrive and steps run', () => {
  it('loses no acknowledged delivery, stores none twice, finishes every step, repeats only cut-off steps', async () => {
    const row = report.row(
      'crash-loop',
      'Crash loop: 2,000 deliveries (16 in flight, 2 http steps each, concurrency 8), kill -9 at 5 random moments (some while the runner recovers), restart on the same port each time',
    )
    const seed = process.env.RELIABILITY_SEED ? Number(process.env.RELIABILITY_SEED) : undefined
    const r = await runCrashLoop({
      deliveries: 2000,
      inFlight: 16,
      kills: 5,
      concurrency: 8,
      deadline: 55_000,
      ...(seed === undefined ? {} : { seed }),
    })
    row.tried = `${r.deliveries} deliveries, ${r.runs} step runs`
    row.lost = r.lost + r.runsNotDone
    row.duplicated = `${r.storedTwice} stored twice; ${r.repeatedSideEffects} side effects repeated (allowed ≤ ${r.kills} kills × 8, only cut-off runs; max cut off by one kill ${r.maxRunningAtKill})`
    row.notes = `${r.kills} kills (${r.earlyKills} of a runner still starting up and recovering), seed ${r.seed}; ${r.retried} deliveries retried by the client (${
      Object.entries(r.failures)
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ') || 'none'
    }), ${r.answeredDuplicate} answered duplicate:true; all acknowledged at ${(r.sentMs / 1000).toFixed(1)} s, all steps done at ${(r.finishedMs / 1000).toFixed(1)} s`
    expect(r.violations, `seed ${r.seed}`).toEqual([])
    expect(r.kills).toBe(5)
    expect(r.acknowledged).toBe(r.deliveries)
    expect(r.eventsStored).toBe(r.deliveries)
    expect(r.runsNotDone).toBe(0)
    row.result = 'pass'
  }, 60_000)
})
