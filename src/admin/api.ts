import express, { type Router } from 'express'
import type { ConsoleService } from './service.js'
import { parseSearch } from './service.js'
import type { Stream } from './stream.js'

export interface ApiOptions {
  service: ConsoleService
  stream: Stream
  /** Largest JSON body accepted (a simulated payload), bytes. */
  bodyLimit: number
}

/**
 * The JSON API under `/admin/api`; the dashboard's pages call the same
 * service. Authentication, CSRF and error answers are the router's around
 * it (app.ts): every route here may assume an authenticated caller.
 */
export function createApi({ service, stream, bodyLimit }: ApiOptions): Router {
  const api = express.Router()
  api.get('/events', async (req, res) => {
    res.json(await service.events(parseSearch(req.query as Record<string, unknown>, service.recipeNames())))
  })
  api.get('/events/:id', async (req, res) => {
    res.json(await service.event(req.params.id))
  })
  api.post('/events/:id/replay', async (req, res) => {
    res.status(202).json({ event: await service.replay(req.params.id) })
  })
  api.post('/runs/:id/retry', async (req, res) => {
    res.status(202).json({ run: await service.retry(req.params.id) })
  })
  api.get('/recipes', async (_req, res) => {
    res.json({ recipes: await service.recipes(), reload: service.lastReload() ?? null })
  })
  api.post('/simulate', express.json({ limit: bodyLimit }), async (req, res) => {
    const body = (req.body ?? {}) as { event?: unknown; payload?: unknown }
    res.json(await service.simulate(body.event, body.payload))
  })
  api.get('/stats', async (_req, res) => {
    res.json(await service.stats())
  })
  api.get('/stream', stream.handler)
  return api
}
