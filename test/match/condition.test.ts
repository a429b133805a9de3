import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/match/condition.js'
import type { Condition, Payload } from '../../src/types.js'
import { contextOf, titleReady } from './helpers.js'

const ctx = contextOf(titleReady(), { creators: { 'Jane Doe': 'jane@example.com' }, minRating: 4 })
const holds = (cond: Condition, context = ctx) => evaluate(cond, context)
const on = (payload: Payload) => contextOf(payload)

describe('literals', () => {
  it('compare with deep equality', () => {
    expect(holds({ name: 'Episode 42: The Long Night' })).toBe(true)
    expect(holds({ is_paid: false, id: 4211 })).toBe(true)
    expect(holds({ video_snippet: null })).toBe(true)
    expect(holds({ extra: [] })).toBe(true)
    expect(holds({ share: { url: 'https://example.com/t/4211', background_image: 'https://cdn.example.com/bg/4211.jpg' } })).toBe(true)
    expect(holds({ share: { url: 'https://example.com/t/4211' } })).toBe(false)
    expect(holds({ id: '4211' })).toBe(false)
    expect(holds({ rating: 4.5 })).toBe(false)
  })

  it('holds when any element reached through an array equals it', () => {
    expect(holds({ 'tags.slug': 'sci-fi' })).toBe(true)
    expect(holds({ 'tags.slug': 'news' })).toBe(false)
    expect(holds({ 'assets.media_type': 'audio' })).toBe(true)
    expect(holds({ 'assets.0.media_type': 'video' })).toBe(false)
  })

  it('compare a final array as a whole', () => {
    expect(holds({ 'tags.slug': ['podcast', 'sci-fi'] })).toBe(false)
    expect(
      holds({
        tags: [
          { name: 'Podcast', slug: 'podcast' },
          { name: 'Sci-Fi', slug: 'sci-fi' },
        ],
      }),
    ).toBe(true)
  })

  it('read event, vars, recipe and the whole payload', () => {
    expect(holds({ 'event.type': 'title-ready', 'recipe.name': 'r', 'payload.id': 4211 })).toBe(true)
    expect(holds({ 'vars.creators.Jane Doe': 'jane@example.com' })).toBe(true)
  })

  it('accept a RegExp as a shorthand for matches', () => {
    // Matcher in types.ts does not list RegExp yet, hence the casts.
    expect(holds({ name: /long night/i } as unknown as Condition)).toBe(true)
    expect(holds({ name: /^long/ } as unknown as Condition)).toBe(false)
  })
})

