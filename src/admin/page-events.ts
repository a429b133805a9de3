import type { Request, Response, Router } from 'express'
import { RunnerError } from '../errors.js'
import type { EventDetail, EventPage, EventSearch } from '../queue/inspect.js'
import { canRetry, EVENT_STATUSES, isOpen } from '../queue/rules.js'
import { EVENT_TYPES } from '../types.js'
import { type Kit, seg } from './page-render.js'
import { parseSearch } from './service.js'
import { jsonTree, prettyJson } from './view-json.js'

/**
 * `/events`: the filterable list (`?fragment=list` is its table and pager,
 * for live updates of the first page), and `/events/:id`: one event, its
 * payload and each recipe's steps (`?fragment=live` is its status and runs).
 */

export interface Notice {
  kind: 'ok' | 'error'
  text: string
}

/** Notices a redirect may ask for by name: fixed sentences, so a link cannot put words on the page. */
const NOTICES: Record<string, Notice> = {
  retried: { kind: 'ok', text: 'Retry scheduled: the run is due now. This page follows it as it runs.' },
  replayed: { kind: 'ok', text: 'Replayed: this is a new event with the same payload, and its recipes run again.' },
}

const FILTERS = ['status', 'type', 'recipe', 'q'] as const

export function eventsRoutes(router: Router, kit: Kit): void {
  const { service, render, base } = kit
  router.get('/events', async (req, res) => {
    const query = req.query as Record<string, unknown>
    let page: EventPage = { events: [], next: null }
    let search: EventSearch = {}
    let error: string | undefined
    try {
      search = parseSearch(query, service.recipeNames())
      page = await service.events(search)
    } catch (err) {
      if (!(err instanceof RunnerError) || err.status !== 400) throw err
      error = `These filters do not work: ${err.message}`
    }
    const filters = Object.fromEntries(FILTERS.flatMap((k) => (typeof query[k] === 'string' && query[k] ? [[k, query[k] as string]] : [])))
    const size: Record<string, string> = typeof query.limit === 'string' && query.limit ? { limit: query.limit } : {}
    const link = (extra: Record<string, string>) => `${base}/events?${new URLSearchParams({ ...filters, ...size, ...extra })}`
    const rows = page.events.map((e) => ({ ...e, href: `${base}/events/${seg(e.id)}` }))
    const model = {
      rows,
      filtered: Object.keys(filters).length > 0,
      filters: {
        statuses: options(EVENT_STATUSES, filters.status),
        types: options(EVENT_TYPES, filters.type),
        recipes: options(service.recipeNames(), filters.recipe),
        q: filters.q ?? '',
      },
      error,
      older: page.next ? link({ before: page.next }) : undefined,
      newest: search.before ? link({}) : undefined,
      // Only the first page follows new events: older pages stay still while read.
      live: search.before || error ? undefined : link({ fragment: 'list' }),
    }
    if (query.fragment === 'list') return render.fragment(req, res, 'event-list', model)
    render.page(req, res, 'events', { title: 'Events', nav: 'events', ...model }, error ? 400 : 200)
  })

  router.get('/events/:id', async (req, res) => {
    const notice = typeof req.query.notice === 'string' ? NOTICES[req.query.notice] : undefined
    if (req.query.fragment === 'live') return render.fragment(req, res, 'event-live', eventModel(await service.event(req.params.id), base))
    await showEvent(kit, req, res, req.params.id, notice)
  })
}

/** The event page, with a notice (what a retry from it did, or why it was refused). */
export async function showEvent(kit: Kit, req: Request, res: Response, id: string, notice?: Notice, status = 200): Promise<void> {
  const model = eventModel(await kit.service.event(id), kit.base)
  const title = model.event.title ?? `${model.event.type} event`
  kit.render.page(req, res, 'event', { title, nav: 'events', notice, ...model }, status)
}

function eventModel({ event, runs }: EventDetail, base: string) {
  const byRecipe = new Map<string, Array<ReturnType<typeof runModel>>>()
  for (const run of runs) {
    const list = byRecipe.get(run.recipe) ?? []
    list.push(runModel(run, base))
    byRecipe.set(run.recipe, list)
  }
  return {
    event: { ...event, payload: undefined },
    recipes: [...byRecipe].map(([name, list]) => ({ name, runs: list })),
    tree: jsonTree(event.payload),
    raw: prettyJson(event.payload, 200_000),
    replay: `${base}/events/${seg(event.id)}/replay`,
    live: `${base}/events/${seg(event.id)}?fragment=live`,
  }
}

function runModel(run: EventDetail['runs'][number], base: string) {
  // A skipped run's `error` says why it was skipped: a reason, not a failure.
  const skipped = run.state === 'skipped'
  return {
    ...run,
    error: skipped ? undefined : run.error,
    reason: skipped ? run.error : undefined,
    input: prettyJson(run.input),
    result: prettyJson(run.result),
    elapsed: run.updatedAt - run.createdAt,
    due: isOpen(run.state),
    retryable: canRetry(run.state),
    retry: `${base}/runs/${seg(run.id)}/retry`,
  }
}

function options(values: readonly string[], selected: string | undefined) {
  return values.map((value) => ({ value, selected: value === selected }))
}
