/**
 * The worst-case corpus for conditions: recipes that use every operator (and
 * the `tag` sugar, the combinators and paths through arrays), and ~1 MB
 * payloads built to make them work hard: long runs, repeated delimiters, deep
 * nesting up to the receiver's 200 levels, many array elements, many keys.
 * Every condition is built not to hold, so each one does all its work.
 */
import type { Condition, Recipe } from '../../src/types.js'

const log = [{ action: 'log', with: { message: 'matched {{id}}' } }]
const recipe = (name: string, when: Recipe['when']): Recipe => ({ name, on: 'title-updated', when, do: log })

/** Each field that carries an adversarial value; every operator is tried on each. */
const FIELDS = ['name', 'description', 'tags.slug', 'tags.name', 'assets.chapters', 'extra', 'share', 'deep.a.a.a.a']

const perField = (matcher: unknown) => ({ any: FIELDS.map((field) => ({ [field]: matcher })) }) as Condition

/** One recipe per operator, each trying it on every adversarial field; `any` so no entry is skipped. */
export const CORPUS_RECIPES: Recipe[] = [
  recipe('op-literal', perField({ never: 'equal' })),
  recipe('op-eq', perField({ eq: ['x', { y: 1 }] })),
  recipe('op-ne', { not: perField({ ne: 'zzz' }) }),
  recipe('op-in', perField({ in: ['a', 1, { a: [1, 2] }, [1, 1, 1]] })),
  recipe('op-nin', { not: perField({ nin: ['a', 'b'] }) }),
  recipe('op-gt', perField({ gt: '\uffff' })),
  recipe('op-gte', perField({ gte: '\uffff\uffff' })),
  recipe('op-lt', perField({ lt: '' })),
  recipe('op-lte', perField({ lte: -1e300 })),
  recipe('op-matches-tail', perField({ matches: '\\d+$' })),
  recipe('op-matches-nested', perField({ matches: '^(a+)+$' })),
  recipe('op-matches-words', perField({ matches: '/^(\\w+\\s?)+!$/i' })),
  recipe('op-matches-literal', perField({ matches: '/^(<p)+>$/s' })),
  recipe('op-exists', { not: perField({ exists: true }) }),
  recipe('op-empty', perField({ empty: true, exists: true })),
  recipe('op-contains', perField({ contains: '1111111111111111111111111111111111111112' })),
  recipe('op-contains-element', perField({ contains: { slug: 'x' } })),
  recipe('tag-sugar', { tag: ['podcast', 'audiobook', 'İstanbul'] }),
  recipe('combinators', {
    all: [{ any: [{ not: { 'tags.slug': { exists: false } } }] }, { not: { any: [{ 'tags.slug': 'x' }, { name: { matches: 'z' } }] } }],
  }),
]

const MB = 1_000_000

/** A nested value `[[[…]]]` or `{a:{a:…}}` `depth` levels deep, with `leaf` at the bottom. */
function nested(depth: number, kind: 'array' | 'object', leaf: unknown): unknown {
  let value = leaf
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value }
  return value
}

const base = (id: string) => ({ id, external_id: id, name: `corpus ${id}` })

/** ~1 MB payloads, by the shape that makes condition work grow: each is a distinct delivery. */
export function corpusPayloads(): Array<{ label: string; payload: Record<string, unknown> }> {
  const digits = `${'1'.repeat(MB - 1)}x`
  return [
    { label: 'a 1 MB run of digits ending in x', payload: { ...base('run'), name: digits, description: digits } },
    { label: 'a 1 MB run of a ending in !', payload: { ...base('a-run'), name: `${'a'.repeat(MB)}!` } },
    { label: 'repeated delimiters: "<p" × 500,000', payload: { ...base('delims'), description: '<p'.repeat(MB / 2) } },
    { label: 'repeated words: "word " × 200,000', payload: { ...base('words'), description: 'word '.repeat(MB / 5) } },
    {
      label: 'the issue: 100 tags whose slugs are "1" × 9,999 + "x"',
      payload: { ...base('issue'), tags: Array.from({ length: 100 }, (_, i) => ({ name: `t${i}`, slug: `${'1'.repeat(9_999)}x` })) },
    },
    {
      label: '1,000 tags of 1,000 digits, names and slugs',
      payload: { ...base('tags-1k'), tags: Array.from({ length: 1_000 }, () => ({ name: '1'.repeat(500), slug: '1'.repeat(499) })) },
    },
    { label: '300,000 empty tags', payload: { ...base('tags-empty'), tags: Array.from({ length: 300_000 }, () => ({})) } },
    { label: '450,000 numbers in extra', payload: { ...base('numbers'), extra: Array.from({ length: 450_000 }, () => 1) } },
    {
      label: '250 assets with 1,000 chapters each',
      payload: { ...base('chapters'), assets: Array.from({ length: 250 }, () => ({ chapters: Array.from({ length: 1_000 }, () => [1]) })) },
    },
    {
      label: 'share with 80,000 keys',
      payload: { ...base('keys'), share: Object.fromEntries(Array.from({ length: 80_000 }, (_, i) => [`k${i}`, i])) },
    },
    {
      label: 'arrays nested 190 deep, 2,000 times',
      payload: { ...base('nested-arrays'), extra: Array.from({ length: 2_000 }, () => nested(190, 'array', '1'.repeat(100))) },
    },
    { label: 'objects nested 190 deep', payload: { ...base('nested-objects'), deep: nested(190, 'object', '1'.repeat(MB - 2_000)) } },
  ]
}
