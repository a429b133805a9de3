import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/match/condition.js'
import type { Condition, Payload } from '../../src/types.js'
import { contextOf, titleReady } from './helpers.js'

const ctx = contextOf(titleReady(), { creators: { 'Jane Doe': 'jane@example.com' }, minRating: 4 })
const holds = (cond: Condition, context = ctx) => evaluate(cond, context)
const on = (payload: Payload) => contextOf(payload)

describe('combinators', () => {
  it('all holds when every condition holds; all([]) holds', () => {
    expect(holds({ all: [{ tag: 'podcast' }, { rating: { gte: 4 } }] })).toBe(true)
    expect(holds({ all: [{ tag: 'podcast' }, { rating: { gte: 5 } }] })).toBe(false)
    expect(holds({ all: [] })).toBe(true)
  })

  it('any holds when one condition holds; any([]) does not', () => {
    expect(holds({ any: [{ tag: 'news' }, { 'share.url': { exists: true } }] })).toBe(true)
    expect(holds({ any: [{ tag: 'news' }, { is_paid: true }] })).toBe(false)
    expect(holds({ any: [] })).toBe(false)
  })

  it('not inverts', () => {
    expect(holds({ not: { tag: 'news' } })).toBe(true)
    expect(holds({ not: { tag: 'podcast' } })).toBe(false)
    expect(holds({ not: { 'tags.slug': 'podcast' } })).toBe(false)
  })

  it('nest, and mix with path entries', () => {
    const cond: Condition = {
      tag: 'podcast',
      any: [{ is_paid: true }, { all: [{ rating: { gte: 4 } }, { not: { 'assets.media_type': 'video' } }] }],
    }
    expect(holds(cond)).toBe(true)
  })

  it('an empty condition always holds', () => {
    expect(holds({})).toBe(true)
  })

  it('skip entries set to undefined, as TypeScript reads them as absent', () => {
    expect(holds({ tag: undefined, all: undefined, rating: undefined })).toBe(true)
  })

  it('fail closed on malformed combinators', () => {
    expect(holds({ all: 'x' } as unknown as Condition)).toBe(false)
    expect(holds({ not: 'x' } as unknown as Condition)).toBe(false)
    expect(holds({ all: [null] } as unknown as Condition)).toBe(false)
    expect(holds(null as unknown as Condition)).toBe(false)
  })
})

describe('tag sugar on the title-ready fixture', () => {
  it('matches slug or name, case-insensitively', () => {
    expect(holds({ tag: 'podcast' })).toBe(true)
    expect(holds({ tag: 'Podcast' })).toBe(true)
    expect(holds({ tag: 'PODCAST' })).toBe(true)
    expect(holds({ tag: 'sci-fi' })).toBe(true)
    expect(holds({ tag: 'SCI-FI' })).toBe(true)
    expect(holds({ tag: 'news' })).toBe(false)
  })

  it('matches any of a list', () => {
    expect(holds({ tag: ['news', 'sci-fi'] })).toBe(true)
    expect(holds({ tag: ['news', 'drama'] })).toBe(false)
    expect(holds({ tag: [] })).toBe(false)
  })

  it('is lenient about the shape of tags', () => {
    expect(holds({ tag: 'x' }, on({ tags: ['X'] }))).toBe(true)
    expect(holds({ tag: 'x' }, on({ tags: [{ name: 'X' }, null, 3] }))).toBe(true)
    expect(holds({ tag: 'x' }, on({ tags: null }))).toBe(false)
    expect(holds({ tag: 'x' }, on({}))).toBe(false)
    expect(holds({ tag: 'x' }, on({ tags: [{ slug: 1, name: ['x'] }] }))).toBe(false)
  })
})

describe('function conditions', () => {
  it('are called with the context', () => {
    expect(holds((c) => c.creator === 'Jane Doe' && c.event.type === 'title-ready')).toBe(true)
    expect(holds({ all: [(c) => c.vars.minRating === 4, { tag: 'podcast' }] })).toBe(true)
  })

  it('do not hold when they throw or return a Promise', () => {
    expect(
      holds(() => {
        throw new Error('boom')
      }),
    ).toBe(false)
    expect(holds((() => Promise.resolve(true)) as unknown as Condition)).toBe(false)
    expect(
      holds({
        not: () => {
          throw new Error('boom')
        },
      }),
    ).toBe(true)
  })
})
