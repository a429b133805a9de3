import { readdirSync, readFileSync } from 'node:fs'
import type { Request, RequestHandler, Response } from 'express'
import Handlebars from 'handlebars'
import type { ConsoleService } from './service.js'
import { duration, isoTime, shortTime, utcTime } from './view-format.js'

/**
 * The console's Handlebars views: a private environment (the users' template
 * helpers never reach it, nor these theirs), every file compiled once when
 * the console loads. Pages render into `layout`; a partial renders alone as
 * a live fragment. Everything a view prints goes through `{{ }}` (escaped):
 * only the layout's `{{{body}}}` is raw, and that is HTML rendered here.
 */

const VIEWS = new URL('./views/', import.meta.url)

export interface Views {
  /** A page inside the layout. */
  page(name: string, model: object): string
  /** A partial alone (a live fragment). */
  fragment(name: string, model: object): string
}

export function createViews(dir: URL = VIEWS): Views {
  const hbs = Handlebars.create()
  for (const [name, helper] of Object.entries(helpers)) hbs.registerHelper(name, helper)
  const compile = (file: URL) => {
    const source = readFileSync(file, 'utf8')
    hbs.parse(source) // a template mistake fails the console's start, not a request
    return hbs.compile(source, { strict: false, preventIndent: true })
  }
  const partials = new Map<string, Handlebars.TemplateDelegate>()
  const pages = new Map<string, Handlebars.TemplateDelegate>()
  for (const file of hbsFiles(new URL('partials/', dir))) {
    const template = compile(new URL(`partials/${file}`, dir))
    hbs.registerPartial(file.slice(0, -4), template)
    partials.set(file.slice(0, -4), template)
  }
  for (const file of hbsFiles(dir)) pages.set(file.slice(0, -4), compile(new URL(file, dir)))
  const layout = pages.get('layout')
  if (!layout) throw new Error('the console views have no layout.hbs')
  const get = (map: Map<string, Handlebars.TemplateDelegate>, name: string) => {
    const template = map.get(name)
    if (!template) throw new Error(`no console view "${name}"`)
    return template
  }
  return {
    page: (name, model) => layout({ ...model, body: get(pages, name)(model) }),
    fragment: (name, model) => get(partials, name)(model),
  }
}

function hbsFiles(dir: URL): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hbs'))
    .sort()
}

const helpers: Record<string, Handlebars.HelperDelegate> = {
  eq: (a: unknown, b: unknown) => a === b,
  iso: (ms: unknown) => (typeof ms === 'number' ? isoTime(ms) : ''),
  time: (ms: unknown) => (typeof ms === 'number' ? utcTime(ms) : ''),
  clock: (ms: unknown) => (typeof ms === 'number' ? shortTime(ms) : ''),
  duration: (ms: unknown) => (typeof ms === 'number' ? duration(ms) : ''),
  join: (list: unknown) => (Array.isArray(list) ? list.join(', ') : ''),
  /** A state's badge color, from a fixed set (the word itself is always printed beside it). */
  tone: (state: unknown) => (typeof state === 'string' ? (TONES[state] ?? 'muted') : 'muted'),
}

const TONES: Record<string, string> = {
  done: 'ok',
  dead: 'bad',
  running: 'busy',
  pending: 'busy',
  retrying: 'busy',
  previewed: 'warn',
  skipped: 'muted',
  unmatched: 'muted',
  received: 'busy',
}

/** What every page and fragment needs beside the request's own (signed in, CSRF token): where links go, the asset URLs. */
export interface Chrome {
  base: string
  assets: { css: string; js: string }
}

export interface Renderer {
  page(req: Request, res: Response, name: string, model: { title: string; [key: string]: unknown }, status?: number): void
  fragment(req: Request, res: Response, name: string, model: object): void
}

export function createRenderer(views: Views, chrome: Chrome): Renderer {
  const common = (req: Request) => ({
    ...chrome,
    signedIn: Boolean(req.principal),
    csrf: req.principal?.via === 'cookie' ? req.principal.csrf : undefined,
  })
  return {
    page(req, res, name, model, status = 200) {
      res
        .status(status)
        .type('html')
        .send(views.page(name, { ...common(req), ...model }))
    },
    fragment(req, res, name, model) {
      res.type('html').send(views.fragment(name, { ...common(req), ...model }))
    },
  }
}

/** What each group of page routes works with. */
export interface Kit {
  service: ConsoleService
  render: Renderer
  /** Where the console is mounted (`/admin`): every link starts with it. */
  base: string
  /** Form body parsing, then the CSRF check: for every POST from a page. */
  form: RequestHandler[]
}

/** A path segment from data (an id), encoded. */
export const seg = (id: string) => encodeURIComponent(id)

/** The last reload when it failed (the old config still runs): times as numbers, as every page shows them. */
export function reloadModel(service: ConsoleService) {
  const last = service.lastReload()
  return last && !last.ok ? { ...last, at: Date.parse(last.at) } : undefined
}
