#!/usr/bin/env node
/**
 * The entry, kept small: loading the rest of the CLI takes a second or more
 * on a busy machine, and a SIGTERM in that time would end `start` by the
 * default action (exit 143). So `start`'s signals are handled first.
 */
import { holdEarlySignals } from './early-signals.js'

holdEarlySignals(process.argv[2])
await import('./program.js')
