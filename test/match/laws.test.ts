import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { describeCondition, evaluate, explain, validateCondition } from '../../src/match/condition.js'
import { getPath } from '../../src/match/path.js'
import type { Condition, Payload } from '../../src/types.js'
import { contextOf, titleReady } from './helpers.js'

// Small pools, so generated conditions hold about as often as they fail.
const words = ['podcast', 'Podcast', 'sci-fi', 'news', 'audio', 'video', 'Jane Doe', '', '4.5', '3', '2026-11-20']
const scalar = fc.oneof(fc.constantFrom(...words), fc.constantFrom(0, 3, 4, 4.5, 1_834_000), fc.boolean(), fc.constant(null))
const tagNames = words.filter(Boolean)
const paths = [
  'name',
  'rating',
  'tags.slug',
  'tags.name',
  'tags',
  'assets.media_type',
  'assets.duration_ms',
  'assets.0.media_type',
  'share.url',
  'share',
  'missing',
  'extra',
]

const operand = (op: string): fc.Arbitrary<unknown> => {
  switch (op) {
    case 'in':
    case 'nin':
      return fc.array(scalar, { maxLength: 3 })
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return fc.oneof(fc.constantFrom(0, 3, 4, 4.5, 60_000), fc.constantFrom('4', '2026-01-01', 'm'))
    case 'matches':
      return fc.constantFrom('^pod', 'audio', '\\d', '/POD/i', /sci/i, /^$/)
    case 'exists':
    case 'empty':
      return fc.boolean()
    default:
      return fc.oneof(scalar, fc.constant([]))
  }
}
const ops = ['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'matches', 'exists', 'contains', 'empty']
const operatorMatcher = fc
  .uniqueArray(fc.constantFrom(...ops), { minLength: 1, maxLength: 2 })
  .chain((names) => fc.tuple(...names.map((n) => operand(n).map((v) => [n, v] as const))))
  .map((pairs) => Object.fromEntries(pairs))
const matcher = fc.oneof(scalar, operatorMatcher)

const fns: Condition[] = [
  () => true,
  () => false,
  () => {
    throw new Error('boom')
  },
  (c) => c.is_paid === false,
]
const { condition } = fc.letrec<{ condition: Condition; leaf: Condition }>((tie) => ({
  leaf: fc.oneof(
    fc.array(fc.tuple(fc.constantFrom(...paths), matcher), { minLength: 1, maxLength: 2 }).map((e) => Object.fromEntries(e) as Condition),
    fc.oneof(fc.constantFrom(...tagNames), fc.array(fc.constantFrom(...tagNames), { minLength: 1, maxLength: 2 })).map((tag) => ({ tag })),
    fc.constantFrom(...fns),
  ),
  condition: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('condition'), { maxLength: 3 }).map((all) => ({ all })),
    fc.array(tie('condition'), { maxLength: 3 }).map((any) => ({ any })),
    tie('condition').map((not) => ({ not })),
  ),
}))

const tag = fc.constantFrom('podcast', 'Sci-Fi', 'news').map((name) => ({ name, slug: name.toLowerCase() }))
const payload: fc.Arbitrary<Payload> = fc.record(
  {
    name: fc.constantFrom(...words),
    rating: fc.constantFrom('4.5', '3', 4, null),
    tags: fc.array(tag, { maxLength: 3 }),
    assets: fc.array(fc.record({ media_type: fc.constantFrom('audio', 'video'), duration_ms: fc.constantFrom(0, 1_834_000) }), {
      maxLength: 2,
    }),
    share: fc.option(fc.record({ url: fc.constantFrom('https://example.com/t/1', '') }, { requiredKeys: [] })),
    extra: fc.constantFrom([], ['x']),
    is_paid: fc.boolean(),
  },
  { requiredKeys: [] },
)
const context = fc.oneof(fc.constant(titleReady()), payload).map((p) => contextOf(p))

// JSON text, not objects: only JSON.parse creates own "__proto__" keys the way a webhook body does.
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'name', 'tags', 'slug')
const { json } = fc.letrec<{ json: string }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v)),
    fc.array(tie('json'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(hostileKey, tie('json')), { maxLength: 3 })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
}))
const hostileJson = json.map((inner) => `{"__proto__": {"x": 1, "polluted": true, "root": {"x": 1}}, "body": ${inner}, "tags": ${inner}}`)

