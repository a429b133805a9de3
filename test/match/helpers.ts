import { readFileSync } from 'node:fs'
import type { Payload, TemplateContext } from '../../src/types.js'

/** The raw `title-ready` body, parsed afresh for each test so no test sees another's edits. */
export function titleReady(): Payload {
  return JSON.parse(readFileSync(new URL('./fixtures/title-ready.json', import.meta.url), 'utf8')) as Payload
}

/** The context conditions see: payload fields at the root, plus event, vars, recipe and steps. */
export function contextOf(payload: Payload, vars: Record<string, unknown> = {}): TemplateContext {
  return {
    ...payload,
    payload,
    event: { id: 'evt_1', type: 'title-ready', receivedAt: '2026-11-20T10:00:01.000Z' },
    vars,
    recipe: { name: 'r' },
    steps: {},
  }
}
