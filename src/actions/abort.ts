import { RetryableError } from '../errors.js'

/**
 * The error an action throws when `ctx.signal` cut it off. Retryable: the
 * engine aborts on a step timeout or at shutdown, and both deserve another try.
 */
export function abortError(signal: AbortSignal, what: string): RetryableError {
  const reason: unknown = signal.reason
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted'
  return new RetryableError(`${what}: aborted (${why})`, { code: 'aborted', cause: reason })
}

/**
 * Settle like `promise`, or reject as soon as `signal` aborts. For clients
 * that take no signal (nodemailer, @slack/web-api): the attempt ends on time,
 * though the client may still finish its request in the background.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}) // the losing promise may still reject later
    return Promise.reject(abortError(signal, what))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, what))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}
