import type { ScheduleStats, Work } from './backend.js'

/**
 * The schedule of a backend that one process serves (SQLite): every piece of
 * work with its due time, in a binary min-heap, and the leases on it. The
 * durable copy is in the backend's tables; this is their index in memory,
 * rebuilt at open. A leased item sits in the heap at its lease's end, so a
 * lease that runs out makes the work due again with no timer of its own;
 * the only timer is the one a waiting `take` sets for the earliest item.
 *
 * Steps come before matches: of the work due, a take hands out steps first,
 * then events to match. Matching only makes more steps, so an arrival burst
 * waits as unmatched events (one row each) rather than as thousands of
 * pending runs whose events fall out of the cache before their turn.
 */
export interface LocalSchedule {
  /** Schedule (or reschedule) work at `at`; ends any lease on it. */
  put(kind: Work['kind'], id: string, at: number): void
  /** Take it out of the schedule (done, or gone). */
  remove(id: string): void
  has(id: string): boolean
  /** Due work, leased to `worker` until now + `lease`. */
  take(worker: string, limit: number, lease: number, now?: number): Work[]
  /** Renew leases; returns the work whose lease is no longer this token's. */
  extend(work: Work[], lease: number, now?: number): Work[]
  /** Due again at once, for anyone. */
  release(work: Work[]): void
  /** Resolves when work may be due (something was put, a lease or due time came), or after `ms`. */
  wait(ms: number): Promise<void>
  stats(now?: number): ScheduleStats
  /** Wake every waiting `take` (closing). */
  wakeAll(): void
}

interface Item {
  kind: Work['kind']
  id: string
  at: number
  /** Bumped on every change; heap entries of older versions are dropped when they surface. */
  version: number
  lease?: { token: string; until: number }
}

interface Entry {
  at: number
  seq: number
  id: string
  version: number
}

export function createLocalSchedule(): LocalSchedule {
  const items = new Map<string, Item>()
  /** One min-heap per kind, steps first (see above). */
  const heaps: Record<Work['kind'], Entry[]> = { step: [], match: [] }
  const KINDS = ['step', 'match'] as const
  let seq = 0
  let tokens = 0
  const waiters = new Set<() => void>()

  const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq)
  const swap = (heap: Entry[], i: number, j: number) => {
    const t = heap[i]!
    heap[i] = heap[j]!
    heap[j] = t
  }
  function push(item: Item, at: number): void {
    item.version++
    const heap = heaps[item.kind]
    heap.push({ at, seq: seq++, id: item.id, version: item.version })
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (!before(heap[i]!, heap[parent]!)) break
      swap(heap, i, parent)
      i = parent
    }
  }
  function pop(heap: Entry[]): void {
    const last = heap.pop()
    if (heap.length === 0 || !last) return
    heap[0] = last
    for (let i = 0; ; ) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r
      if (m === i) break
      swap(heap, i, m)
      i = m
    }
  }
  // Every push bumps the item's version, so an entry of an older version (in either heap) is stale.
  const live = (e: Entry) => items.get(e.id)?.version === e.version
  /** The earliest live entry of a kind, dropping stale ones on the way. */
  function top(kind: Work['kind']): Entry | undefined {
    const heap = heaps[kind]
    while (heap.length > 0 && !live(heap[0]!)) pop(heap)
    return heap[0]
  }
  /** The earliest live entry of any kind. */
  function earliest(): Entry | undefined {
    const [s, m] = [top('step'), top('match')]
    return !s ? m : !m ? s : before(m, s) ? m : s
  }
  const wake = () => {
    for (const w of waiters) w()
    waiters.clear()
  }

  return {
    put(kind, id, at) {
      const item = items.get(id) ?? { kind, id, at, version: 0 }
      item.kind = kind
      item.at = at
      delete item.lease
      items.set(id, item)
      push(item, at)
      // Waiting takes recompute how long to sleep: this may be due sooner than what they wait for.
      wake()
    },
    remove(id) {
      items.delete(id)
    },
    has: (id) => items.has(id),
    take(worker, limit, lease, now = Date.now()) {
      const out: Work[] = []
      for (const kind of KINDS) {
        while (out.length < limit) {
          const e = top(kind)
          if (!e || e.at > now) break
          pop(heaps[kind])
          const item = items.get(e.id)!
          item.lease = { token: `${worker}#${++tokens}`, until: now + lease }
          push(item, item.lease.until)
          out.push({ kind: item.kind, id: item.id, token: item.lease.token })
        }
      }
      return out
    },
    extend(work, lease, now = Date.now()) {
      const lost: Work[] = []
      for (const w of work) {
        const item = items.get(w.id)
        if (!item?.lease || item.lease.token !== w.token) {
          lost.push(w)
          continue
        }
        item.lease.until = now + lease
        push(item, item.lease.until)
      }
      return lost
    },
    release(work) {
      const now = Date.now()
      for (const w of work) {
        const item = items.get(w.id)
        if (!item?.lease || item.lease.token !== w.token) continue
        // Due again at once, and still due since its `at` (what `stats` reports as its age).
        delete item.lease
        push(item, now)
      }
      if (work.length) wake()
    },
    wait(ms) {
      const next = earliest()
      const delay = Math.max(0, Math.min(ms, next ? next.at - Date.now() : ms))
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          waiters.delete(done)
          resolve()
        }
        const timer = setTimeout(done, delay)
        waiters.add(done)
      })
    },
    stats(now = Date.now()) {
      let due = 0
      let leased = 0
      let oldestDueAt: number | undefined
      for (const item of items.values()) {
        if (item.lease && item.lease.until > now) leased++
        else if (item.at <= now || item.lease) {
          due++
          // A lease that ran out, or work given back, leaves `at` as it was: the work has been due since then.
          if (oldestDueAt === undefined || item.at < oldestDueAt) oldestDueAt = item.at
        }
      }
      return oldestDueAt === undefined ? { scheduled: items.size, due, leased } : { scheduled: items.size, due, leased, oldestDueAt }
    },
    wakeAll: wake,
  }
}
