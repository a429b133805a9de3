import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { scanCanonical } from '../../src/receive/canonical-text.js'
import { parseBody, parseInSlices } from '../../src/receive/parse-in-slices.js'
import { SLICE } from '../../src/receive/slice-plan.js'

/** Parses `text` by the scanner's plan; the text must be large enough to have one. */
async function sliced(text: string): Promise<unknown> {
  const plan = scanCanonical(text)?.plan
  expect(plan, 'a large body has a plan').toBeDefined()
  return parseInSlices(text, plan!)
}

/** Same values, same key order (JSON.stringify shows both), same own keys. */
function expectSameAsJsonParse(actual: unknown, text: string): void {
  const expected = JSON.parse(text)
  expect(actual).toEqual(expected)
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected))
}

const member = fc.tuple(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ maxDepth: 4 }))

describe('parsing a large body in slices', () => {
  it('gives what JSON.parse gives, for random large JSON with duplicate keys and whitespace', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(member, { minLength: 1, maxLength: 40 }), fc.constantFrom('', ' ', '\n\t'), async (members, ws) => {
        // Members repeated until the text is over a slice, so keys repeat too (the last one wins).
        const one = members.map(([k, v]) => `${JSON.stringify(k)}:${ws}${JSON.stringify(v)}`).join(`,${ws}`)
        const times = Math.ceil((SLICE * 2) / Math.max(one.length, 1))
        const inner = Array.from({ length: times }, (_, i) => `${one},"n${i}":[${one.length > 0 ? `{${one}}` : ''}]`).join(',')
        const text = `${ws}{${ws}${inner},"tail":${JSON.stringify(members.map(([, v]) => v))}}${ws}`
        expectSameAsJsonParse(await sliced(text), text)
      }),
      { numRuns: 25 },
    )
  })

  it('keeps the shapes of the worst cases: many elements, many keys, deep nesting, one huge string', async () => {
    const bodies = [
      `{"v":[${Array(100_000).fill('{}').join(',')}]}`,
      `{"v":[${Array(100_000).fill('1').join(',')}],"w":{"x":[[${Array(50_000).fill('"a"').join(',')}]]}}`,
      `{"v":{${Array.from({ length: 20_000 }, (_, i) => `"${i % 3 === 0 ? i : `k${i}`}":${i}`).join(',')}}}`,
      `{"v":[${Array(500)
        .fill(`${'['.repeat(150)}1${']'.repeat(150)}`)
        .join(',')}]}`,
      `{"v":${JSON.stringify('<p'.repeat(100_000))},"name":"x"}`,
    ]
    for (const text of bodies) expectSameAsJsonParse(await sliced(text), text)
  })

  it('keeps __proto__ an own key, never the prototype', async () => {
    const filler = Array.from({ length: 5_000 }, (_, i) => `"k${i}":${i}`).join(',')
    const text = `{${filler},"__proto__":{"polluted":true},"big":{"__proto__":[${Array(20_000).fill('1').join(',')}]}}`
    const value = (await sliced(text)) as Record<string, unknown>
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect(Object.hasOwn(value, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expectSameAsJsonParse(value, text)
  })

  it('parseBody parses small bodies at once and large ones through the scanner', async () => {
    expect(await parseBody('{"a":1}')).toEqual({ a: 1 })
    const text = `{"v":[${Array(50_000).fill('{"a":[1,2]}').join(',')}]}`
    expectSameAsJsonParse(await parseBody(text), text)
  })
})
