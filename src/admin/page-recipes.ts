import type { Router } from 'express'
import { type Kit, reloadModel, seg } from './page-render.js'

/** `/recipes`: each recipe as `check` prints it, with how its runs of the last day ended and the last one. */
export function recipesRoutes(router: Router, { service, render, base }: Kit): void {
  router.get('/recipes', async (req, res) => {
    const recipes = (await service.recipes()).map((r) => ({
      ...r,
      outcomes: Object.entries(r.last24h).map(([name, count]) => ({ name, count })),
      lastRun: r.lastRun ? { ...r.lastRun, href: `${base}/events/${seg(r.lastRun.eventId)}` } : undefined,
    }))
    render.page(req, res, 'recipes', { title: 'Recipes', nav: 'recipes', recipes, reload: reloadModel(service) })
  })
}
