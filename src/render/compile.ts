import Handlebars from 'handlebars'
import type { HelperDelegate } from 'handlebars'
import type { EscapeMode } from '../types.js'
import { ESCAPE_HELPER, prepareAst } from './ast.js'
import { escapeValue } from './escape.js'
import { builtinHelpers, guardHelper } from './helpers.js'

export type Template = HandlebarsTemplateDelegate

/** A compiled template, or why there is none (one message per problem). */
export type Compiled = { template: Template; problems: [] } | { template?: undefined; problems: string[] }

// Handlebars's own plumbing, never named in templates or in messages.
// Handlebars prints prototype-access denials (a payload naming `constructor`, say) to the console;
// they are expected and harmless here, and must not break the JSON log lines.
;(Handlebars as unknown as { logger: { log: (...args: unknown[]) => void } }).logger.log = () => {}

const INTERNAL = new Set([ESCAPE_HELPER, 'helperMissing', 'blockHelperMissing'])

/**
 * An isolated Handlebars environment with our helpers, and a compile step
 * that rejects at load time what would otherwise only fail at render time.
 */
export function createCompiler({ helpers = {} }: { helpers?: Record<string, HelperDelegate> } = {}) {
  // Never the global instance: a plugin registering helpers there must not change our templates.
  const env = Handlebars.create()
  for (const [name, fn] of Object.entries({ ...builtinHelpers, ...helpers })) env.registerHelper(name, guardHelper(name, fn))
  env.registerHelper(ESCAPE_HELPER, (value: unknown, options: Handlebars.HelperOptions) =>
    escapeValue(value, (options.data as { escape?: EscapeMode } | undefined)?.escape ?? 'none'),
  )
  const isHelper = (name: string) => Object.hasOwn(env.helpers, name)
  const known = Object.keys(env.helpers).filter((name) => !INTERNAL.has(name)).sort()
  const hint = `; known helpers: ${known.join(', ')}`

  function compileSource(source: string): Compiled {
    let ast: hbs.AST.Program
    try {
      // Unprocessed: `compile` applies whitespace control itself, and must do it only once.
      ast = env.parseWithoutProcessing(source)
    } catch (err) {
      return { problems: [describeParseError(err)] }
    }
    const problems = prepareAst(ast, { isHelper, hint })
    if (problems.length > 0) return { problems }
    return { template: env.compile(ast, { noEscape: true }), problems: [] }
  }

  return { compileSource, helperNames: known }
}

/** Data frames reach nested blocks (`#each`), so the escape helper sees the mode everywhere. */
const RUN_OPTIONS: Record<EscapeMode, Handlebars.RuntimeOptions> = {
  none: Object.freeze({ data: Object.freeze({ escape: 'none' }) }),
  html: Object.freeze({ data: Object.freeze({ escape: 'html' }) }),
  slack: Object.freeze({ data: Object.freeze({ escape: 'slack' }) }),
}

/** Runs a compiled template for one destination. */
export function run(template: Template, ctx: unknown, escape: EscapeMode): string {
  return template(ctx, RUN_OPTIONS[escape] ?? RUN_OPTIONS.none)
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