const law = <Ts extends [unknown, ...unknown[]]>(name: string, prop: fc.IPropertyWithHooks<Ts>) =>
  it(name, () => fc.assert(prop, { numRuns: 300 }))

describe('laws of conditions', () => {
  law(
    'not inverts evaluate',
    fc.property(condition, context, (c, ctx) => evaluate({ not: c }, ctx) === !evaluate(c, ctx)),
  )
  law(
    'all([]) holds and any([]) does not',
    fc.property(context, (ctx) => evaluate({ all: [] }, ctx) && !evaluate({ any: [] }, ctx)),
  )
  law(
    'all([c]) and any([c]) are c',
    fc.property(condition, context, (c, ctx) => {
      const expected = evaluate(c, ctx)
      return evaluate({ all: [c] }, ctx) === expected && evaluate({ any: [c] }, ctx) === expected
    }),
  )
  law(
    'all is every, any is some',
    fc.property(fc.array(condition, { maxLength: 4 }), context, (cs, ctx) => {
      const each = cs.map((c) => evaluate(c, ctx))
      return evaluate({ all: cs }, ctx) === each.every(Boolean) && evaluate({ any: cs }, ctx) === each.some(Boolean)
    }),
  )
  law(
    'entries of one object are a conjunction',
    fc.property(condition, condition, context, (a, b, ctx) => {
      fc.pre(typeof a !== 'function' && typeof b !== 'function' && Object.keys(a).every((k) => !Object.hasOwn(b, k)))
      return evaluate({ ...a, ...b } as Condition, ctx) === (evaluate(a, ctx) && evaluate(b, ctx))
    }),
  )
  law(
    'explain is undefined exactly when evaluate holds',
    fc.property(condition, context, (c, ctx) => {
      const miss = explain(c, ctx)
      if (evaluate(c, ctx)) return miss === undefined
      return miss?.path.startsWith('when') === true && miss.reason.length > 0
    }),
  )
  law(
    'generated conditions validate cleanly and describe in one line',
    fc.property(condition, (c) => {
      expect(validateCondition(c, 'when')).toEqual([])
      const text = describeCondition(c)
      return text.length > 0 && !text.includes('\n')
    }),
  )
})

describe('laws of values', () => {
  law(
    'a numeric string orders like its number',
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ noNaN: true, noDefaultInfinity: true }), (a, b) => {
      const ctx = contextOf({ x: String(a) })
      return (
        evaluate({ x: { gte: b } }, ctx) === a >= b &&
        evaluate({ x: { lt: b } }, ctx) === a < b &&
        evaluate({ x: { gt: String(b) } }, ctx) === a > b
      )
    }),
  )
  law(
    'eq is reflexive on JSON values, ne its negation',
    fc.property(fc.jsonValue(), (v) => {
      const ctx = contextOf({ x: structuredClone(v) })
      return evaluate({ x: { eq: v } }, ctx) && !evaluate({ x: { ne: v } }, ctx)
    }),
  )
  law(
    'a path through an array reaches every element that has the field',
    fc.property(fc.array(fc.option(fc.record({ v: fc.jsonValue() }), { nil: undefined })), (items) => {
      const found = getPath({ items }, 'items.v')
      expect(found).toEqual(items.filter((i) => i !== undefined).map((i) => i.v))
      return true
    }),
  )
  law(
    'no path with a forbidden segment reaches anything, whatever the body',
    fc.property(
      fc.jsonValue(),
      fc.array(fc.constantFrom('a', '0', 'x', 'name'), { maxLength: 2 }),
      fc.constantFrom('__proto__', 'constructor', 'prototype'),
      fc.array(fc.constantFrom('a', 'x', 'polluted'), { maxLength: 2 }),
      (body, before, forbidden, after) => getPath(body, [...before, forbidden, ...after].join('.')).length === 0,
    ),
  )
  law(
    'a body with __proto__ keys neither pollutes nor lends fields',
    fc.property(hostileJson, condition, (text, c) => {
      const parsed = JSON.parse(text) as Payload
      const ctx = contextOf(parsed)
      evaluate(c, ctx)
      explain(c, ctx)
      expect(Object.getOwnPropertyNames(Object.prototype).filter((k) => ['x', 'polluted', 'slug'].includes(k))).toEqual([])
      return !evaluate({ any: [{ x: { exists: true } }, { polluted: { exists: true } }, { 'root.x': { exists: true } }] }, ctx)
    }),
  )
})
