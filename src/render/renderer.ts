import type { HelperDelegate } from 'handlebars'
import type { ConfigIssue } from '../errors.js'
import { RunnerError } from '../errors.js'
import type { EscapeMode, EscapeSpec, InputPath, TemplateContext } from '../types.js'
import { createCompiler, run } from './compile.js'
import type { Shape, Template } from './compile.js'
import { renderLeaf } from './destination.js'
import { modeAt, ValueRefused } from './escape.js'
import { createTemplateFiles } from './template-files.js'

/** One string of the config, ready to render: a template, or text without `{{`. */
export type CompiledString =
  | { readonly kind: 'template'; readonly path: string; readonly template: Template; readonly shape: Shape }
  | { readonly kind: 'value'; readonly value: unknown }

/** A step's `with`, compiled: the same shape, with every string a compiled template. */
export type CompiledInput =
  | CompiledString
  | { readonly kind: 'array'; readonly items: readonly CompiledInput[] }
  | { readonly kind: 'object'; readonly entries: ReadonlyArray<readonly [string, CompiledInput]> }

export interface RendererOptions {
  /** Folder of named templates (`recipes/templates`). */
  templatesDir: string
  /** Extra helpers, registered next to the built-in ones. */
  helpers?: Record<string, HelperDelegate>
}

export type Renderer = ReturnType<typeof createRenderer>

/** Config-style path of a child: `with.text`, `with["x-y"]`, `with.blocks[0]`. */
function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return path ? `${path}.${key}` : key
  return `${path}[${JSON.stringify(key)}]`
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function renderFailed(where: string, err: unknown): RunnerError {
  // A refusal by the destination rules is not a template that failed: it keeps its own words.
  if (err instanceof ValueRefused) return err.field ? err : new ValueRefused(err.code, `${where}: ${err.message}`, where)
  const helperFailed = err instanceof RunnerError && err.code === 'helper_failed'
  const reason = err instanceof Error ? err.message : String(err)
  return new RunnerError('render_failed', `${where} did not render: ${reason}`, {
    cause: helperFailed ? err.cause : err,
  })
}

/**
 * Templates compile once, when the config loads, and render many times.
 * Problems found while compiling go to `issues` (all of them, with their
 * config path); problems while rendering throw `render_failed`.
 */
export function createRenderer({ templatesDir, helpers }: RendererOptions) {
  const { compileSource, helperNames } = createCompiler({ helpers })
  const files = createTemplateFiles(templatesDir, compileSource)

  /** Compiles one template string (e.g. a once/debounce key); problems go to `issues` under `path`. */
  function compileString(source: string, path: string, issues: ConfigIssue[]): CompiledString {
    // No `{{`, no template: the text renders as itself.
    if (!source.includes('{{')) return { kind: 'value', value: source }
    const compiled = compileSource(source)
    if (compiled.template) return { kind: 'template', path, template: compiled.template, shape: compiled.shape }
    for (const problem of compiled.problems) issues.push({ path, message: `template does not compile: ${problem}` })
    return { kind: 'value', value: source }
  }

  /** Compiles every string of a step's `with` tree, once, at config load. */
  function compileInput(value: unknown, path: string, issues: ConfigIssue[]): CompiledInput {
    if (typeof value === 'string') return compileString(value, path, issues)
    if (Array.isArray(value)) {
      return { kind: 'array', items: value.map((item, i) => compileInput(item, childPath(path, i), issues)) }
    }
    if (isPlainObject(value)) {
      const entries = Object.keys(value).map((key) => [key, compileInput(value[key], childPath(path, key), issues)] as const)
      return { kind: 'object', entries }
    }
    return { kind: 'value', value }
  }

  /** Renders one compiled string; unescaped unless told otherwise. */
  function renderString(compiled: CompiledString, ctx: TemplateContext, mode: EscapeMode = 'none'): string {
    if (compiled.kind === 'value') return typeof compiled.value === 'string' ? compiled.value : String(compiled.value ?? '')
    try {
      return run(compiled.template, ctx, mode)
    } catch (err) {
      throw renderFailed(compiled.path, err)
    }
  }

  function renderNode(
    node: CompiledInput,
    ctx: TemplateContext,
    modeOf: (path: InputPath) => EscapeMode,
    path: Array<string | number>,
  ): unknown {
    switch (node.kind) {
      case 'value':
        return node.value
      case 'template':
        try {
          return renderLeaf(node.template, node.shape, ctx, modeOf(path), node.path)
        } catch (err) {
          throw renderFailed(node.path, err)
        }
      case 'array':
        return node.items.map((item, i) => renderNode(item, ctx, modeOf, [...path, i]))
      case 'object':
        // fromEntries defines keys, so a `__proto__` key stays data instead of setting the prototype.
        return Object.fromEntries(node.entries.map(([key, child]) => [key, renderNode(child, ctx, modeOf, [...path, key])]))
    }
  }

  /**
   * Renders leaf by leaf, each for where it goes: `spec` is a plugin's `escape`
   * (one mode, a mode per top-level field, or a function of the leaf's path
   * and `input`, the step's `with` as written in the config).
   */
  function render(
    compiled: CompiledInput,
    ctx: TemplateContext,
    spec: EscapeSpec = 'none',
    input: Readonly<Record<string, unknown>> = {},
  ): unknown {
    return renderNode(compiled, ctx, (path) => modeAt(spec, path, input), [])
  }

  /** Renders `<templatesDir>/<name>.hbs`; HTML-escaped unless told otherwise. */
  function renderTemplate(name: string, ctx: TemplateContext, mode: EscapeMode = 'html'): string {
    const template = files.load(name)
    try {
      return run(template, ctx, mode)
    } catch (err) {
      throw renderFailed(`template "${name}"`, err)
    }
  }

  /** Load-time check of a named template: missing, badly named or not compiling is an issue. */
  function checkTemplate(name: string, path: string, issues: ConfigIssue[]): void {
    try {
      files.load(name)
    } catch (err) {
      issues.push({ path, message: err instanceof Error ? err.message : String(err) })
    }
  }

  return { compileInput, compileString, render, renderString, renderTemplate, hasTemplate: files.has, checkTemplate, helperNames }
}
