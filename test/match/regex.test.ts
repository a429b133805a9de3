import { describe, expect, it } from 'vitest'
import { CONDITION_LIMITS, conditionBudget } from '../../src/match/budget.js'
import { evaluate, judge, validateCondition } from '../../src/match/condition.js'
import { contextOf, titleReady } from './helpers.js'

const withName = (name: unknown) => contextOf({ ...titleReady(), name })

/** Milliseconds one call takes. */
function timed(fn: () => unknown): number {
  const start = performance.now()
  fn()
  return performance.now() - start
}

describe('matches runs on a linear-time engine', () => {
  it('runs patterns that backtrack catastrophically in JavaScript in linear time, and they pass validation', () => {
    // ^(a+)+$ took 19 s on 29 characters with RegExp; here 100,000 take milliseconds.
    const cond = { name: { matches: '^(a+)+$' }, creator: /^(\w+\s?)+$/, slug: { matches: '/\\d+\\d+$/i' } }
    expect(validateCondition(cond, 'recipes[0].when')).toEqual([])
    const ms = timed(() => expect(evaluate({ name: cond.name }, withName(`${'a'.repeat(100_000)}!`))).toBe(false))
    expect(ms).toBeLessThan(1_000)
    expect(evaluate({ name: cond.name }, withName('a'.repeat(100_000)))).toBe(true)
  })

  it('translates the flags i, m and s, ignores g and y, and reads \\u{…} and named groups', () => {
    expect(evaluate({ name: /^episode/i }, withName('Episode 1'))).toBe(true)
    expect(evaluate({ name: { matches: '/^two$/m' } }, withName('one\ntwo'))).toBe(true)
    expect(evaluate({ name: { matches: '^two$' } }, withName('one\ntwo'))).toBe(false)
    expect(evaluate({ name: { matches: '/a.b/s' } }, withName('a\nb'))).toBe(true)
    expect(evaluate({ name: { matches: 'a.b' } }, withName('a\nb'))).toBe(false)
    const sticky = /b/gy
    for (let i = 0; i < 3; i++) expect(evaluate({ name: sticky }, withName('ab'))).toBe(true)
    expect(evaluate({ name: /^\u{1F600}$/u }, withName('😀'))).toBe(true)
    expect(evaluate({ name: /^(?<ep>ep)-\d+$/ }, withName('ep-12'))).toBe(true)
    // Only flag letters make a `/body/flags` string: this is a plain pattern.
    expect(evaluate({ name: { matches: '/api/users' } }, withName('GET /api/users'))).toBe(true)
  })

  it('refuses at load time what RE2 cannot run, at its path, with a hint', () => {
    const cond = {
      'tags.slug': { matches: '^(?=pod)' },
      name: /(?<!x)y/,
      creator: { matches: '(a)\\1' },
      all: [{ uri: { matches: '/x/v' } }],
      slug: { matches: '([a-z' },
    }
    expect(validateCondition(cond, 'recipes[0].when')).toEqual([
      {
        path: 'recipes[0].when.tags.slug.matches',
        message:
          '"^(?=pod)" uses a lookahead, which the linear-time engine cannot run; rewrite it or use a function condition: (ctx) => boolean',
      },
      { path: 'recipes[0].when.name', message: expect.stringMatching(/^\/\(\?<!x\)y\/ uses a lookbehind, which the linear-time/) },
      { path: 'recipes[0].when.creator.matches', message: expect.stringMatching(/^"\(a\)\\\\1" uses a backreference/) },
      { path: 'recipes[0].when.all[0].uri.matches', message: expect.stringContaining('the v flag is not supported') },
      { path: 'recipes[0].when.slug.matches', message: expect.stringMatching(/^invalid regular expression "\(\[a-z"/) },
    ])
  })
})

describe('the condition budget of one delivery', () => {
  it('tests whole values: the 10,000-character cut is gone', () => {
    expect(evaluate({ name: { matches: 'x$' } }, withName(`${'a'.repeat(19_999)}x`))).toBe(true)
  })

  it('when it runs out, the condition does not hold, says why, and charges nothing for the refused value', () => {
    const budget = conditionBudget()
    const long = 'a'.repeat(CONDITION_LIMITS.regexChars + 1)
    const miss = judge({ all: [{ name: { matches: 'b' } }] }, withName(long), 'when', budget)
    expect(miss).toEqual({
      path: 'when.all[0].name',
      reason: 'the condition budget of one delivery ran out (131,072 characters tested by matches)',
      exhausted: true,
    })
    // `not` of an undecided condition is not "holds".
    expect(judge({ not: { name: { matches: 'b' } } }, withName(long), 'when', budget)?.exhausted).toBe(true)
    // A later recipe that needs little still fits.
    expect(judge({ name: { matches: '^a' } }, withName('abc'), 'when', budget)).toBeUndefined()
  })

  it('is shared across array elements and conditions: 100 tags of 10,000 characters run it out', () => {
    const tags = Array.from({ length: 100 }, () => ({ name: 't', slug: `${'1'.repeat(9_999)}x` }))
    const ctx = contextOf({ ...titleReady(), tags })
    const budget = conditionBudget()
    let miss: ReturnType<typeof judge>
    const ms = timed(() => {
      miss = judge({ 'tags.slug': { matches: '\\d+$' } }, ctx, 'when', budget)
    })
    expect(miss!).toMatchObject({ path: 'when.tags.slug', exhausted: true })
    expect(ms).toBeLessThan(1_000)
    // What was tested before it ran out stays spent.
    expect(budget.regexChars).toBeLessThan(10_000)
  })
})
