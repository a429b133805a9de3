/**
 * One error family. Every error has a stable `code`, and an HTTP `status`
 * where it maps to one; the standard `cause` carries the underlying error.
 */
export class RunnerError extends Error {
  readonly code: string
  readonly status?: number
  constructor(code: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    if (options.status !== undefined) this.status = options.status
  }
}

/** One problem in the config, with its path (`recipes[2].do[0].with.channel`). */
export interface ConfigIssue {
  path: string
  message: string
}

/** The config is invalid; `issues` lists every problem at once. */
export class ConfigError extends RunnerError {
  readonly issues: ConfigIssue[]
  readonly filepath?: string
  constructor(issues: ConfigIssue[], filepath?: string) {
    const where = filepath ? ` in ${filepath}` : ''
    const lines = issues.map((i) => (i.path ? `  ${i.path}: ${i.message}` : `  ${i.message}`))
    super('config_invalid', `${issues.length} problem${issues.length === 1 ? '' : 's'}${where}:\n${lines.join('\n')}`)
    this.issues = issues
    if (filepath) this.filepath = filepath
  }
}

/** A webhook request the receiver refuses; `status` is the HTTP answer. */
export class HttpError extends RunnerError {
  readonly headers?: Record<string, string>
  constructor(status: number, code: string, message: string, headers?: Record<string, string>) {
    super(code, message, { status })
    if (headers) this.headers = headers
  }
}

/** Thrown by an action: the step fails for good, with no further attempt. */
export class PermanentError extends RunnerError {
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(options.code ?? 'permanent', message, { cause: options.cause })
  }
}

/** Thrown by an action: the step may succeed later, no sooner than `retryAfter` ms. */
export class RetryableError extends RunnerError {
  readonly retryAfter?: number
  constructor(message: string, options: { code?: string; retryAfter?: number; cause?: unknown } = {}) {
    super(options.code ?? 'retryable', message, { cause: options.cause })
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter
  }
}

/** The store cannot serve (not open, failing, or closing). Maps to 503. */
export class StoreUnavailableError extends RunnerError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('store_unavailable', message, { status: 503, cause: options.cause })
  }
}

/**
 * Plugins are loaded through jiti and may hold their own copy of this module,
 * so `instanceof` alone would miss their errors: the name decides too.
 */
export function isPermanentError(err: unknown): boolean {
  return err instanceof PermanentError || (err instanceof Error && err.name === 'PermanentError')
}

/** The `retryAfter` (ms) of a RetryableError, from any copy of this module. */
export function retryAfterOf(err: unknown): number | undefined {
  if (!(err instanceof Error) || err.name !== 'RetryableError') return undefined
  const ms = (err as { retryAfter?: unknown }).retryAfter
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined
}
