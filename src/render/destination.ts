/**
 * The whole-value rules of the escape modes, applied to one templated leaf of
 * a step's input after it rendered. Per-expression escaping happens inside
 * the template (`escape.ts`); these rules need the finished value: is it one
 * address, does a program argument start with an option from a value, is a
 * URL taken whole an http(s) URL, which JSON type does a lone expression have.
 */
import Handlebars from 'handlebars'
import addressparser from 'nodemailer/lib/addressparser/index.js'
import type { EscapeMode } from '../types.js'
import { EncodedComponent, ValueRefused } from './escape.js'
import { run, runMarked, type Shape, type Sink, type Template } from './compile.js'
import { slackText } from './slack-text.js'
import { checkedUrl } from './url-segments.js'
import { toText, truncate } from './text.js'

export function renderLeaf(template: Template, shape: Shape, ctx: unknown, mode: EscapeMode, path: string): unknown {
  switch (mode) {
    case 'json': {
      if (!shape.single) return run(template, ctx, mode)
      const sink: Sink = {}
      const text = run(template, ctx, mode, sink)
      return jsonValue(sink.value, text)
    }
    case 'url': {
      if (!shape.single) return checkedUrl(runMarked(template, ctx, mode), path)
      const sink: Sink = {}
      run(template, ctx, 'none', sink)
      return wholeUrl(sink.value, path)
    }
    case 'address':
      return oneAddress(run(template, ctx, mode), path)
    case 'arg':
      return programArg(run(template, ctx, mode), shape, path)
    case 'slack':
      return slackText(runMarked(template, ctx, mode))
    default:
      return run(template, ctx, mode)
  }
}

const shown = (text: string) => JSON.stringify(truncate(text, 80))

/** `body: { id: '{{id}}' }` sends the number: a lone expression keeps its JSON type; a missing value is ''. */
function jsonValue(value: unknown, text: string): unknown {
  if (value === undefined) return ''
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : text
  if (value instanceof Handlebars.SafeString || value instanceof EncodedComponent) return text
  return typeof value === 'object' ? value : text
}

/** `url: '{{share.url}}'`: the value is the whole URL, so it must be one the action may call. */
function wholeUrl(value: unknown, path: string): string {
  const text = toText(value instanceof Handlebars.SafeString ? value.toHTML() : value).trim()
  if (!text) throw new ValueRefused('url_empty', `${path} rendered empty; it must be an absolute http(s) URL`, path)
  const url = URL.canParse(text) ? new URL(text) : undefined
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ValueRefused('url_invalid', `${path} rendered ${shown(text)}, which is not an absolute http(s) URL; refused`, path)
  }
  return text
}

const ADDRESS = /^[^\s@<>()[\],;:"\\]+@[^\s@<>()[\],;:"\\]+$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
const CONTROL = /[\u0000-\u001f\u007f]/

/** A templated recipient is exactly one address, never a list a value could extend. */
function oneAddress(text: string, path: string): string {
  if (CONTROL.test(text)) throw new ValueRefused('address_invalid', `${path} rendered a line break or control character; refused`, path)
  const found = addressparser(text, { flatten: true }) as Array<{ name: string; address: string }>
  const real = found.filter((a) => a.address)
  if (real.length === 0) {
    throw new ValueRefused(
      'address_empty',
      `${path} rendered ${text.trim() ? `${shown(text)}, which is no email address` : 'empty'}; it must be one address`,
      path,
    )
  }
  if (real.length > 1) {
    throw new ValueRefused(
      'address_many',
      `${path} rendered ${real.length} addresses (${shown(text)}); a templated recipient must be exactly one ` +
        "(list several in the config: ['a@example.com', '{{email}}'])",
      path,
    )
  }
  const [{ name, address }] = real as [{ name: string; address: string }]
  if (!ADDRESS.test(address))
    throw new ValueRefused('address_invalid', `${path} rendered ${shown(text)}, which is not a valid email address`, path)
  return name ? `${JSON.stringify(name)} <${address}>` : address
}

/** `args: ['{{id}}']` with id `--all` would be an option: refused unless the leading `-` is the config's own. */
function programArg(text: string, shape: Shape, path: string): string {
  if (text.startsWith('-') && !shape.lead.startsWith('-')) {
    throw new ValueRefused(
      'option_refused',
      `${path} rendered ${shown(text)}, which starts with "-" from a template value and would be read as an option; refused ` +
        '(set with.allowOptionArgs: true to allow it)',
      path,
    )
  }
  return text
}
