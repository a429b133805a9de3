import type { Router } from 'express'
import { RunnerError } from '../errors.js'
import type { RunView } from '../queue/inspect.js'
import { showEvent } from './page-events.js'
import { type Kit, seg } from './page-render.js'

/**
 * The buttons: Retry (a dead, skipped or previewed run) and Replay (an
 * event), as form posts that answer with a redirect to the page to look at
 * next. A refusal (the run is not retryable, or gone) is shown on the event
 * page, not as JSON.
 */
export function actionRoutes(router: Router, kit: Kit): void {
  const { service, base, form } = kit
  router.post('/runs/:id/retry', ...form, async (req, res) => {
    let run: RunView
    try {
      run = await service.retry(String(req.params.id))
    } catch (err) {
      // Refused: shown on the page the form came from (its `event` field), when there is one.
      const event = (req.body as Record<string, unknown> | undefined)?.event
      if (!(typeof event === 'string' && event && err instanceof RunnerError && err.status && err.status < 500)) throw err
      return showEvent(kit, req, res, event, { kind: 'error', text: `Not retried: ${err.message}` }, err.status)
    }
    res.redirect(303, `${base}/events/${seg(run.eventId)}?notice=retried`)
  })
  router.post('/events/:id/replay', ...form, async (req, res) => {
    const { id } = await service.replay(String(req.params.id))
    res.redirect(303, `${base}/events/${seg(id)}?notice=replayed`)
  })
}