describe('operators', () => {
  it('eq and ne', () => {
    expect(holds({ creator: { eq: 'Jane Doe' } })).toBe(true)
    expect(holds({ extra: { eq: [] } })).toBe(true)
    expect(holds({ creator: { ne: 'Jane Doe' } })).toBe(false)
    expect(holds({ creator: { ne: 'John' } })).toBe(true)
    expect(holds({ missing: { ne: 'x' } })).toBe(true)
  })

  it('in and nin', () => {
    expect(holds({ 'assets.media_type': { in: ['audio', 'video'] } })).toBe(true)
    expect(holds({ 'assets.media_type': { in: ['ebook'] } })).toBe(false)
    expect(holds({ creator: { nin: ['John', 'Ann'] } })).toBe(true)
    expect(holds({ creator: { nin: ['Jane Doe'] } })).toBe(false)
    expect(holds({ missing: { nin: ['x'] } })).toBe(true)
    expect(holds({ missing: { in: ['x'] } })).toBe(false)
  })

  it('gt, gte, lt, lte on numbers', () => {
    expect(holds({ 'assets.duration_ms': { gt: 60_000 } })).toBe(true)
    expect(holds({ 'assets.duration_ms': { gte: 1_834_000, lte: 1_834_000 } })).toBe(true)
    expect(holds({ 'assets.duration_ms': { lt: 1_834_000 } })).toBe(false)
    expect(holds({ id: { gte: 1, lt: 5 } })).toBe(false)
  })

  it('coerce a numeric string against a number, as Audiorista sends rating', () => {
    expect(holds({ rating: { gte: 4 } })).toBe(true)
    expect(holds({ rating: { gt: 4.5 } })).toBe(false)
    expect(holds({ rating: { lte: '4.5' } })).toBe(true)
    expect(holds({ rating: { lt: 10 } }, on({ rating: '9' }))).toBe(true)
    expect(holds({ rating: { lt: '10' } }, on({ rating: '9' }))).toBe(true)
    expect(holds({ rating: { gte: 4 } }, on({ rating: ' 4.0 ' }))).toBe(true)
  })

  it('refuse to order what is not comparable', () => {
    expect(holds({ rating: { gte: 0 } }, on({ rating: '' }))).toBe(false)
    expect(holds({ rating: { gte: 0 } }, on({ rating: '0x10' }))).toBe(false)
    expect(holds({ rating: { gte: 0 } }, on({ rating: null }))).toBe(false)
    expect(holds({ rating: { lt: 1 } }, on({ rating: false }))).toBe(false)
    expect(holds({ rating: { lt: 1 } }, on({}))).toBe(false)
    expect(holds({ rating: { gt: 'a' } }, on({ rating: 5 }))).toBe(false)
  })

  it('compare other strings by code unit, so ISO dates order', () => {
    expect(holds({ created: { gte: '2026-01-01', lt: '2027-01-01T00:00:00Z' } })).toBe(true)
    expect(holds({ created: { gt: '2026-11-20T10:00:01Z' } })).toBe(false)
    expect(holds({ creator: { gt: 'Jane' } })).toBe(true)
  })

  it('matches, with a string compiled once or a RegExp', () => {
    expect(holds({ name: { matches: '^Episode \\d+' } })).toBe(true)
    expect(holds({ name: { matches: 'episode' } })).toBe(false)
    expect(holds({ name: { matches: '/episode/i' } })).toBe(true)
    expect(holds({ name: { matches: /episode/i } })).toBe(true)
    expect(holds({ id: { matches: '^42' } })).toBe(true)
    expect(holds({ is_paid: { matches: 'false' } })).toBe(false)
    expect(holds({ 'tags.slug': { matches: '^sci' } })).toBe(true)
    expect(holds({ name: { matches: '(' } })).toBe(false)
  })

  it('matches with a global RegExp does not carry state between events', () => {
    const re = /Episode/g
    for (let i = 0; i < 3; i++) expect(holds({ name: { matches: re } })).toBe(true)
  })

  it('exists: null and missing do not exist', () => {
    expect(holds({ 'share.url': { exists: true } })).toBe(true)
    expect(holds({ 'share.nope': { exists: false } })).toBe(true)
    expect(holds({ video_snippet: { exists: true } })).toBe(false)
    expect(holds({ video_snippet: { exists: false } })).toBe(true)
    expect(holds({ 'share.url': { exists: true } }, on({ share: null }))).toBe(false)
    expect(holds({ 'assets.url': { exists: false } })).toBe(true)
  })

  it('contains: substring on strings, element on arrays', () => {
    expect(holds({ description: { contains: 'stars' } })).toBe(true)
    expect(holds({ description: { contains: 'moon' } })).toBe(false)
    expect(holds({ tags: { contains: { name: 'Podcast', slug: 'podcast' } } })).toBe(true)
    expect(holds({ tags: { contains: 'podcast' } })).toBe(false)
    expect(holds({ 'assets.name': { contains: 'part' } })).toBe(true)
    expect(holds({ code: { contains: 42 } }, on({ code: 'x42y' }))).toBe(true)
    expect(holds({ id: { contains: 42 } })).toBe(false)
    expect(holds({ list: { contains: 2 } }, on({ list: [1, 2, 3] }))).toBe(true)
  })

  it('empty: null, undefined, "", [] and {} are empty', () => {
    for (const value of [null, '', [], {}]) expect(holds({ v: { empty: true } }, on({ v: value }))).toBe(true)
    for (const value of [0, false, ' ', [0], { a: 1 }]) expect(holds({ v: { empty: false } }, on({ v: value }))).toBe(true)
    expect(holds({ missing: { empty: true } })).toBe(true)
    expect(holds({ extra: { empty: false } })).toBe(false)
  })

  it('require every operator of a matcher to hold for the same element', () => {
    const payload = { assets: [{ d: 1 }, { d: 10 }] }
    expect(holds({ 'assets.d': { gt: 5, lt: 2 } }, on(payload))).toBe(false)
    expect(holds({ 'assets.d': { gt: 5, lt: 20 } }, on(payload))).toBe(true)
  })

  it('fail closed on an unknown operator mixed in', () => {
    expect(holds({ rating: { gte: 4, foo: 1 } })).toBe(false)
  })

  it('treat an object without operator keys as a literal', () => {
    expect(holds({ share: {} }, on({ share: {} }))).toBe(true)
    expect(holds({ meta: { $gte: 4 } }, on({ meta: { $gte: 4 } }))).toBe(true)
  })
})

describe('missing paths', () => {
  it('are a single undefined value', () => {
    expect(holds({ nope: { exists: false } })).toBe(true)
    expect(holds({ nope: { empty: true } })).toBe(true)
    expect(holds({ nope: { ne: 'x' } })).toBe(true)
    expect(holds({ nope: { eq: undefined } })).toBe(true)
    expect(holds({ nope: 'x' })).toBe(false)
    expect(holds({ nope: null })).toBe(false)
    expect(holds({ nope: { exists: true } })).toBe(false)
  })
})
