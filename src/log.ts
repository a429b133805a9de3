import { createRequire } from 'node:module'
import pino from 'pino'
import { redact, redactText } from './redact.js'
import type { Logger } from './types.js'

export interface LoggerOptions {
  /** `info` unless LOG_LEVEL says otherwise. */
  level?: string
  /** Human-readable lines (default: when stdout is a terminal). */
  pretty?: boolean
  /** Where lines go (default stdout); tests pass a stream to read them. */
  destination?: NodeJS.WritableStream
}

/**
 * JSON lines through pino; human-readable on a terminal. Secrets are masked
 * (see `redact`): the config's secret values wherever they are, fields named
 * like a secret, and secrets named inside strings, so a key or token that
 * slips into a log line never reaches the output.
 */
export function createLogger({
  level = process.env.LOG_LEVEL ?? 'info',
  pretty = Boolean(process.stdout.isTTY) && !process.env.CI,
  destination,
}: LoggerOptions = {}): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    // Secret values, and fields named like a secret at any depth and in any case, are masked.
    formatters: { log: (obj) => redact(obj) as Record<string, unknown> },
    // The message too: a log step's message may carry a token, or a URL with one in it.
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as Parameters<typeof method>)
      },
    },
  }
  if (pretty) {
    // pino-pretty is only loaded for terminals; JSON output pays nothing for it.
    const require = createRequire(import.meta.url)
    const prettyFactory = require('pino-pretty') as (o: object) => NodeJS.WritableStream
    return pino(
      options,
      prettyFactory({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', destination: destination ?? 1 }),
    ) as unknown as Logger
  }
  return pino(options, (destination as pino.DestinationStream | undefined) ?? pino.destination({ sync: false })) as unknown as Logger
}

/** A logger that drops everything. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' }) as unknown as Logger
}
