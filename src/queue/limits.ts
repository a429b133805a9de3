import PQueue from 'p-queue'
import type { ActionEntry } from '../actions/registry.js'
import type { Limiter } from '../store/backend.js'
import type { Logger } from '../types.js'
import { boundedKey } from './flow.js'

export interface Limits {
  /**
   * Runs `task` in a slot of the global queue, within the action's
   * concurrency and rate limit (per limit key, such as a Slack channel).
   * Resolves to `stopped` when the runner stops before the task could start.
   * `hold`: the longest the task can take (its timeout), so a slot held by a
   * worker that died frees itself.
   */
  run<T>(
    name: string,
    entry: ActionEntry,
    key: string | undefined,
    log: Logger,
    stopped: T,
    hold: number,
    task: () => Promise<T>,
  ): Promise<T>
  /** Stop: nothing waiting for a slot or a rate token starts any more. */
  stop(): void
}

interface Lane {
  queue?: PQueue
  /** Start times within the current rate window, oldest first. */
  starts: number[]
  active: number
}

const NOT_YET = Symbol('not yet')

/**
 * Per-action limits in front of the global queue. A run waits for its
 * action's concurrency slot and rate token *outside* the global queue, so a
 * slow or rate-limited target never holds the global slots; the rate token
 * is taken only once a global slot is held, so starts are spaced as seen by
 * the target even when the global queue is busy.
 */
export function createLimits(global: PQueue, cluster?: Limiter): Limits {
  const lanes = new Map<string, Lane>()
  let stopped = false
  let holders = 0
  const describe = (name: string, entry: ActionEntry, key: string | undefined) =>
    `waiting for the ${name} limit (${[
      entry.concurrency !== undefined ? `concurrency ${entry.concurrency}` : '',
      entry.rateLimit ? `${entry.rateLimit.limit} per ${entry.rateLimit.interval} ms` : '',
    ]
      .filter(Boolean)
      .join(', ')}${key ? ` for ${key}` : ''}${cluster ? ', across replicas' : ''})`

  /**
   * The backend's limiter holds the slots, so the limit holds for every
   * worker on it. The slot and the rate token are taken once a global slot
   * is held, right before the task (so a slot's expiry, `hold`, covers the
   * task, and starts are spaced as the target sees them); while the limit is
   * full the global slot is given back and the run waits outside it.
   */
  async function shared<T>(
    name: string,
    entry: ActionEntry,
    key: string | undefined,
    log: Logger,
    stoppedValue: T,
    hold: number,
    task: () => Promise<T>,
  ) {
    const lane = laneName(name, key)
    const holder = `${process.pid}:${++holders}:${Math.random().toString(36).slice(2, 8)}`
    const limits = {
      ...(entry.concurrency !== undefined ? { concurrency: entry.concurrency } : {}),
      ...(entry.rateLimit ? { rate: entry.rateLimit } : {}),
    }
    let told = false
    for (;;) {
      if (stopped) return stoppedValue
      const out = await global.add(
        async (): Promise<{ value: T } | { wait: number }> => {
          if (stopped) return { value: stoppedValue }
          const wait = await cluster!.acquire(lane, holder, limits, hold)
          if (wait > 0) return { wait }
          try {
            return { value: await task() }
          } finally {
            await cluster!.release(lane, holder).catch(() => {})
          }
        },
        { priority: 1 },
      )
      if (out === undefined) return stoppedValue
      if ('value' in out) return out.value
      if (!told) log.info({ limitKey: key }, describe(name, entry, key))
      told = true
      await new Promise((r) => setTimeout(r, out.wait))
    }
  }

  const untilFree = (lane: Lane, rate: NonNullable<ActionEntry['rateLimit']>, now: number): number => {
    while (lane.starts.length && lane.starts[0]! <= now - rate.interval) lane.starts.shift()
    return lane.starts.length < rate.limit ? 0 : lane.starts[0]! + rate.interval - now
  }

  return {
    run(name, entry, key, log, stoppedValue, hold, task) {
      if (entry.concurrency === undefined && entry.rateLimit === undefined)
        return global.add(async () => (stopped ? stoppedValue : task())) as Promise<typeof stoppedValue>
      if (cluster) return shared(name, entry, key, log, stoppedValue, hold, task)
      const id = laneName(name, key)
      let lane = lanes.get(id)
      if (!lane) {
        lane = {
          starts: [],
          active: 0,
          ...(entry.concurrency !== undefined ? { queue: new PQueue({ concurrency: entry.concurrency }) } : {}),
        }
        lanes.set(id, lane)
      } else if (lane.queue && entry.concurrency !== undefined && lane.queue.concurrency !== entry.concurrency) {
        // A reload changed the action's concurrency: the lane takes it from now on.
        lane.queue.concurrency = entry.concurrency
      }
      const l = lane
      const rate = entry.rateLimit
      let told = false
      const tell = () => {
        if (told) return
        told = true
        log.info({ limitKey: key }, describe(name, entry, key))
      }

      const inner = async (): Promise<typeof stoppedValue> => {
        for (;;) {
          if (stopped) return stoppedValue
          const wait = rate ? untilFree(l, rate, Date.now()) : 0
          if (wait > 0) {
            tell()
            await new Promise((r) => setTimeout(r, wait))
            continue
          }
          const out = await global.add(
            async () => {
              if (stopped) return { value: stoppedValue }
              if (rate) {
                if (untilFree(l, rate, Date.now()) > 0) return NOT_YET
                l.starts.push(Date.now())
              }
              return { value: await task() }
            },
            { priority: 1 },
          )
          if (out !== NOT_YET && out !== undefined) return out.value
        }
      }

      if (l.queue && (l.queue.pending >= (entry.concurrency ?? Infinity) || l.queue.size > 0)) tell()
      l.active++
      const done = l.queue ? (l.queue.add(inner) as Promise<typeof stoppedValue>) : inner()
      return done.finally(() => {
        l.active--
        // Forget idle lanes once their rate window has passed, so per-key lanes do not pile up.
        if (l.active === 0) setTimeout(() => l.active === 0 && lanes.get(id) === l && lanes.delete(id), rate?.interval ?? 0).unref()
      })
    },
    stop() {
      stopped = true
      for (const lane of lanes.values()) lane.queue?.clear()
    },
  }
}

/** An action's lane per limit key (a Slack channel from the payload, say): bounded in size like once keys. */
const laneName = (name: string, key: string | undefined) => boundedKey(`${name}\u0000${key ?? ''}`)
