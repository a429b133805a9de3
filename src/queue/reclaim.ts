import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type Collect = (options?: { type: 'minor' | 'major' }) => void

let collect: Collect | null | undefined
let pending = false

/**
 * A full garbage collection, in the next turn of the event loop. V8 lets the
 * old generation grow well past what is live before it collects: with a few
 * MB live that is fine, but payloads that parse to 20 MB each leave hundreds
 * of MB of garbage between collections (a peak RSS of 1.2 GB with under
 * 100 MB live). The event cache and the receiver's budget call this after
 * they let go of their budget's worth of such payloads, so peak memory
 * follows the budget. Ordinary payloads never get here. The collection runs
 * in a task of its own: its pause (as long as marking what is live takes) is
 * not added to the work that asked for it, and requests already waiting are
 * answered first.
 */
export function reclaim(): void {
  if (pending) return
  pending = true
  setImmediate(() => {
    pending = false
    collector()?.()
  })
}

/**
 * When a holder of large payloads asks for `reclaim`: once a budget's worth
 * of them was let go and nothing large is held (a full collection pauses for
 * as long as marking what is live takes: 70 ms with a megabyte of nested
 * arrays held), or once twice that was let go whatever is held, so memory
 * stays bounded under a steady stream of large payloads. `budget()` is read
 * each time: a reload may change it.
 */
export function createReclaimer(budget: () => number) {
  let dropped = 0
  return {
    /** Counts `bytes` of large payloads let go. */
    letGo(bytes: number): void {
      dropped += bytes
    },
    /** Whether the collection is due now; `idle`: no large payload is held. */
    due(idle: boolean): boolean {
      const bytes = budget()
      return dropped >= 2 * bytes || (idle && dropped >= bytes)
    },
    /** Asks for it (`reclaim`) and starts counting again. */
    collect(): void {
      dropped = 0
      reclaim()
    },
  }
}

/**
 * A young-generation collection, now. Parsing a large body in slices makes
 * objects that all survive; left to itself, V8 copies up to its whole young
 * generation of them in one pause (60 ms here). Collected after each slice,
 * each pause copies one slice's worth.
 */
export function collectYoung(): void {
  collector()?.({ type: 'minor' })
}

function collector(): Collect | null {
  if (collect === undefined) {
    try {
      // What `--expose-gc` does, for this process only; `gc` is then reachable from a fresh context.
      setFlagsFromString('--expose-gc')
      collect = runInNewContext('gc') as Collect
    } catch {
      collect = null
    }
  }
  return collect
}
