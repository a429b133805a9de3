import { createHash } from 'node:crypto'
import type { Request, Response } from 'express'
import type { Backend } from '../store/backend.js'
import type { Signal, Telemetry } from '../telemetry.js'

/**
 * `GET /admin/api/stream`: server-sent events of new deliveries and run
 * state changes. This process's own work arrives as it happens (telemetry);
 * on a shared backend (Redis), other replicas' work is noticed by one poll of
 * the newest events every `pollEvery` ms while anyone listens, sent as
 * `change`. Each message carries ids and states, never payload text.
 */
export interface Stream {
  handler(req: Request, res: Response): void
  /** Open streams. */
  readonly size: number
  /** Ends every stream (shutting down). */
  close(): void
}

export interface StreamOptions {
  telemetry: Telemetry
  /** Set for a backend shared with other processes. */
  shared?: Backend
  pollEvery?: number
  heartbeat?: number
  /** Streams allowed at once (each holds a socket). */
  max?: number
}

/** Bytes a stream may have waiting to be sent before its reader is let go. */
const MAX_BUFFERED = 256 * 1024

export function createStream({ telemetry, shared, pollEvery = 2_000, heartbeat = 15_000, max = 100 }: StreamOptions): Stream {
  const clients = new Set<Response>()
  let unsubscribe: (() => void) | undefined
  let timers: NodeJS.Timeout[] = []
  let fingerprint: string | undefined

  let closed = false

  const send = (name: string, data: unknown) => {
    const frame = `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
    for (const res of clients) {
      // A reader that stopped reading (a laptop asleep, a dead NAT entry) is let go rather than
      // buffered for: its browser reconnects, and the page refreshes itself when it does.
      if (res.writableLength > MAX_BUFFERED) {
        clients.delete(res)
        res.end()
      } else res.write(frame)
    }
    if (clients.size === 0) stop()
  }

  function onSignal(signal: Signal): void {
    if (signal.kind === 'delivery' && signal.id && signal.outcome !== 'rejected')
      send('delivery', { id: signal.id, event: signal.event, duplicate: signal.outcome === 'duplicate' })
    else if (signal.kind === 'run')
      send('run', { id: signal.runId, eventId: signal.eventId, recipe: signal.recipe, action: signal.action, state: signal.state })
    else if (signal.kind === 'matched') send('matched', { eventId: signal.eventId, recipes: signal.recipes })
  }

  async function poll(): Promise<void> {
    if (!shared) return
    try {
      const newest = await shared.listEvents({ limit: 25 })
      const text = newest.map((e) => `${e.id}:${e.dispatched ? 1 : 0}:${e.runs.map((r) => r.state).join(',')}`).join(';')
      const next = createHash('sha256').update(text).digest('base64url')
      if (fingerprint !== undefined && next !== fingerprint) send('change', {})
      fingerprint = next
    } catch {
      // The store is down: nothing to tell; /readyz says so.
    }
  }

  function start(): void {
    unsubscribe = telemetry.subscribe(onSignal)
    timers = [setInterval(() => send('ping', {}), heartbeat)]
    if (shared) timers.push(setInterval(() => void poll(), pollEvery))
    for (const t of timers) t.unref()
  }

  function stop(): void {
    unsubscribe?.()
    unsubscribe = undefined
    for (const t of timers) clearInterval(t)
    timers = []
    fingerprint = undefined
  }

  return {
    handler(req, res) {
      if (closed) {
        res
          .status(503)
          .set('retry-after', '5')
          .json({ error: { code: 'shutting_down', message: 'the runner is shutting down' } })
        return
      }
      if (clients.size >= max) {
        res
          .status(503)
          .set('retry-after', '10')
          .json({ error: { code: 'too_many_streams', message: `at most ${max} live views at once` } })
        return
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        // Proxies that buffer (nginx) would hold the events back.
        'x-accel-buffering': 'no',
      })
      res.write('retry: 3000\n\n')
      if (clients.size === 0) start()
      clients.add(res)
      req.on('close', () => {
        clients.delete(res)
        if (clients.size === 0) stop()
      })
    },
    get size() {
      return clients.size
    },
    close() {
      closed = true
      for (const res of clients) res.end()
      clients.clear()
      stop()
    },
  }
}
