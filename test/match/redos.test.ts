import { describe, expect, it } from 'vitest'
import { evaluate, explain, validateCondition } from '../../src/match/condition.js'
import { type PatternUse, regexIssues } from '../../src/match/redos.js'
import { contextOf, titleReady } from './helpers.js'

// The checker starts a worker per config load: some 200 ms, more on a loaded machine.
const FIRST_CHECK = 20_000

/** What config loading reports for a condition: its own problems, then its patterns' backtracking. */
async function check(cond: unknown, path: string) {
  const patterns: PatternUse[] = []
  const issues = validateCondition(cond, path, patterns)
  return [...issues, ...(await regexIssues(patterns))]
}

const ordinary = {
  id: { matches: '^ep-\\d+$' },
  'tags.slug': { matches: 'podcast|audiobook' },
  'tags.name': { matches: '/^sci-fi$/i' },
  external_id: /^(?<scheme>[a-z]+)(-[a-z0-9]+)*$/,
  created: { matches: '^2026-' },
  // Quadratic at worst: with at most 10,000 characters tested, about 0.1 s. Too common to refuse.
  uri: { matches: '\\d+$' },
  description: { matches: 'stars.*night' },
}

describe('regex conditions that backtrack catastrophically', () => {
  it(
    'are config issues at their path, in every way a pattern can be written; ordinary patterns beside them pass',
    async () => {
      const cond = {
        ...ordinary,
        name: { matches: '^(a+)+$' },
        slug: { matches: /(a|a)*$/ },
        creator: /^(\w+\s?)+$/,
        all: [{ 'share.url': { matches: '/\\d+\\d+$/i' } }],
        not: { 'tags.slug': { matches: '^(?:a|b|ab)*c$' } },
      }
      const issues = await check(cond, 'recipes[0].when')
      expect(issues.map((i) => i.path)).toEqual([
        'recipes[0].when.name.matches',
        'recipes[0].when.slug.matches',
        'recipes[0].when.creator',
        'recipes[0].when.all[0].share.url.matches',
        'recipes[0].when.not.tags.slug.matches',
      ])
      expect(issues[0]!.message).toBe(
        '/^(a+)+$/ can take exponential time on some inputs (repetitions overlap at "a"); ' +
          'rewrite it so that no two repetitions can match the same text, or use a function condition: (ctx) => boolean',
      )
      expect(issues[3]!.message).toMatch(/^\/\\d\+\\d\+\$\/i can take polynomial time \(degree 3\) on some inputs/)
      const { 'tags.slug': slug, 'tags.name': name } = ordinary
      expect(evaluate({ 'tags.slug': slug, 'tags.name': name }, contextOf(titleReady()))).toBe(true)
    },
    FIRST_CHECK,
  )

  it(
    'are reported on step conditions too, and never for a function condition, which is trusted code',
    async () => {
      expect(await check({ name: { matches: '(x+x+)+y' } }, 'recipes[1].do[0].if')).toEqual([
        { path: 'recipes[1].do[0].if.name.matches', message: expect.stringMatching(/^\/\(x\+x\+\)\+y\/ can take exponential time/) },
      ])
      expect(await check((ctx: { name?: unknown }) => /^(a+)+$/.test(String(ctx.name)), 'recipes[0].when')).toEqual([])
    },
    FIRST_CHECK,
  )
})

describe('matches on long values', () => {
  const withName = (name: string) => contextOf({ ...titleReady(), name })

  it('tests only the first 10,000 characters', () => {
    const cond = { name: { matches: 'x$' } }
    expect(evaluate(cond, withName(`${'a'.repeat(9_999)}x`))).toBe(true)
    expect(evaluate(cond, withName(`${'a'.repeat(19_999)}x`))).toBe(false)
    expect(evaluate({ name: { matches: /^a{10000}$/ } }, withName('a'.repeat(20_000)))).toBe(true)
    expect(explain(cond, withName(`${'a'.repeat(19_999)}x`))?.path).toBe('when.name')
  })
})
