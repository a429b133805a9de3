import type { RunState } from './store/backend.js'
import type { EventType } from './types.js'

/**
 * What happened in this process, as it happens: deliveries answered, store
 * writes timed, runs settled. The receiver and the engine emit; the console
 * (metrics, the live stream) subscribes once it is loaded, after the webhook
 * path is ready. Until then signals wait in a bounded buffer, so counters
 * miss nothing that arrived first; emitting costs a function call.
 *
 * Labels are from the config or fixed sets only (event names, recipe and
 * action names, states), never from payloads: metric cardinality stays bounded.
 */
export type Signal =
  | {
      kind: 'delivery'
      /** The webhook's event, or undefined for an unknown event name (404). */
      event: EventType | undefined
      outcome: 'accepted' | 'duplicate' | 'rejected'
      /** The HTTP status answered. */
      status: number
      /** The event id, for accepted and duplicate deliveries. */
      id?: string
    }
  /** A delivery's store write (the dedupe check and the durable insert), ms. */
  | { kind: 'stored'; ms: number }
  /** A step run's record changed for good or for a retry (written already). */
  | {
      kind: 'run'
      runId: string
      eventId: string
      recipe: string
      action: string
      state: RunState
      /** How long the attempt took, when one ran, ms. */
      ms?: number
    }
  /** An event was matched against the recipes (written already). */
  | { kind: 'matched'; eventId: string; recipes: number }

export interface Telemetry {
  emit(signal: Signal): void
  /** Receive every signal from now on (and those buffered before the first subscriber). Returns an unsubscribe. */
  subscribe(listener: (signal: Signal) => void): () => void
}

/** Signals kept for a subscriber that is not there yet (the console loads within a second of start-up); beyond it, new ones are dropped. */
const BUFFERED = 10_000

export function createTelemetry(): Telemetry {
  const listeners = new Set<(signal: Signal) => void>()
  let buffer: Signal[] | undefined = []
  return {
    emit(signal) {
      if (buffer) {
        if (buffer.length < BUFFERED) buffer.push(signal)
        return
      }
      for (const l of listeners) {
        try {
          l(signal)
        } catch {
          // A listener's fault is its own: the hot path never fails for it.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener)
      if (buffer) {
        const early = buffer
        buffer = undefined
        for (const s of early) listener(s)
      }
      return () => listeners.delete(listener)
    },
  }
}

/** For code that runs without a console (CLI commands, tests): signals go nowhere. */
export const noTelemetry: Telemetry = { emit() {}, subscribe: () => () => {} }
