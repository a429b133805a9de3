import { describe, expect, it } from 'vitest'
import { getPath, joinConfigPath } from '../../src/match/path.js'
import { titleReady } from './helpers.js'

describe('getPath', () => {
  const payload = titleReady()

  it('follows nested objects', () => {
    expect(getPath(payload, 'share.url')).toEqual(['https://example.com/t/4211'])
    expect(getPath(payload, 'name')).toEqual(['Episode 42: The Long Night'])
  })

  it('fans out through an array met before the last segment', () => {
    expect(getPath(payload, 'tags.slug')).toEqual(['podcast', 'sci-fi'])
    expect(getPath(payload, 'assets.media_type')).toEqual(['audio'])
  })

  it('indexes an array with a numeric segment', () => {
    expect(getPath(payload, 'assets.0.media_type')).toEqual(['audio'])
    expect(getPath(payload, 'tags.1.name')).toEqual(['Sci-Fi'])
    expect(getPath(payload, 'tags.2.name')).toEqual([])
    expect(getPath(payload, 'tags.01.name')).toEqual([])
  })

  it('keeps the final value as is, arrays included', () => {
    expect(getPath(payload, 'extra')).toEqual([[]])
    expect(getPath(payload, 'assets.chapters')).toEqual([[]])
    expect(getPath(payload, 'tags')).toEqual([payload.tags])
  })

  it('keeps null and explicit values at the end', () => {
    expect(getPath(payload, 'video_snippet')).toEqual([null])
    expect(getPath({ a: { b: undefined } }, 'a.b')).toEqual([undefined])
  })

  it('gives an empty list for a missing path, or one through null or a scalar', () => {
    expect(getPath(payload, 'nope')).toEqual([])
    expect(getPath(payload, 'share.nope')).toEqual([])
    expect(getPath(payload, 'video_snippet.url')).toEqual([])
    expect(getPath(payload, 'name.length')).toEqual([])
    expect(getPath(payload, '')).toEqual([])
  })

  it('skips elements that lack the field', () => {
    expect(getPath({ items: [{ a: 1 }, {}, { a: 3 }, null, 'x'] }, 'items.a')).toEqual([1, 3])
  })

  it('fans out through nested arrays', () => {
    expect(getPath({ grid: [[{ v: 1 }], [{ v: 2 }, { v: 3 }]] }, 'grid.v')).toEqual([1, 2, 3])
    expect(getPath({ grid: [[{ v: 1 }], [{ v: 2 }]] }, 'grid.1.0.v')).toEqual([2])
  })

  it('survives a hostile, deeply nested body', () => {
    const body = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown
    expect(getPath({ body }, 'body.x')).toEqual([])
  })

  it('walks only own properties', () => {
    expect(getPath(payload, 'constructor')).toEqual([])
    expect(getPath(payload, 'toString')).toEqual([])
    expect(getPath(payload, 'constructor.name')).toEqual([])
    expect(getPath(payload, 'share.constructor.prototype')).toEqual([])
    expect(getPath(payload, 'tags.length')).toEqual([])
    expect(getPath(payload, 'hasOwnProperty')).toEqual([])
    expect(getPath(Object.create({ inherited: 1 }) as unknown, 'inherited')).toEqual([])
  })

  it('never follows __proto__, constructor or prototype, even when they are own keys', () => {
    const parsed = JSON.parse('{"__proto__": {"x": 1}, "constructor": {"name": "evil"}, "prototype": 2}') as unknown
    expect(getPath(parsed, '__proto__')).toEqual([])
    expect(getPath(parsed, '__proto__.x')).toEqual([])
    expect(getPath(parsed, 'constructor.name')).toEqual([])
    expect(getPath(parsed, 'prototype')).toEqual([])
    expect(getPath(parsed, 'x')).toEqual([])
  })

  it('reaches nothing from a function or a primitive root', () => {
    expect(getPath(() => 1, 'name')).toEqual([])
    expect(getPath('text', 'length')).toEqual([])
    expect(getPath(null, 'a')).toEqual([])
  })
})

describe('joinConfigPath', () => {
  it('appends dot-paths and brackets odd keys', () => {
    expect(joinConfigPath('when', 'share.url')).toBe('when.share.url')
    expect(joinConfigPath('when', 'a b')).toBe('when["a b"]')
    expect(joinConfigPath('', 'tag')).toBe('tag')
  })
})
