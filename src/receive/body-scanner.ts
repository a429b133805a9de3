/**
 * Large bodies are hashed off the event loop. Reading the canonical JSON of
 * a megabyte body (keys sorted, every string and number re-encoded) takes
 * 50-150 ms of CPU; on the thread that answers, every other delivery and
 * `/healthz` waited that long. One thread per process does it instead, one
 * body at a time; the receiver awaits its answer. Without the thread (it
 * failed, or the code runs from TypeScript sources, as in tests), the same
 * function runs inline.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { HttpError } from '../errors.js'
import { canonicalHash } from './canonical.js'
import { scanCanonical } from './canonical-text.js'
import type { SlicePlan } from './slice-plan.js'
import { setImmediate as nextTurn } from 'node:timers/promises'

export type ScanRequest = { id: number; text: string }
export type ScanReply =
  | { id: number; kind: 'scanned'; hash: string; name?: string; plan?: SlicePlan }
  /** Not a JSON object this scanner reads: the caller lets JSON.parse say why. */
  | { id: number; kind: 'unreadable' }
  | { id: number; kind: 'refused'; status: number; code: string; message: string }

/** The hash and title of a large body, or undefined when JSON.parse must decide. Throws the receiver's 400s. */
export type ScannedLarge = { hash: string; name?: string; plan?: SlicePlan } | undefined

export function scanReply({ id, text }: ScanRequest): ScanReply {
  try {
    const scanned = scanCanonical(text)
    if (!scanned) return { id, kind: 'unreadable' }
    const { name, plan } = scanned
    return {
      id,
      kind: 'scanned',
      hash: canonicalHash(scanned.canonical),
      ...(name === undefined ? {} : { name }),
      ...(plan ? { plan } : {}),
    }
  } catch (err) {
    if (!(err instanceof HttpError)) throw err
    return { id, kind: 'refused', status: err.status ?? 400, code: err.code, message: err.message }
  }
}

function settle(reply: ScanReply): ScannedLarge {
  if (reply.kind === 'refused') throw new HttpError(reply.status, reply.code, reply.message)
  if (reply.kind === 'unreadable') return undefined
  const { id: _, kind: __, ...scanned } = reply
  return scanned
}

const ENTRY = new URL('./scan-thread.js', import.meta.url)
type Waiter = { resolve: (reply: ScanReply) => void; reject: (err: unknown) => void }
let thread: { worker: Worker; waiting: Map<number, Waiter> } | undefined
let unavailable = !existsSync(fileURLToPath(ENTRY))
let nextId = 0

function start(): NonNullable<typeof thread> {
  const worker = new Worker(ENTRY)
  // Never what keeps the process alive: a request in flight belongs to a socket that does.
  worker.unref()
  const waiting = new Map<number, Waiter>()
  const current = { worker, waiting }
  const fail = (err: unknown) => {
    if (thread === current) thread = undefined
    for (const waiter of waiting.values()) waiter.reject(err)
    waiting.clear()
  }
  worker.on('message', (reply: ScanReply) => {
    waiting.get(reply.id)?.resolve(reply)
    waiting.delete(reply.id)
  })
  worker.on('error', (err) => {
    unavailable = true
    fail(err)
  })
  worker.on('exit', (code) => fail(new Error(`the body scanner thread exited with code ${code}`)))
  return current
}

/** Starts the thread ahead of the first large body, so that its start-up is not paid during a delivery. */
export function startScanner(): void {
  if (!unavailable) thread ??= start()
}

/** The hash (and top-level `name`) of a large body, read on the scanner thread. */
export async function scanLarge(text: string): Promise<ScannedLarge> {
  if (unavailable) {
    // One scan per turn of the event loop, so that timers and new connections get theirs in between.
    await nextTurn()
    return settle(scanReply({ id: 0, text }))
  }
  thread ??= start()
  const { worker, waiting } = thread
  const id = ++nextId
  const reply = await new Promise<ScanReply>((resolve, reject) => {
    waiting.set(id, { resolve, reject })
    worker.postMessage({ id, text } satisfies ScanRequest)
  }).catch(() => scanReply({ id, text }))
  return settle(reply)
}
