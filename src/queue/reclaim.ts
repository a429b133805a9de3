import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let collect: (() => void) | null | undefined

/**
 * A full garbage collection, now. V8 lets the old generation grow well past
 * what is live before it collects: with a few MB live that is fine, but
 * payloads that parse to 20 MB each leave hundreds of MB of garbage between
 * collections (a peak RSS of 1.2 GB with under 100 MB live). The event cache
 * calls this after it let go of its budget's worth of such payloads, so peak
 * memory follows the budget. Ordinary payloads never get here.
 */
export function reclaim(): void {
  if (collect === undefined) {
    try {
      // What `--expose-gc` does, for this process only; `gc` is then reachable from a fresh context.
      setFlagsFromString('--expose-gc')
      collect = runInNewContext('gc') as () => void
    } catch {
      collect = null
    }
  }
  collect?.()
}
