import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HttpError } from '../../src/errors.js'
import { canonicalJson, MAX_DEPTH } from '../../src/receive/canonical.js'
import { scanCanonical } from '../../src/receive/canonical-text.js'

/** What the receiver computes for small bodies; the scanner must give the same for large ones. */
const parsed = (text: string) => canonicalJson(JSON.parse(text))

const object = fc.dictionary(fc.string({ unit: 'binary', maxLength: 10 }), fc.jsonValue({ maxDepth: 5 }), { maxKeys: 10 })

describe('scanCanonical: the canonical JSON of a body, without parsing it', () => {
  it('equals canonicalJson(JSON.parse(text)) for any JSON object, however it is spaced', () => {
    fc.assert(
      fc.property(object, fc.constantFrom(undefined, 0, 1, 2, '\t', ' \r\n'), (value, space) => {
        const text = JSON.stringify(value, null, space as never)
        expect(scanCanonical(text)?.canonical).toBe(parsed(text))
      }),
      { numRuns: 1000 },
    )
  })

  it('reads numbers, escapes, duplicates and odd keys as JSON.parse does', () => {
    const cases = [
      '{"n":[1.50,1e2,1E+2,-0,0.1e-3,1e400,-1e400,12345678901234567890]}',
      '{"s":"\\u00e9\\n\\t\\"\\\\\\/ \\ud83c\\udfa7 \\ud800 lone","k\\u0065y":1}',
      '{"a":1,"a":{"b":2},"b":[true,false,null]}',
      '{"__proto__":{"x":1},"constructor":2,"10":3,"9":4,"":5}',
      ' \n{ "name" : "Tom & Jerry" , "deep" : [ [ [ { } ] ] ] } \r\n',
      '{"name":"first","name":42}',
    ]
    for (const text of cases) expect(scanCanonical(text)?.canonical, text).toBe(parsed(text))
    expect(scanCanonical(cases[4]!)?.name).toBe('Tom & Jerry')
    expect(scanCanonical(cases[5]!)?.name).toBeUndefined()
  })

  it('gives up on anything JSON.parse would refuse, and on bodies that are not objects', () => {
    const invalid = [
      '{"a":01}',
      '{"a":1,}',
      '{"a":"\u0001"}',
      '{"a":"\\x"}',
      '{"a" 1}',
      '{"a":tru}',
      '{"a":1}x',
      '{"a":.5}',
      '{"a":-}',
      '[1]',
      '"x"',
      '',
      '\ufeff{}',
      '{"a":"unterminated}',
    ]
    for (const text of invalid) {
      expect(scanCanonical(text), text).toBeUndefined()
      if (text.trimStart().startsWith('{')) expect(() => JSON.parse(text), text).toThrow()
    }
  })

  it('refuses bodies nested deeper than the receiver allows, like canonicalJson', () => {
    const deep = `{"a":${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}}`
    expect(() => scanCanonical(deep)).toThrow(HttpError)
    expect(() => parsed(deep)).toThrow(HttpError)
    const ok = `{"a":${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}}`
    expect(scanCanonical(ok)?.canonical).toBe(parsed(ok))
  })

  it('reads a megabyte of empty objects', () => {
    const text = `{"id":"m1","a":[${'{},'.repeat(300_000)}{}]}`
    expect(scanCanonical(text)?.canonical).toBe(parsed(text))
  })
})
