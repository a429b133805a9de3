/**
 * `start`'s signals while the CLI is still being imported, before
 * `handleSignals` (signals.ts) takes over. Nothing is open yet, so a stop
 * is an exit 0. No imports: this must run before anything else loads.
 */
const listeners = {
  SIGTERM: () => process.exit(0),
  SIGINT: () => process.exit(0),
  // Unhandled, SIGHUP would end the process; there is no config to reload yet.
  SIGHUP: () => {},
} as const

/** For `start` only: the other commands keep the default (a SIGTERM ends them). */
export function holdEarlySignals(command: string | undefined): void {
  if (command !== 'start') return
  for (const [signal, listener] of Object.entries(listeners)) process.on(signal, listener)
}

/** `start`'s own handlers are in place: these step aside. */
export function releaseEarlySignals(): void {
  for (const [signal, listener] of Object.entries(listeners)) process.off(signal, listener)
}
