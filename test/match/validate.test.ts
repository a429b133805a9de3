import { describe, expect, it } from 'vitest'
import { describeCondition, validateCondition } from '../../src/match/condition.js'
import type { Condition } from '../../src/types.js'

describe('validateCondition', () => {
  it('accepts well-formed conditions, functions and undefined', () => {
    const cond = {
      tag: ['podcast', 'news'],
      'share.url': { exists: true },
      rating: { gte: 4, lt: '5' },
      name: /night/i,
      created: { matches: '^2026-' },
      'assets.media_type': { in: ['audio'] },
      extra: [],
      any: [{ is_paid: true }, { not: { 'tags.slug': { nin: ['x'] } } }, (c: unknown) => Boolean(c)],
      all: [],
    }
    expect(validateCondition(cond, 'recipes[0].when')).toEqual([])
    expect(validateCondition(() => true, 'recipes[0].when')).toEqual([])
    expect(validateCondition(undefined, 'recipes[0].when')).toEqual([])
  })

  it('reports every problem at once, each at its path', () => {
    const cond = {
      tag: 3,
      all: [{ 'share.url': { exists: 'yes' } }, { rating: { gte: [4], foo: 1 } }],
      any: { tag: 'podcast' },
      not: { 'assets.media_type': { in: 'audio' } },
      name: { matches: '([a-z' },
      '__proto__.polluted': 1,
      gte: 4,
    }
    const issues = validateCondition(cond, 'recipes[0].when')
    expect(issues.map((i) => i.path)).toEqual([
      'recipes[0].when.tag',
      'recipes[0].when.all[0].share.url.exists',
      'recipes[0].when.all[1].rating.gte',
      'recipes[0].when.all[1].rating.foo',
      'recipes[0].when.any',
      'recipes[0].when.not.assets.media_type.in',
      'recipes[0].when.name.matches',
      'recipes[0].when.__proto__.polluted',
      'recipes[0].when.gte',
    ])
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]))
    expect(byPath['recipes[0].when.tag']).toBe('must be a tag slug or name, or a list of them; got 3')
    expect(byPath['recipes[0].when.all[0].share.url.exists']).toBe('must be true or false, got "yes"')
    expect(byPath['recipes[0].when.all[1].rating.gte']).toBe('must be a number or a string, got [4]')
    expect(byPath['recipes[0].when.all[1].rating.foo']).toMatch(/^unknown operator "foo" \(operators: eq, ne, in, /)
    expect(byPath['recipes[0].when.any']).toMatch(/^must be a list of conditions/)
    expect(byPath['recipes[0].when.not.assets.media_type.in']).toBe('must be an array, got "audio"')
    expect(byPath['recipes[0].when.name.matches']).toMatch(/^invalid regular expression "\(\[a-z": /)
    expect(byPath['recipes[0].when.__proto__.polluted']).toMatch(/"__proto__" cannot appear in a path/)
    expect(byPath['recipes[0].when.gte']).toMatch(/"gte" is an operator/)
  })

  it('suggests the operator meant by a Mongo-style or aliased key', () => {
    const issues = validateCondition({ rating: { $gte: 4 }, name: { regex: 'x' }, creator: { GTE: 1, eq: 'x' } }, 'when')
    expect(issues).toEqual([
      { path: 'when.rating.$gte', message: '"$gte" is not an operator; write "gte"' },
      { path: 'when.name.regex', message: '"regex" is not an operator; write "matches"' },
      { path: 'when.creator.GTE', message: '"GTE" is not an operator; write "gte"' },
    ])
    expect(validateCondition({ share: { url: 'x', match: 'y' } }, 'when')).toEqual([])
  })

  it('accepts plain objects from another realm', async () => {
    const { runInNewContext } = await import('node:vm')
    const cond = runInNewContext('({ tag: "podcast", rating: { gte: 4 } })') as unknown
    expect(validateCondition(cond, 'when')).toEqual([])
    expect(describeCondition(cond as Condition)).toBe('tag = podcast, rating >= 4')
  })

  it('rejects what is not a condition', () => {
    for (const bad of [null, 'podcast', 3, [{ tag: 'x' }]]) {
      expect(validateCondition(bad, 'when')).toEqual([
        { path: 'when', message: expect.stringMatching(/^must be an object of path → matcher, or a function/) },
      ])
    }
    expect(validateCondition({ all: [null] }, 'when')[0]?.path).toBe('when.all[0]')
  })

  it('checks tags, empty path segments, undefined operands and function matchers', () => {
    const issues = validateCondition(
      { tag: ['ok', '', 2], 'share..url': 1, rating: { gte: undefined }, id: (v: unknown) => v === 1 } as unknown,
      'if',
    )
    expect(issues).toEqual([
      { path: 'if.tag[1]', message: 'must be a tag slug or name, got ""' },
      { path: 'if.tag[2]', message: 'must be a tag slug or name, got 2' },
      { path: 'if["share..url"]', message: 'the path "share..url" has an empty segment' },
      { path: 'if.rating.gte', message: 'must be a number or a string, got undefined' },
      { path: 'if.id', message: expect.stringMatching(/a function cannot match a path/) },
    ])
    expect(validateCondition({ tag: [] }, 'if')[0]?.message).toMatch(/at least one tag/)
    expect(validateCondition({ tag: ' ' }, 'if')[0]?.message).toMatch(/empty string/)
  })

  it('validates JSON-parsed conditions without being fooled by __proto__ keys', () => {
    const cond = JSON.parse('{"__proto__": {"gte": 1}, "rating": {"__proto__": 1, "gte": 4}}') as unknown
    const paths = validateCondition(cond, 'when').map((i) => i.path)
    expect(paths).toEqual(['when.__proto__', 'when.rating.__proto__'])
    expect(({} as Record<string, unknown>).gte).toBeUndefined()
  })
})

