import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { shapeWarnings } from '../../src/config/shape-warnings.js'
import { evaluate } from '../../src/match/condition.js'
import { type Shape, TITLE_SHAPE } from '../../src/match/shape.js'
import type { Condition, Payload } from '../../src/types.js'
import { contextOf, titleReady } from './helpers.js'

// Small pools, so generated payloads often hold exactly what a generated condition asks for.
const strings = fc.oneof(
  fc.constantFrom('podcast', 'Podcast', 'audio', '4.5', '3', 'true', '', '2026-11-20', 'x'),
  fc.string({ maxLength: 2 }),
)
const numbers = fc.oneof(fc.constantFrom(0, 3, 4.5, 4211, 1_800_000), fc.integer())

/** Any value the documented shape allows, any field missing or null (payloads are lenient). */
function arbitraryOf(shape: Shape): fc.Arbitrary<unknown> {
  switch (shape.kind) {
    case 'string':
      return strings
    case 'number':
      return numbers
    case 'boolean':
      return fc.boolean()
    case 'list':
      return fc.array(arbitraryOf(shape.of), { maxLength: 3 })
    case 'object': {
      const fields = Object.fromEntries(Object.entries(shape.fields).map(([k, s]) => [k, fc.oneof(arbitraryOf(s), fc.constant(null))]))
      return fc.record(fields, { requiredKeys: [] })
    }
    default:
      return fc.oneof(strings, numbers, fc.boolean(), fc.constant(null), fc.array(strings, { maxLength: 2 }))
  }
}

const paths = [
  ...['tags', 'tags.slug', 'tags.name', 'tags.0', 'tags.slug.x', 'payload.tags', 'tag.slug'],
  ...['share', 'share.url', 'assets', 'assets.media_type', 'assets.duration_ms', 'assets.0.name', 'assets.chapters'],
  ...['rating', 'id', 'is_paid', 'name', 'name.first', 'created', 'extra', 'background_image'],
  ...['event.type', 'event.typ', 'recipe.name', 'recipe.x'],
]
const scalar = fc.oneof(strings, numbers, fc.boolean(), fc.constant(null))
const literal = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 2 }),
  fc.constantFrom({ name: 'Podcast', slug: 'podcast' }, { url: 'x' }, {}, [{ name: 'Podcast', slug: 'podcast' }]),
)
const operand: Record<string, fc.Arbitrary<unknown>> = {
  eq: literal,
  ne: literal,
  in: fc.array(literal, { maxLength: 3 }),
  nin: fc.array(literal, { maxLength: 3 }),
  gt: fc.oneof(numbers, strings),
  gte: fc.oneof(numbers, strings),
  lt: fc.oneof(numbers, strings),
  lte: fc.oneof(numbers, strings),
  matches: fc.constantFrom('^pod', 'o', '\\d', /a/),
  exists: fc.boolean(),
  empty: fc.boolean(),
  contains: literal,
}
const operators = fc
  .uniqueArray(fc.constantFrom(...Object.keys(operand)), { minLength: 1, maxLength: 2 })
  .chain((names) => fc.tuple(...names.map((n) => operand[n]!.map((v) => [n, v] as const))))
  .map((pairs) => Object.fromEntries(pairs))
const condition = fc.tuple(fc.constantFrom(...paths), fc.oneof(literal, operators, fc.constant(/o/))).map(([p, m]) => ({ [p]: m }))

describe('condition warnings are never false alarms', () => {
  it('an entry said never to match holds for no documented payload; one said always to hold holds for all', () => {
    const payloads = fc.array(arbitraryOf(TITLE_SHAPE) as fc.Arbitrary<Payload>, { minLength: 1, maxLength: 8 })
    fc.assert(
      fc.property(condition, payloads, (cond, bodies) => {
        const [warning] = shapeWarnings([{ name: 'r', on: 'title-ready', when: cond, do: [] }])
        const verdict = warning?.message.match(/it never matches|this entry always holds/)?.[0]
        if (!verdict) return
        for (const body of [titleReady(), ...bodies]) {
          const holds = evaluate(cond as Condition, contextOf(body))
          expect(holds, `${warning!.path}: ${warning!.message}\n${JSON.stringify(body)}`).toBe(verdict !== 'it never matches')
        }
      }),
      { numRuns: 3000 },
    )
  })
})
