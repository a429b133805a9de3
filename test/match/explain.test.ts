import { describe, expect, it } from 'vitest'
import { explain } from '../../src/match/condition.js'
import type { Condition, Payload } from '../../src/types.js'
import { contextOf, titleReady } from './helpers.js'

const ctx = contextOf(titleReady(), { creators: { 'Jane Doe': 'jane@example.com' }, minRating: 4 })
const on = (payload: Payload) => contextOf(payload)

describe('explain', () => {
  it('is undefined when the condition holds', () => {
    expect(explain({ tag: 'podcast', 'share.url': { exists: true }, rating: { gte: 4 } }, ctx)).toBeUndefined()
  })

  it('names the tag sought and the tags found', () => {
    const sciFi = on({ tags: [{ name: 'Sci-Fi', slug: 'sci-fi' }] })
    expect(explain({ tag: 'podcast' }, sciFi)).toEqual({
      path: 'when.tag',
      reason: 'tag: no tag is "podcast" (tags: "Sci-Fi")',
      actual: [{ name: 'Sci-Fi', slug: 'sci-fi' }],
    })
    expect(explain({ tag: ['news', 'drama'] }, ctx)?.reason).toBe('tag: no tag is "news" or "drama" (tags: "Podcast", "Sci-Fi")')
    expect(explain({ tag: 'news' }, on({}))?.reason).toBe('tag: no tag is "news" (no tags)')
  })

  it('reports a missing value', () => {
    expect(explain({ 'share.url': { exists: true } }, on({ share: {} }))).toEqual({
      path: 'when.share.url',
      reason: 'share.url: expected to exist, but it is missing',
      actual: undefined,
    })
    expect(explain({ 'share.url': { exists: true } }, on({ share: { url: null } }))?.reason).toBe('share.url: expected to exist, got null')
  })

  it('shows the actual value as it came', () => {
    expect(explain({ rating: { gte: 4 } }, on({ rating: '3.5' }))).toEqual({
      path: 'when.rating',
      reason: 'rating: expected >= 4, got "3.5"',
      actual: '3.5',
    })
    expect(explain({ rating: { gte: 1, lt: 3 } }, on({ rating: '3.5' }))?.reason).toBe('rating: expected >= 1 and < 3, got "3.5"')
    expect(explain({ creator: { in: ['Ann', 'Bo'] } }, ctx)?.reason).toBe('creator: expected one of "Ann", "Bo", got "Jane Doe"')
    expect(explain({ creator: { in: [] } }, ctx)?.reason).toBe('creator: expected one of [], got "Jane Doe"')
    expect(explain({ name: { matches: '^Chapter' } }, ctx)?.reason).toBe(
      'name: expected to match /^Chapter/, got "Episode 42: The Long Night"',
    )
    expect(explain({ extra: { empty: false } }, ctx)?.reason).toBe('extra: expected not to be empty, got []')
  })

  it('lists every element reached through an array', () => {
    expect(explain({ 'tags.slug': 'news' }, ctx)).toEqual({
      path: 'when.tags.slug',
      reason: 'tags.slug: expected "news", got "podcast", "sci-fi"',
      actual: ['podcast', 'sci-fi'],
    })
  })

  it('hints at a number compared with a numeric string, and at a list meant as in', () => {
    expect(explain({ rating: 4.5 }, ctx)?.reason).toBe('rating: expected 4.5, got "4.5" (the value is a string: write "4.5")')
    expect(explain({ 'tags.slug': ['podcast', 'news'] }, ctx)?.reason).toContain('use { in: [...] }')
  })

  it('returns the first failing entry, with the path into combinators', () => {
    const cond: Condition = { tag: 'podcast', all: [{ is_paid: false }, { 'share.url': { exists: false } }], rating: { gte: 5 } }
    expect(explain(cond, ctx)).toMatchObject({
      path: 'when.all[1].share.url',
      reason: 'share.url: expected to be missing, got "https://example.com/t/4211"',
    })
  })

  it('uses the base path given, as for a step condition', () => {
    expect(explain({ 'assets.media_type': 'video' }, ctx, 'if')).toMatchObject({
      path: 'if.assets.media_type',
      reason: 'assets.media_type: expected "video", got "audio"',
    })
    expect(explain({ 'vars.creators.Jane Doe': 'x' }, ctx)?.path).toBe('when["vars.creators.Jane Doe"]')
  })

  it('explains any with every alternative, and not with the inner condition', () => {
    expect(explain({ any: [{ tag: 'news' }, { is_paid: true }] }, ctx)).toEqual({
      path: 'when.any',
      reason: 'any: none holds: [0] tag: no tag is "news" (tags: "Podcast", "Sci-Fi"); [1] is_paid: expected true, got false',
    })
    expect(explain({ any: [] }, ctx)?.reason).toBe('any: an empty list never holds')
    expect(explain({ not: { tag: 'podcast' } }, ctx)).toEqual({
      path: 'when.not',
      reason: 'not: expected (tag = podcast) to fail, but it holds',
    })
  })

  it('explains a function that returns false, throws, or returns a Promise', () => {
    expect(explain(() => false, ctx)).toEqual({ path: 'when', reason: 'returned false' })
    expect(
      explain(
        {
          all: [
            { tag: 'podcast' },
            () => {
              throw new Error('no creator')
            },
          ],
        },
        ctx,
      ),
    ).toEqual({
      path: 'when.all[1]',
      reason: 'threw: no creator',
    })
    expect(
      explain(() => {
        throw 'plain'
      }, ctx)?.reason,
    ).toBe('threw: "plain"')
    expect(explain((async () => true) as unknown as Condition, ctx)?.reason).toMatch(/Promise/)
  })

  it('keeps messages short for large values', () => {
    const reason = explain({ 'payload.assets': { empty: true } }, ctx)?.reason ?? ''
    expect(reason.length).toBeLessThan(400)
  })
})
