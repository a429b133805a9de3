/**
 * Turns whatever a loader threw (jiti, parse-json, js-yaml, the user's own
 * code) into one line that names the cause and, when it can, the line.
 */
import { dirname, extname, isAbsolute, relative, sep } from 'node:path'
import { ConfigError } from '../errors.js'

/** A ConfigError with one issue: `cannot load <file>: <reason>`. */
export function loadError(file: string, cwd: string, reason: string, cause?: unknown): ConfigError {
  const shown = relative(cwd, file)
  const name = !shown || shown.startsWith('..') || isAbsolute(shown) ? file : shown
  const error = new ConfigError([{ path: '', message: `cannot load ${name}: ${reason}` }], file)
  // Kept for debugging, as the standard (non-enumerable) `cause`; the message is what users see.
  if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true })
  return error
}

// Lines of a code frame (`> 3 | host: x`, `    |   ^`): the terminal is no place for them.
const CODE_FRAME = /^(>?\s*\d*\s*\|)|^-+\^$/

/** One line a person can act on, without the loader's stack or code frame. */
export function describeLoadError(error: unknown, file: string): string {
  if (!(error instanceof Error)) return String(error)
  if (error.message.startsWith('No loader specified')) {
    return `unsupported file type ${extname(file) || '(no extension)'}; use .ts, .mts, .js, .mjs, .cjs, .json, .yaml or .yml`
  }
  // cosmiconfig says "JSON Error in <file>:" first; the file is named already.
  const format = /^(JSON|YAML) Error in /.exec(error.message)?.[1]
  const lines = error.message
    .replace(/^(JSON|YAML) Error in [^\n]*?:\s*\n/, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !CODE_FRAME.test(line))
    // jiti puts the position of a syntax error on a line of its own: `<file>:4:25`.
    .map((line) => (line.startsWith(`${file}:`) ? line.replace(/^.*:(\d+):(\d+)$/, '(line $1, column $2)') : line))
  if (format) return `invalid ${format}: ${lines[0]?.replace(/ while parsing .*$/, '') ?? 'cannot parse'}`
  // Node appends the files that required a missing module; the position below says it better.
  const end = lines.findIndex((line) => line.startsWith('Require stack:'))
  const text = lines
    .slice(0, end === -1 ? 2 : Math.min(end, 2))
    .join(' ')
    .replace(/^ParseError: /, 'syntax error: ')
  const head = error.name !== 'Error' && !text.startsWith(error.name) && !text.startsWith('syntax error') ? `${error.name}: ` : ''
  const where = error.message.includes(file) && !error.message.includes('Require stack:') ? undefined : userFrame(error.stack, file)
  return `${head}${text}${where ? ` (${where})` : ''}`
}

/**
 * `line 3`, or `recipes/podcast.ts line 2`: the first stack frame in the
 * config's folder (the config or a module it imports), not in a dependency.
 * Import lines are moved by the transform, so a line is a hint, not a promise.
 */
function userFrame(stack: string | undefined, file: string): string | undefined {
  const dir = dirname(file)
  for (const frame of stack?.split('\n').slice(1) ?? []) {
    const m = /\(?((?:file:\/\/)?\/[^()]*?):(\d+):\d+\)?\s*$/.exec(frame)
    const path = m?.[1]?.replace(/^file:\/\//, '')
    if (!path?.startsWith(dir + sep) || path.includes(`${sep}node_modules${sep}`)) continue
    return path === file ? `line ${m![2]}` : `${relative(dir, path)} line ${m![2]}`
  }
  return undefined
}
