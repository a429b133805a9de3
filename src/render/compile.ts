import Handlebars from 'handlebars'
import type { HelperDelegate } from 'handlebars'
import type { EscapeMode } from '../types.js'
import { ESCAPE_HELPER, prepareAst, RAW_HELPER } from './ast.js'
import { escapeValue, markValue, rawText } from './escape.js'
import { builtinHelpers, guardHelper } from './helpers.js'

export type Template = HandlebarsTemplateDelegate

/** What the destination checks need to know of a template's source. */
export interface Shape {
  /** The whole template is one expression (`'{{share.url}}'`): its value can be taken whole. */
  single: boolean
  /** Literal text before the first expression or block ('' when the template starts with one). */
  lead: string
}

/** A compiled template, or why there is none (one message per problem). */
export type Compiled = { template: Template; shape: Shape; problems: [] } | { template?: undefined; problems: string[] }

/** Receives the raw value of the last expression rendered (for `single` templates: the only one). */
export interface Sink {
  value?: unknown
}

interface RunData {
  escape?: EscapeMode
  sink?: Sink
  /** Each value between marks (marks.ts), for destinations that check where values landed. */
  mark?: boolean
}
// Handlebars's own plumbing, never named in templates or in messages.
// Handlebars prints prototype-access denials (a payload naming `constructor`, say) to the console;
// they are expected and harmless here, and must not break the JSON log lines.
;(Handlebars as unknown as { logger: { log: (...args: unknown[]) => void } }).logger.log = () => {}

const INTERNAL = new Set([ESCAPE_HELPER, RAW_HELPER, 'helperMissing', 'blockHelperMissing'])

/**
 * An isolated Handlebars environment with our helpers, and a compile step
 * that rejects at load time what would otherwise only fail at render time.
 */
export function createCompiler({ helpers = {} }: { helpers?: Record<string, HelperDelegate> } = {}) {
  // Never the global instance: a plugin registering helpers there must not change our templates.
  const env = Handlebars.create()
  for (const [name, fn] of Object.entries({ ...builtinHelpers, ...helpers })) env.registerHelper(name, guardHelper(name, fn))
  env.registerHelper(ESCAPE_HELPER, (value: unknown, options: Handlebars.HelperOptions) => {
    const data = options.data as RunData | undefined
    if (data?.sink) data.sink.value = value
    if (data?.mark) return markValue(value, data.escape ?? 'none', false)
    return escapeValue(value, data?.escape ?? 'none')
  })
  // `{{{x}}}` is the author's explicit request for the value unescaped.
  env.registerHelper(RAW_HELPER, (value: unknown, options: Handlebars.HelperOptions) => {
    const data = options.data as RunData | undefined
    if (data?.sink) data.sink.value = value
    if (data?.mark) return markValue(value, data.escape ?? 'none', true)
    return rawText(value)
  })
  const isHelper = (name: string) => Object.hasOwn(env.helpers, name)
  const known = Object.keys(env.helpers)
    .filter((name) => !INTERNAL.has(name))
    .sort()
  const hint = `; known helpers: ${known.join(', ')}`

  function compileSource(source: string): Compiled {
    let ast: hbs.AST.Program
    try {
      // Unprocessed: `compile` applies whitespace control itself, and must do it only once.
      ast = env.parseWithoutProcessing(source)
    } catch (err) {
      return { problems: [describeParseError(err)] }
    }
    const shape = shapeOf(ast)
    const problems = prepareAst(ast, { isHelper, hint })
    if (problems.length > 0) return { problems }
    return { template: env.compile(ast, { noEscape: true }), shape, problems: [] }
  }

  return { compileSource, helperNames: known }
}

function shapeOf(ast: hbs.AST.Program): Shape {
  const [first] = ast.body
  const single = ast.body.length === 1 && first?.type === 'MustacheStatement'
  const lead = first?.type === 'ContentStatement' ? (first as hbs.AST.ContentStatement).value : ''
  return { single, lead }
}

/** Per-expression escaping of each mode; the whole-value checks of the others are the renderer's. */
const EXPRESSION_MODE: Record<EscapeMode, EscapeMode> = {
  none: 'none',
  html: 'html',
  slack: 'slack',
  url: 'url',
  json: 'none',
  address: 'none',
  arg: 'none',
}

// Data frames reach nested blocks (`#each`), so the escape helper sees the mode everywhere.
const RUN_OPTIONS = Object.fromEntries(
  Object.entries(EXPRESSION_MODE).map(([mode, perExpression]) => [mode, Object.freeze({ data: Object.freeze({ escape: perExpression }) })]),
) as Record<EscapeMode, Handlebars.RuntimeOptions>

/** Runs a compiled template for one destination; a `sink` receives the raw value of the (last) expression. */
export function run(template: Template, ctx: unknown, mode: EscapeMode, sink?: Sink): string {
  if (sink) return template(ctx, { data: { escape: EXPRESSION_MODE[mode] ?? 'none', sink } })
  return template(ctx, RUN_OPTIONS[mode] ?? RUN_OPTIONS.none)
}

/** Runs a template with each value between marks (marks.ts), escaped for `mode` per expression. */
export function runMarked(template: Template, ctx: unknown, mode: EscapeMode): string {
  return template(ctx, { data: { escape: EXPRESSION_MODE[mode] ?? 'none', mark: true } })
}

const TOKENS: Record<string, string> = {
  EOF: 'the template ends inside a block or mustache (a {{/…}} or }} is missing?)',
  INVALID: 'unexpected or unfinished expression',
  CLOSE: 'unexpected }}',
  CLOSE_UNESCAPED: 'unexpected }}}',
}

/** Jison's multi-line report, made one line a user can act on (ConfigError lists one issue a line). */
function describeParseError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  const m = /^Parse error on line (\d+):\n(.*)\n(-*)\^\n[\s\S]*?got '([^']+)'/.exec(message)
  if (!m) return message.replace(/\s*\n\s*/g, ' ')
  const [, line, excerpt = '', dashes = '', got = ''] = m
  const rest = excerpt.slice(dashes.length)
  const what = TOKENS[got] ?? `unexpected ${got}`
  return `parse error on line ${line} in "${excerpt}": ${what}${rest && got !== 'EOF' ? ` at "${rest.slice(0, 12)}"` : ''}`
}
