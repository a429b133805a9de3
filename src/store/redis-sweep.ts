import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Work } from './backend.js'
import type { RedisSchedule } from './redis-schedule.js'
import type { RunScript } from './redis-scripts.js'

export interface SweepOptions {
  redis: Redis
  run: RunScript
  prefix: string
  schedule: RedisSchedule
  /** How often, ms; one replica sweeps per interval. */
  interval: number
  /** Intent younger than this is left alone: its job is being added right now. */
  grace: number
}

const PAGE = 500

/**
 * Records are written by our scripts and jobs by BullMQ's, so a process
 * killed between the two leaves intent (an unmatched event, a scheduled run)
 * without a job. The sweep finds such intent and adds the job again. Adding
 * a job whose id exists is a no-op in BullMQ, so a sweep racing the add it
 * covers for does no harm, and the engine checks a run's state before it
 * runs anything, so a job for work that finished meanwhile is harmless too.
 */
export function startSweep({ redis, run, prefix, schedule, interval, grace }: SweepOptions): { stop(): void; sweep(): Promise<number> } {
  const owner = randomUUID()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<number> | undefined
  let stopped = false

  async function sweepSet(set: 'unmatched' | 'scheduled', kind: Work['kind']): Promise<number> {
    let added = 0
    // Events by when they were recorded; runs by when they are due: a lost job of a run due later is found once it is due.
    const cutoff = String(Date.now() - grace)
    for (let offset = 0; !stopped; offset += PAGE) {
      const [scanned, missing] = await run<[number, string[]]>('arSweep', [], set, cutoff, String(offset), String(PAGE))
      const entries: Array<{ id: string; at: number }> = []
      for (let i = 0; i + 1 < missing.length; i += 2) entries.push({ id: missing[i]!, at: kind === 'match' ? 0 : Number(missing[i + 1]) })
      await schedule.add(kind, entries)
      added += entries.length
      if (scanned < PAGE) break
    }
    return added
  }

  async function sweep(): Promise<number> {
    // One replica per interval: the others would only repeat its reads.
    const mine = await redis.set(`${prefix}:sweep`, owner, 'PX', interval, 'NX')
    if (mine !== 'OK') return 0
    return (await sweepSet('unmatched', 'match')) + (await sweepSet('scheduled', 'step'))
  }

  const tick = () => {
    if (stopped || running) return
    running = sweep()
      .catch(() => 0) // Redis down: the next tick tries again.
      .finally(() => {
        running = undefined
      })
  }
  timer = setInterval(tick, interval)
  timer.unref()
  tick()

  return {
    stop() {
      stopped = true
      if (timer) clearInterval(timer)
      timer = undefined
    },
    sweep: () => sweep(),
  }
}
