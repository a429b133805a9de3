import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HttpError } from '../../src/errors.js'
import { bodyHash, canonicalJson, MAX_DEPTH } from '../../src/receive/canonical.js'

/** The first, plain implementation: the canonical form stored dedupe keys were made with. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map((v) => reference(v)).join(',')}]`
  const keys = Object.keys(value).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference((value as Record<string, unknown>)[k])}`).join(',')}}`
}

describe('canonical JSON (the dedupe key)', () => {
  it('is the same string as the reference implementation for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(reference(value))
      }),
      { numRuns: 500 },
    )
  })

  it('does not depend on key order, and keeps __proto__ keys as data', () => {
    const a = JSON.parse('{"b":1,"a":{"y":[2,{"q":3,"p":4}],"x":null},"__proto__":{"z":"\\u2028"}}')
    const b = JSON.parse('{"__proto__":{"z":"\\u2028"},"a":{"x":null,"y":[2,{"p":4,"q":3}]},"b":1}')
    expect(canonicalJson(a)).toBe('{"__proto__":{"z":"\u2028"},"a":{"x":null,"y":[2,{"p":4,"q":3}]},"b":1}')
    expect(canonicalJson(b)).toBe(canonicalJson(a))
  })

  it('keeps the hash of the seed payload (stored dedupe keys must stay valid across versions)', () => {
    const body = JSON.parse(readFileSync(new URL('../fixtures/title-ready.json', import.meta.url), 'utf8'))
    expect(bodyHash(body)).toBe('de8d6bac44b50f775da9dbf9a59abef4d468830fc4db36392ec754d41172e98e')
  })

  it(`refuses bodies nested more than ${MAX_DEPTH} levels deep with a 400`, () => {
    const nest = (levels: number) => JSON.parse(`${'['.repeat(levels)}1${']'.repeat(levels)}`)
    expect(() => canonicalJson(nest(MAX_DEPTH))).not.toThrow()
    expect(() => canonicalJson(nest(MAX_DEPTH + 1))).toThrow(HttpError)
    try {
      canonicalJson(nest(MAX_DEPTH + 1))
    } catch (err) {
      expect((err as HttpError).status).toBe(400)
      expect((err as HttpError).code).toBe('too_deep')
    }
  })
})
