import { RunnerError } from '../errors.js'

/** The abort reason of a shutdown: an attempt cut off by it does not count. Compared by identity, never by message or code. */
export const SHUTDOWN = new RunnerError('shutdown', 'the runner is shutting down')