describe('describeCondition', () => {
  it('sums a condition up in one line', () => {
    expect(describeCondition({ tag: 'podcast', 'share.url': { exists: true }, rating: { gte: 4 } })).toBe(
      'tag = podcast, share.url exists, rating >= 4',
    )
  })

  it('covers every operator', () => {
    expect(
      describeCondition({
        a: { eq: 'x' },
        b: { ne: 1 },
        c: { in: ['x', 'y z'] },
        d: { nin: [1] },
        e: { gt: 1, lte: 9 },
        f: { lt: '2026-01-01' },
        g: { matches: '^x' },
        h: { matches: /y/i },
        i: { exists: false },
        j: { contains: 'z' },
        k: { empty: true },
        l: { empty: false },
        m: 'Jane Doe',
        n: [],
      }),
    ).toBe(
      'a = x, b != 1, c in (x, "y z"), d not in (1), e > 1 and <= 9, f < 2026-01-01, g matches /^x/, ' +
        'h matches /y/i, i does not exist, j contains z, k is empty, l is not empty, m = "Jane Doe", n = []',
    )
  })

  it('describes combinators, tag lists, functions and nothing', () => {
    expect(describeCondition(undefined)).toBe('always')
    expect(describeCondition({})).toBe('always')
    expect(describeCondition(() => true)).toBe('(function)')
    expect(describeCondition({ tag: ['podcast', 'news'] })).toBe('tag in (podcast, news)')
    expect(describeCondition({ all: [], any: [] })).toBe('always, never')
    expect(describeCondition({ any: [{ tag: 'a', is_paid: false }, { not: { rating: { lt: 3 } } }, () => true] })).toBe(
      '((tag = a, is_paid = false) or not (rating < 3) or (function))',
    )
    expect(describeCondition({ all: [{ tag: 'a' }] })).toBe('tag = a')
    expect(describeCondition({ not: { any: [{ tag: 'a' }, { tag: 'b' }] } })).toBe('not (tag = a or tag = b)')
    expect(describeCondition({ not: { all: [{ any: [{ tag: 'a' }, { tag: 'b' }] }, { any: [{ tag: 'c' }, { tag: 'd' }] }] } })).toBe(
      'not ((tag = a or tag = b) and (tag = c or tag = d))',
    )
    expect(describeCondition({ not: { name: '(x' } })).toBe('not (name = "(x")')
  })
})
