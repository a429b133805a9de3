import type { IncomingMessage } from 'node:http'
import { createReclaimer } from '../queue/reclaim.js'

/** Room for one delivery's body, held from before its first byte is read until it is stored; `release` once. */
export type Release = () => void

export interface InflightBudget {
  /**
   * Room for `bytes`, first come first served: at once when it fits (or when
   * nothing is in flight, so one body always gets through however large),
   * else when enough is released, or undefined after `waitMs` without room.
   */
  reserve(bytes: number, waitMs: number): Promise<Release | undefined>
  /** A new limit (a reload); waiters that now fit go in. */
  setLimit(limit: number): void
  stats(): { inflight: number; waiting: number }
}

interface Waiter {
  bytes: number
  admit(release: Release): void
}

/**
 * The receiver's memory bound, in estimated bytes. A body waits for room
 * before its socket is read: unread bytes stay in the kernel's socket
 * buffer (not in this process), and TCP flow control slows the sender.
 */
export function createInflightBudget(limit: number): InflightBudget {
  let inflight = 0
  // A full collection after the budget's worth of large bodies was let go: V8 would otherwise let
  // their garbage pile up well past the budget before collecting it (see queue/reclaim.ts).
  const reclaimer = createReclaimer(() => limit)
  const queue: Waiter[] = []
  const fits = (bytes: number) => inflight === 0 || inflight + bytes <= limit

  function collectAfter(bytes: number): void {
    reclaimer.letGo(bytes)
    if (reclaimer.due(inflight === 0)) reclaimer.collect()
  }

  function take(bytes: number): Release {
    inflight += bytes
    let done = false
    return () => {
      if (done) return
      done = true
      inflight -= bytes
      if (bytes >= LARGE_CHARGE) collectAfter(bytes)
      admitWaiters()
    }
  }

  // In order: a large body at the head is not starved by small ones passing it.
  function admitWaiters(): void {
    while (queue.length > 0 && fits(queue[0]!.bytes)) {
      const next = queue.shift()!
      next.admit(take(next.bytes))
    }
  }

  return {
    reserve(bytes, waitMs) {
      if (queue.length === 0 && fits(bytes)) return Promise.resolve(take(bytes))
      return new Promise((resolve) => {
        const waiter: Waiter = {
          bytes,
          admit(release) {
            clearTimeout(timer)
            resolve(release)
          },
        }
        const timer = setTimeout(() => {
          queue.splice(queue.indexOf(waiter), 1)
          resolve(undefined)
          // The head gave up: the ones behind it may fit.
          admitWaiters()
        }, waitMs)
        queue.push(waiter)
      })
    },
    setLimit(next) {
      limit = next
      admitWaiters()
    },
    stats: () => ({ inflight, waiting: queue.length }),
  }
}

// A body of n bytes is held about four times while the receiver has it: the socket's chunks, the joined
// Buffer, the decoded string (written to the store), and its copy on the scanner thread (body-scanner.ts).
const HELD_COPIES = 4
// Bodies up to this size are parsed in the receiver (receiver.ts, LARGE_BODY): `{}` × n parses to some 20 × n.
const PARSED = 64 * 1024
const PARSE_FACTOR = 20

/**
 * What a delivery is charged before its body is read: from Content-Length
 * when it is there (a lying one is a 400 when read), or the body limit for a
 * chunked body. A declared size over the limit is charged nothing: it is
 * refused with 413 before anything is read.
 */
export function chargeFor(req: IncomingMessage, bodyLimit: number): number {
  const header = req.headers['content-length']
  const declared = header !== undefined && !req.headers['transfer-encoding'] ? Number(header) : bodyLimit
  if (!Number.isFinite(declared) || declared < 0 || declared > bodyLimit) return 0
  return declared * HELD_COPIES + (declared <= PARSED ? declared * PARSE_FACTOR : 0)
}

/** How long a delivery waits for room before it gets 503: well inside the request timeout, so Node never cuts it off. */
export function roomWait(requestTimeout: number): number {
  return requestTimeout > 0 ? Math.min(MAX_WAIT, Math.floor(requestTimeout / 4)) : MAX_WAIT
}

const MAX_WAIT = 5_000
// Bodies of some 300 KB and more: ordinary deliveries never count towards a full collection.
const LARGE_CHARGE = 1024 * 1024
