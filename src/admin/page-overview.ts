import type { Router } from 'express'
import type { EventStatus } from '../queue/rules.js'
import { type Kit, reloadModel, seg } from './page-render.js'
import type { ConsoleService } from './service.js'
import { chart } from './view-chart.js'

/**
 * `/`: the last day at a glance (events by status, the queue, deliveries
 * and outcomes as charts) and the dead runs that need someone, each with a
 * Retry button. `?fragment=overview` is the live part alone.
 */

const CARDS: readonly EventStatus[] = ['received', 'unmatched', 'running', 'done', 'dead', 'previewed']
const MINUTE = 60_000
const HOUR = 60 * MINUTE
/** Dead events of the last day shown under "Needs attention": each costs one read of its runs. */
const ATTENTION = 10

export function overviewRoutes(router: Router, kit: Kit): void {
  const { render, base } = kit
  router.get('/', async (req, res) => {
    const model = await overviewModel(kit)
    if (req.query.fragment === 'overview') return render.fragment(req, res, 'overview-live', model)
    render.page(req, res, 'overview', { title: 'Overview', nav: 'overview', live: `${base}/?fragment=overview`, ...model })
  })
}

async function overviewModel({ service, base }: Kit) {
  const [stats, attention] = await Promise.all([service.stats(), needsAttention(service, base)])
  const { queue } = stats
  return {
    cards: CARDS.map((status) => ({ status, count: stats.events[status], href: `${base}/events?status=${status}` })),
    queue: [
      { label: 'Scheduled', value: queue.scheduled },
      { label: 'Due now', value: queue.due },
      { label: 'Running', value: queue.running },
      { label: 'Waiting for a slot', value: queue.waiting },
    ],
    oldestDueAt: queue.oldestDueAt,
    charts: [chart('hour', 'Last hour, per minute', stats.perMinute, MINUTE), chart('day', 'Last 24 hours, per hour', stats.perHour, HOUR)],
    attention,
    truncated: stats.truncated,
    reload: reloadModel(service),
  }
}

/** The newest dead events and their dead runs. */
async function needsAttention(service: ConsoleService, base: string) {
  const details = await service.deadEvents(ATTENTION)
  return details.flatMap(({ event, runs }) => {
    const dead = runs.filter((r) => r.state === 'dead').map((r) => ({ ...r, retry: `${base}/runs/${seg(r.id)}/retry` }))
    return dead.length ? [{ ...event, payload: undefined, href: `${base}/events/${seg(event.id)}`, runs: dead }] : []
  })
}
