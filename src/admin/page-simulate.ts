import type { Request, Response, Router } from 'express'
import { RunnerError } from '../errors.js'
import type { Simulation } from '../queue/simulate.js'
import { titleFixture } from '../testing/fixture.js'
import { EVENT_TYPES } from '../types.js'
import type { Kit } from './page-render.js'
import { prettyJson } from './view-json.js'

/**
 * `/simulate`: paste a payload, pick the event, see what the recipes would
 * do. The same `simulate` as the CLI and the API; nothing is sent.
 */

export function simulateRoutes(router: Router, kit: Kit): void {
  const { service, form } = kit
  router.get('/simulate', (req, res) => {
    // The documented Title shape (the testing kit's own), so the form works as it opens.
    show(kit, req, res, { event: 'title-ready', payload: JSON.stringify(titleFixture(), null, 2) })
  })
  router.post('/simulate', ...form, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    const event = typeof body.event === 'string' ? body.event : ''
    const text = typeof body.payload === 'string' ? body.payload : ''
    let payload: unknown
    try {
      payload = JSON.parse(text)
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err)
      return show(kit, req, res, { event, payload: text, error: `The payload is not valid JSON: ${why}` }, 400)
    }
    try {
      const result = await service.simulate(event, payload)
      show(kit, req, res, { event, payload: text, result: simulationModel(result) })
    } catch (err) {
      if (!(err instanceof RunnerError) || err.status !== 400) throw err
      show(kit, req, res, { event, payload: text, error: err.message }, 400)
    }
  })
}

interface Form {
  event: string
  payload: string
  error?: string
  result?: ReturnType<typeof simulationModel>
}

function show({ render }: Kit, req: Request, res: Response, form: Form, status = 200): void {
  const events = EVENT_TYPES.map((value) => ({ value, selected: value === form.event }))
  render.page(req, res, 'simulate', { title: 'Simulate', nav: 'simulate', ...form, events }, status)
}

function simulationModel(s: Simulation) {
  return {
    ...s,
    recipes: s.recipes.map((r) =>
      r.matched
        ? {
            name: r.name,
            matched: true,
            steps: r.steps.map((step) => ({
              ...step,
              flow: step.flow.join(', '),
              input: prettyJson(step.input),
              preview: prettyJson(step.preview),
            })),
          }
        : { name: r.name, matched: false, reason: r.reason.text },
    ),
  }
}
