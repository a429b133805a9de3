import { afterEach, describe, expect, it } from 'vitest'
import { evaluate, explain, validateCondition } from '../../src/match/condition.js'
import type { Condition, Payload } from '../../src/types.js'
import { contextOf } from './helpers.js'

const hostile = () =>
  JSON.parse(
    '{"__proto__": {"x": 1, "polluted": true}, "name": "a", "share": {"__proto__": {"url": "https://evil"}},' +
      ' "tags": [{"__proto__": {"slug": "podcast"}}], "obj": {"a": 1}, "constructor": {"prototype": {"y": 1}}}',
  ) as Payload

describe('prototype safety', () => {
  afterEach(() => {
    // If anything leaked onto Object.prototype the rest of the suite would lie; fail loudly here instead.
    expect(Object.prototype).not.toHaveProperty('x')
    expect(Object.prototype).not.toHaveProperty('polluted')
    expect(Object.prototype).not.toHaveProperty('y')
  })

  it('a payload __proto__ key lends no fields to the root', () => {
    const ctx = contextOf(hostile())
    expect(evaluate({ x: 1 }, ctx)).toBe(false)
    expect(evaluate({ polluted: { exists: true } }, ctx)).toBe(false)
    expect(evaluate({ 'payload.x': 1 }, ctx)).toBe(false)
    expect(evaluate({ 'share.url': { exists: true } }, ctx)).toBe(false)
    expect(evaluate({ tag: 'podcast' }, ctx)).toBe(false)
    expect(evaluate({ 'tags.slug': 'podcast' }, ctx)).toBe(false)
  })

  it('__proto__, constructor and prototype segments reach nothing', () => {
    const ctx = contextOf(hostile())
    const conditions: Condition[] = [
      { '__proto__.x': 1 },
      { __proto__: { exists: true } },
      { 'constructor.prototype.y': 1 },
      { 'constructor.name': 'Object' },
      { 'name.constructor.name': 'String' },
      { 'tags.constructor.name': 'Array' },
      { 'obj.__proto__.hasOwnProperty': { exists: true } },
      { 'event.constructor': { exists: true } },
      { toString: { exists: true } },
      { 'obj.hasOwnProperty': { exists: true } },
    ]
    for (const cond of conditions) expect(evaluate(cond, ctx), JSON.stringify(Object.keys(cond))).toBe(false)
    expect(evaluate({ 'constructor.name': { exists: false } }, contextOf({}))).toBe(true)
    expect(explain({ 'constructor.name': 'Object' }, contextOf({}))?.reason).toBe('constructor.name: expected "Object", but it is missing')
  })

  it('a literal with an own __proto__ key is not equal to an object lacking it', () => {
    const cond = JSON.parse('{"obj": {"__proto__": {}}}') as Condition
    expect(evaluate(cond, contextOf({ obj: { a: 1 } }))).toBe(false)
    expect(evaluate(cond, contextOf(JSON.parse('{"obj": {"__proto__": {}}}') as Payload))).toBe(true)
  })

  it('a JSON condition with __proto__ keys neither matches through the prototype nor pollutes', () => {
    const cond = JSON.parse('{"__proto__": {"polluted": true}, "rating": {"__proto__": {"gte": 0}, "gte": 4}}') as Condition
    const ctx = contextOf({ rating: '4.5' })
    expect(evaluate(cond, ctx)).toBe(false)
    expect(validateCondition(cond, 'when').map((i) => i.path)).toEqual(['when.__proto__', 'when.rating.__proto__'])
  })

  it('operator lookup ignores inherited names', () => {
    const ctx = contextOf({ a: { constructor: 1 } })
    expect(evaluate({ a: { constructor: 1 } }, ctx)).toBe(true)
    expect(evaluate({ a: { toString: 1 } }, ctx)).toBe(false)
    expect(validateCondition({ a: { constructor: 1, eq: 1 } }, 'when')).toEqual([
      { path: 'when.a.constructor', message: expect.stringMatching(/^unknown operator "constructor"/) },
    ])
  })
})
