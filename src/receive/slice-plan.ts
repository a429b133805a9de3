/**
 * Where to cut a large JSON text so that it can be parsed a slice at a time.
 * The scanner thread (canonical-text.ts) records it while it reads a body;
 * the engine then builds the payload from slices of at most `SLICE`
 * characters, each parsed by JSON.parse, yielding to the event loop between
 * them (`parse-in-slices.ts`). One JSON.parse of a megabyte of `{},` took
 * 96 ms here, and every delivery and `/healthz` waited for it.
 */

/** The most characters one JSON.parse reads when a plan is followed. */
export const SLICE = 32 * 1024

export type SlicePart =
  /** Consecutive small members (`"a":1,"b":2`) or elements (`1,2`), text from `start` to `end`. */
  | { kind: 'run'; start: number; end: number }
  /** One large member's value or element; `key` for an object's member; `plan` when it is itself split. */
  | { kind: 'child'; key?: string; start: number; end: number; plan?: SlicePlan }

export type SlicePlan = { kind: 'object' | 'array'; parts: SlicePart[] }

/** A large value seen by the scanner: where it starts (after the key), its key, its own plan. */
export type LargeValue = { key?: string; start: number; plan: SlicePlan | undefined }

/** Records the parts of one container as the scanner reads it; only a container over `SLICE` gets a plan. */
export function createSlicing(kind: SlicePlan['kind'], opening: number) {
  const parts: SlicePart[] = []
  let run: { start: number; end: number } | undefined
  const close = () => {
    if (run) parts.push({ kind: 'run', start: run.start, end: run.end })
    run = undefined
  }
  return {
    /** A member (key included) or element from `from` to `to`; `large` when its value is over `SLICE`. */
    member(from: number, to: number, large: LargeValue | undefined): void {
      if (large) {
        close()
        const { key, start, plan } = large
        parts.push({ kind: 'child', ...(key === undefined ? {} : { key }), start, end: to, ...(plan ? { plan } : {}) })
        return
      }
      if (run) run.end = to
      else run = { start: from, end: to }
      if (run.end - run.start > SLICE) close()
    },
    /** The plan, once the closing bracket is read (`closing` is just past it). */
    end(closing: number): SlicePlan | undefined {
      if (closing - opening <= SLICE) return undefined
      close()
      return { kind, parts }
    },
  }
}
