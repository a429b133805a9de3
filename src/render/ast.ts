/**
 * Load-time work on a parsed template: find what would only fail at render
 * time (unknown helpers, partials) and route every escaped `{{…}}` through the
 * escape helper, so one compiled template can be rendered for Slack, HTML or
 * plain text. Handlebars hard-wires HTML escaping; compiling with `noEscape`
 * and escaping in a helper is the only way to choose per render.
 */

/** The internal helper every escaped mustache is rewritten to call. */
export const ESCAPE_HELPER = '__esc'
/** The internal helper every raw (`{{{…}}}`) mustache is rewritten to call: it sees the value, unescaped. */
export const RAW_HELPER = '__raw'

type Node = hbs.AST.Node
type Sexpr = hbs.AST.MustacheStatement | hbs.AST.BlockStatement | hbs.AST.SubExpression

export interface PrepareOptions {
  /** Whether a helper of this name is registered. */
  isHelper(name: string): boolean
  /** Appended to an unknown-helper problem, e.g. the list of known helpers. */
  hint?: string
}

interface Walk extends PrepareOptions {
  problems: string[]
}

/** Rewrites `ast` in place; returns what is wrong with it (empty when fine). */
export function prepareAst(ast: hbs.AST.Program, options: PrepareOptions): string[] {
  const walk: Walk = { ...options, problems: [] }
  program(walk, ast, [])
  return walk.problems
}

function program(walk: Walk, node: hbs.AST.Program | undefined, scope: string[]): void {
  if (!node) return
  const inner = node.blockParams?.length ? [...scope, ...node.blockParams] : scope
  node.body = node.body.map((statement) => visit(walk, statement, inner))
}

function visit(walk: Walk, node: Node, scope: string[]): Node {
  switch (node.type) {
    case 'MustacheStatement': {
      const mustache = node as hbs.AST.MustacheStatement
      call(walk, mustache, scope)
      return wrap(walk, mustache, scope, mustache.escaped ? ESCAPE_HELPER : RAW_HELPER)
    }
    case 'BlockStatement': {
      const block = node as hbs.AST.BlockStatement
      call(walk, block, scope)
      program(walk, block.program, scope)
      program(walk, block.inverse, scope)
      return block
    }
    case 'PartialStatement':
    case 'PartialBlockStatement':
      walk.problems.push(`partials ({{> …}}) are not supported${at(node)}`)
      return node
    case 'Decorator':
    case 'DecoratorBlock':
      walk.problems.push(`decorators ({{* …}}) are not supported${at(node)}`)
      return node
    default:
      return node
  }
}

/** Checks a call and its nested subexpressions. */
function call(walk: Walk, node: Sexpr, scope: string[]): void {
  const name = helperName(node, scope)
  if (name !== undefined && !walk.isHelper(name)) walk.problems.push(`unknown helper "${name}"${at(node)}${walk.hint ?? ''}`)
  const hashValues = node.hash?.pairs.map((pair) => pair.value) ?? []
  for (const param of [...(node.params ?? []), ...hashValues]) {
    if (param.type === 'SubExpression') call(walk, param as hbs.AST.SubExpression, scope)
  }
}

/** The helper a node calls, if it is certainly a call (it has arguments, or is a subexpression). */
function helperName(node: Sexpr, scope: string[]): string | undefined {
  const hasArgs = (node.params?.length ?? 0) > 0 || node.hash != null
  if (node.type !== 'SubExpression' && !hasArgs) return undefined
  const path = asPath(node.path)
  // `{{#each xs as |fmt|}}{{fmt x}}` calls a block param: not ours to judge.
  if (path.parts.length === 1 && path.depth === 0 && !path.data && scope.includes(path.original)) return undefined
  return path.original
}

/** `{{expr}}` → `{{helper expr}}`: every value passes through our helpers, which escape it for its destination. */
function wrap(walk: Walk, node: hbs.AST.MustacheStatement, scope: string[], helper: string): hbs.AST.MustacheStatement {
  const path = asPath(node.path)
  // Mirrors Handlebars's own `simpleId` test.
  const simple = path.parts.length === 1 && path.depth === 0 && !path.data && !/^\.|this\b/.test(path.original)
  // `{{upper}}` with no arguments still calls the helper when one has that name.
  const isCall =
    (node.params?.length ?? 0) > 0 || node.hash != null || (simple && !scope.includes(path.original) && walk.isHelper(path.original))
  const subject: hbs.AST.Expression = isCall
    ? ({ type: 'SubExpression', path, params: node.params, hash: node.hash, loc: node.loc } as hbs.AST.SubExpression)
    : path
  // The typings call `hash` required; Handlebars's own parser leaves it undefined when there is none.
  return { ...node, path: makePath(helper, node.loc), params: [subject], hash: undefined as never, escaped: false }
}

/** Handlebars reads `{{"a b"}}` or `{{true}}` as the field of that name; so do we. */
function asPath(path: hbs.AST.PathExpression | hbs.AST.Literal): hbs.AST.PathExpression {
  if (path.type === 'PathExpression') return path as hbs.AST.PathExpression
  const original = (path as { original?: unknown }).original
  return makePath(String(original), path.loc)
}

function makePath(name: string, loc: hbs.AST.SourceLocation): hbs.AST.PathExpression {
  return { type: 'PathExpression', data: false, depth: 0, parts: [name], original: name, loc }
}

function at(node: Node): string {
  return node.loc ? ` (line ${node.loc.start.line}, column ${node.loc.start.column + 1})` : ''
}
