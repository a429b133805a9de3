import { randomUUID } from 'node:crypto'
import { RunnerError } from '../errors.js'
import type { ActionContext, EscapeMode, Logger } from '../types.js'
import { titleFixture } from './fixture.js'

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error'
  msg?: string
  [field: string]: unknown
}

export interface TestContextOptions<S = Record<string, unknown>> extends Partial<Omit<ActionContext<S>, 'log' | 'renderTemplate'>> {
  /** Templates by name for `renderTemplate`: the rendered text, or a function of the escape mode. Others are `template_not_found`. */
  templates?: Record<string, string | ((mode: EscapeMode) => string)>
  /** Collect log lines into this array (e.g. one shared by several contexts). */
  logs?: LogLine[]
}

/** A real ActionContext, plus what a test wants to look at. */
export interface TestContext<S = Record<string, unknown>> extends ActionContext<S> {
  /** Every line logged through `log` (and its children), oldest first. */
  logs: LogLine[]
  /** Abort `signal`, as a step timeout or shutdown would. */
  abort(reason?: unknown): void
}

function captureLogger(lines: LogLine[], bindings: Record<string, unknown>): Logger {
  const at =
    (level: LogLine['level']) =>
    (a: object | string, msg?: string): void => {
      lines.push(
        typeof a === 'string' ? { level, ...bindings, msg: a } : { level, ...bindings, ...a, ...(msg === undefined ? {} : { msg }) },
      )
    }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => captureLogger(lines, { ...bindings, ...more }),
  } as Logger
}

/**
 * An ActionContext for calling a plugin's `run` or `preview` by hand: a real
 * AbortSignal, a logger that keeps its lines, a Title payload, a fresh run id.
 */
export function createTestContext<S = Record<string, unknown>>(options: TestContextOptions<S> = {}): TestContext<S> {
  const { templates = {}, signal: outer, logs = [], ...rest } = options
  const controller = new AbortController()
  if (outer) {
    if (outer.aborted) controller.abort(outer.reason)
    else outer.addEventListener('abort', () => controller.abort(outer.reason), { once: true })
  }
  return {
    event: { id: `evt_${randomUUID()}`, type: 'title-ready', receivedAt: new Date().toISOString() },
    payload: titleFixture(),
    settings: {} as S,
    attempt: 1,
    runId: `run_${randomUUID()}`,
    steps: {},
    dryRun: false,
    ...rest,
    signal: controller.signal,
    log: captureLogger(logs, {}),
    logs,
    abort: (reason?: unknown) => controller.abort(reason ?? new RunnerError('aborted', 'aborted by the test')),
    renderTemplate(name, mode = 'none') {
      const t = templates[name]
      if (t === undefined) throw new RunnerError('template_not_found', `template "${name}" not found`)
      return typeof t === 'function' ? t(mode) : t
    },
  }
}
