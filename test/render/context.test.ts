import { describe, expect, it } from 'vitest'
import { buildContext } from '../../src/render/context.js'
import type { EventInfo, Payload } from '../../src/types.js'

const event: EventInfo = { id: 'evt_1', type: 'title-ready', receivedAt: '2026-11-20T10:00:00.000Z' }

describe('buildContext', () => {
  it('puts payload fields at the root next to event, payload, vars, recipe and steps', () => {
    const payload = { id: 4211, name: 'Ep', share: null }
    const ctx = buildContext({ payload, event, vars: { a: 1 }, recipe: { name: 'r' }, steps: { s: 1 } })
    expect(ctx).toEqual({ id: 4211, name: 'Ep', share: null, payload, event, vars: { a: 1 }, recipe: { name: 'r' }, steps: { s: 1 } })
  })

  it('lets reserved names win; the payload keeps its own', () => {
    const payload = { event: 'spoof', vars: 'x', recipe: 'y', steps: 'z', payload: 'p', name: 'Ep' }
    const ctx = buildContext({ payload, event, recipe: { name: 'r' } })
    expect(ctx.event).toBe(event)
    expect(ctx.vars).toEqual({})
    expect(ctx.steps).toEqual({})
    expect(ctx.recipe).toEqual({ name: 'r' })
    expect(ctx.payload.event).toBe('spoof')
    expect(ctx.payload.payload).toBe('p')
  })

  it('exposes only the name of the recipe', () => {
    const recipe = { name: 'r', on: 'title-ready', do: [] }
    expect(buildContext({ payload: {}, event, recipe }).recipe).toEqual({ name: 'r' })
  })

  it('does not let a __proto__ key change the prototype', () => {
    const payload = JSON.parse('{"__proto__": {"polluted": true, "event": "x"}, "name": "Ep"}') as Payload
    const ctx = buildContext({ payload, event, recipe: { name: 'r' } })
    expect(Object.getPrototypeOf(ctx)).toBe(Object.prototype)
    expect((ctx as Record<string, unknown>).polluted).toBeUndefined()
    expect(ctx.name).toBe('Ep')
    expect(Object.hasOwn(ctx.payload, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('tolerates a payload that is not an object', () => {
    const ctx = buildContext({ payload: [1, 2] as unknown as Payload, event, recipe: { name: 'r' } })
    expect(Object.keys(ctx).sort()).toEqual(['event', 'payload', 'recipe', 'steps', 'vars'])
  })
})
