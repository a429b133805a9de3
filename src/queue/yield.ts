const PROBE_MS = 5

export interface AdmissionOptions {
  /** How often the event loop's delay is read and the allowance set, ms. */
  every?: number
  /** Loop delay (the longest in the last window, ms) above which fewer pieces of work start. */
  high?: number
  /** Loop delay below which more may start again; between the two, as many as in the last window. */
  low?: number
  /** Starts per window however slow the loop is: the schedule always moves on. */
  min?: number
}

export interface Admission {
  /** How many pieces of work may start now: Infinity while the event loop keeps up, or no delivery waits on it. */
  allowance(): number
  /** Counts a delivery acknowledged: only while they arrive do steps give way. */
  delivered(): void
  /** Counts `n` pieces of work started. */
  started(n: number): void
  /** Resolves at the start of the next window (when the allowance is spent). */
  next(): Promise<void>
  stop(): void
}

/**
 * Acknowledgements first. Deliveries and steps share one event loop; when
 * step work keeps it busy, a delivery waits for the loop to come round before
 * it is stored and answered. So the engine asks here before it takes work.
 * While no delivery arrives, or the loop keeps up, everything may start. Once
 * deliveries arrive and the loop has been over `high` ms late (the longest in
 * a window of `every` ms) two windows running, the starts per window are
 * halved from the last window's; they grow again by a quarter per window
 * while the loop is under `low` ms late, and are unlimited once well above
 * what is asked for. Only starts are counted, never work in flight: a step
 * that waits on a slow target costs no CPU and holds back no other step. At
 * least `min` start per window, so the schedule always moves on; what waits
 * is durable in the store.
 */
export function admitWork({ every = 50, ...limits }: AdmissionOptions = {}): Admission {
  const control = createAdmissionControl(limits)
  // The loop's delay: how late a 5 ms timer comes round, the longest in the window.
  let last = performance.now()
  let worst = 0
  const probe = setInterval(() => {
    const now = performance.now()
    worst = Math.max(worst, now - last - PROBE_MS)
    last = now
  }, PROBE_MS)
  probe.unref()
  let waiters: Array<() => void> = []
  let stopped = false
  const timer = setInterval(() => {
    control.endWindow(worst)
    worst = 0
    for (const wake of waiters.splice(0)) wake()
  }, every)
  timer.unref()
  return {
    allowance: control.allowance,
    delivered: control.delivered,
    started: control.started,
    next: () => (stopped ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    stop() {
      stopped = true
      clearInterval(timer)
      clearInterval(probe)
      for (const wake of waiters.splice(0)) wake()
      waiters = []
    },
  }
}

export interface AdmissionControl extends Pick<Admission, 'allowance' | 'delivered' | 'started'> {
  /** Ends a window in which the loop came round at worst `late` ms late; sets the next window's allowance. */
  endWindow(late: number): void
}

/** The decisions of `admitWork`, without its timers. */
export function createAdmissionControl({ high = 4, low = 2, min = 4 }: Omit<AdmissionOptions, 'every'> = {}): AdmissionControl {
  let rate = Number.POSITIVE_INFINITY
  let used = 0
  let deliveries = 0
  let wasSlow = false
  return {
    allowance: () => rate - used,
    delivered() {
      deliveries++
    },
    started(n) {
      used += n
    },
    endWindow(late) {
      // Slow for two windows running: one GC pause or one long step is no reason to hold the others back.
      const slow = late > high && wasSlow
      wasSlow = late > high
      // No delivery in the window: nothing to make way for.
      if (deliveries === 0) rate = Number.POSITIVE_INFINITY
      else if (slow) rate = Math.max(min, Math.floor((Number.isFinite(rate) ? Math.min(rate, used) : used) / 2))
      else if (late < low && Number.isFinite(rate)) {
        rate = Math.ceil(rate * 1.25) + 1
        // Well above what is asked for: no limit at all.
        if (rate > 2 * Math.max(used, min)) rate = Number.POSITIVE_INFINITY
      }
      used = 0
      deliveries = 0
    },
  }
}
