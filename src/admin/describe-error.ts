import { HttpError, RunnerError } from '../errors.js'

/** What a console request that failed answers: status, code and a message safe to show (unexpected errors say nothing of themselves). */
export function describe(err: unknown): { status: number; code: string; message: string; headers: Record<string, string> } {
  if (err instanceof RunnerError && err.status)
    return { status: err.status, code: err.code, message: err.message, headers: (err instanceof HttpError && err.headers) || {} }
  // body-parser's own errors: too large, not JSON.
  const e = err as { status?: number; type?: string; expose?: boolean; message?: string }
  if (e?.type === 'entity.too.large')
    return { status: 413, code: 'payload_too_large', message: 'the body is over server.bodyLimit', headers: {} }
  if (e?.type === 'entity.parse.failed') return { status: 400, code: 'invalid_json', message: 'the body is not valid JSON', headers: {} }
  if (e?.expose && e.status && e.status < 500)
    return { status: e.status, code: 'bad_request', message: e.message ?? 'bad request', headers: {} }
  return { status: 500, code: 'internal', message: 'something went wrong; the log has the details', headers: {} }
}
