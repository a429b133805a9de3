import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import express, { type Router } from 'express'

/**
 * The console's stylesheet and script at `static/<content hash>/<file>`:
 * a new version is a new URL, so browsers may keep each one forever. They
 * hold no data, so they are served without a session (the login page is
 * styled too). Any other hash is a 404: an old page asks again for the
 * current one after a reload.
 */

const STATIC = new URL('./static/', import.meta.url)
const TYPES: Record<string, string> = { 'console.css': 'text/css; charset=utf-8', 'console.js': 'text/javascript; charset=utf-8' }

export interface StaticAssets {
  router: Router
  /** Absolute URL of each file, by name. */
  urls: { css: string; js: string }
}

export function createStatic(base: string, dir: URL = STATIC): StaticAssets {
  const files = new Map<string, { hash: string; body: Buffer; type: string }>()
  for (const [name, type] of Object.entries(TYPES)) {
    const body = readFileSync(new URL(name, dir))
    files.set(name, { hash: createHash('sha256').update(body).digest('hex').slice(0, 16), body, type })
  }
  const url = (name: string) => `${base}/static/${files.get(name)!.hash}/${name}`
  const router = express.Router()
  router.get('/static/:hash/:file', (req, res, next) => {
    const file = files.get(req.params.file)
    if (!file || file.hash !== req.params.hash) return next()
    res.set('content-type', file.type).set('cache-control', 'public, max-age=31536000, immutable').send(file.body)
  })
  router.use('/static', (_req, res) => {
    res.status(404).type('text').send('not found: this file has changed; reload the page')
  })
  return { router, urls: { css: url('console.css'), js: url('console.js') } }
}
