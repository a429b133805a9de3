/**
 * Work due at a time, behind one timer. A runner can hold tens of thousands
 * of pending runs (a bulk import on a recipe with a one-hour debounce); a
 * `setTimeout` each cost some 1.8 KB, 73 MB for 40,000. Here each costs an
 * entry in a binary min-heap, and one timer waits for the earliest.
 */
export interface TimerQueue {
  /** Run `fn` at `at` (ms since epoch); replaces what `key` had. */
  set(key: string, at: number, fn: () => void): void
  has(key: string): boolean
  delete(key: string): void
  readonly size: number
  /** Forget everything; nothing set so far runs. */
  clear(): void
}

interface Item {
  at: number
  seq: number
  key: string
  fn: () => void
}

// Node cannot wait longer than 2^31-1 ms; a longer wait wakes early and waits again.
const MAX_TIMER = 2 ** 31 - 1

export function createTimerQueue(now: () => number = Date.now): TimerQueue {
  const live = new Map<string, Item>()
  // Items replaced or deleted stay in the heap until they reach the top, then are dropped.
  const heap: Item[] = []
  let seq = 0
  let timer: NodeJS.Timeout | undefined
  let armedFor = Number.POSITIVE_INFINITY

  const before = (a: Item, b: Item) => a.at < b.at || (a.at === b.at && a.seq < b.seq)
  const swap = (i: number, j: number) => {
    const t = heap[i]!
    heap[i] = heap[j]!
    heap[j] = t
  }
  function push(item: Item): void {
    heap.push(item)
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (!before(heap[i]!, heap[parent]!)) break
      swap(i, parent)
      i = parent
    }
  }
  function pop(): Item | undefined {
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last) {
      heap[0] = last
      for (let i = 0; ; ) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r
        if (m === i) break
        swap(i, m)
        i = m
      }
    }
    return top
  }
  const stale = (item: Item) => live.get(item.key) !== item

  function arm(): void {
    while (heap.length > 0 && stale(heap[0]!)) pop()
    const next = heap[0]
    if (!next) {
      clearTimeout(timer)
      timer = undefined
      armedFor = Number.POSITIVE_INFINITY
      return
    }
    if (timer && armedFor <= next.at) return
    clearTimeout(timer)
    armedFor = next.at
    timer = setTimeout(fire, Math.min(MAX_TIMER, Math.max(0, next.at - now())))
  }

  function fire(): void {
    timer = undefined
    armedFor = Number.POSITIVE_INFINITY
    const t = now()
    const due: Item[] = []
    while (heap.length > 0 && (stale(heap[0]!) || heap[0]!.at <= t)) {
      const item = pop()!
      if (stale(item)) continue
      live.delete(item.key)
      due.push(item)
    }
    arm()
    for (const item of due) item.fn()
  }

  return {
    set(key, at, fn) {
      const item: Item = { at, seq: seq++, key, fn }
      live.set(key, item)
      push(item)
      arm()
    },
    has: (key) => live.has(key),
    delete(key) {
      if (live.delete(key)) arm()
    },
    get size() {
      return live.size
    },
    clear() {
      live.clear()
      heap.length = 0
      arm()
    },
  }
}
