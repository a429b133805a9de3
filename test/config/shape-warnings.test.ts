import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { shapeWarnings } from '../../src/config/shape-warnings.js'
import { ConfigError } from '../../src/errors.js'
import { setupFrom } from '../../src/setup.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The warnings of one condition in a title-ready recipe, as `path: message` lines. */
function warn(when: unknown, on: unknown = 'title-ready'): string[] {
  return shapeWarnings([{ name: 'r', on, when, do: [{ action: 'log' }] }]).map((w) => `${w.path}: ${w.message}`)
}

describe('condition warnings: entries that can never hold for the documented Title', () => {
  it('a list of tag objects compared with a string (the issue example)', () => {
    expect(warn({ tags: 'sci-fi' })).toEqual([
      `recipes[0].when.tags: compares a list of tag objects with the string "sci-fi"; it never matches. Did you mean tag: 'sci-fi' or 'tags.slug': 'sci-fi'?`,
    ])
  })

  it('a list of tag objects against a list of strings, `in`, and `contains`', () => {
    expect(warn({ tags: ['podcast', 'news'] })).toEqual([
      `recipes[0].when.tags: compares a list of tag objects with the list ["podcast", "news"]; it never matches. Did you mean tag: ['podcast', 'news'] or 'tags.slug': { in: ['podcast', 'news'] }?`,
    ])
    expect(warn({ tags: { in: ['podcast'] } })[0]).toContain(
      `compares a list of tag objects with each of ["podcast"]; it never matches. Did you mean tag: ['podcast']`,
    )
    expect(warn({ tags: { contains: 'podcast' } })).toEqual([
      `recipes[0].when.tags: looks in a list of tag objects for the string "podcast"; it never matches. Did you mean tag: 'podcast' or 'tags.slug': 'podcast'?`,
    ])
    expect(warn({ 'payload.tags': 'podcast' })[0]).toContain(`or 'payload.tags.slug': 'podcast'?`)
  })

  it('a literal against an object field, with the fields it could have meant', () => {
    expect(warn({ share: 'https://example.com/t/4211' })).toEqual([
      `recipes[0].when.share: compares a share object with the string "https://example.com/t/4211"; it never matches. Did you mean 'share.url': 'https://example.com/t/4211' or 'share.background_image': 'https://example.com/t/4211'?`,
    ])
    expect(warn({ event: 'title-ready' })[0]).toContain(
      `compares an event object with the string "title-ready"; it never matches. Did you mean one of its fields ('event.id', 'event.type', 'event.receivedAt')?`,
    )
    expect(warn({ assets: 'audio' })[0]).toContain(
      `Did you mean one of its fields ('assets.name', 'assets.content_type', 'assets.media_type'`,
    )
  })

  it('a number against a string field and the other way round', () => {
    expect(warn({ rating: 4.5 })).toEqual([
      `recipes[0].when.rating: compares a string with the number 4.5; it never matches. The field is a string: write '4.5'.`,
    ])
    expect(warn({ id: { eq: '4211' } })).toEqual([
      `recipes[0].when.id: compares a number with the string "4211"; it never matches. The field is a number: write 4211.`,
    ])
    expect(warn({ is_paid: 'false' })[0]).toContain('The field is true or false: write false.')
  })

  it('a list where `in` was meant', () => {
    expect(warn({ 'assets.media_type': ['audio', 'video'] })[0]).toContain(
      `compares a string with the list ["audio", "video"]; it never matches. To accept any of these values, use { in: ['audio', 'video'] }.`,
    )
  })

  it('an order with a value that has none', () => {
    expect(warn({ 'assets.duration_ms': { gt: '30m' } })).toEqual([
      `recipes[0].when.assets.duration_ms: compares a number with the string "30m", which is not a number; it never matches. Write 1800000 (milliseconds).`,
    ])
    expect(warn({ tags: { gte: 2 } })).toEqual([
      'recipes[0].when.tags: gte orders numbers or strings, but the value is a list of tag objects; it never matches. To compare its length, use a function: (ctx) => Array.isArray(ctx.tags) && ctx.tags.length >= 2.',
    ])
  })

  it('matches on a list of objects or on true/false', () => {
    expect(warn({ tags: { matches: '^pod' } })).toEqual([
      `recipes[0].when.tags: matches tests text, but the value is a list of tag objects; it never matches. Did you mean 'tags.name': { matches: '^pod' } or 'tags.slug': { matches: '^pod' }?`,
    ])
    expect(warn({ is_paid: /yes/ })[0]).toContain('matches tests text, but the value is true or false; it never matches.')
  })

  it('a path into a plain value or past the fields of the runner’s own objects', () => {
    expect(warn({ 'name.first': 'Episode' })).toEqual([
      `recipes[0].when.name.first: name is a string, so 'name.first' reaches nothing; it never matches.`,
    ])
    expect(warn({ 'tags.slug.x': { exists: false } })[0]).toContain(
      `tags.slug is a string, so 'tags.slug.x' reaches nothing; this entry always holds.`,
    )
    expect(warn({ 'event.typ': 'title-ready' })).toEqual([
      `recipes[0].when.event.typ: event has no field "typ" (it has id, type, receivedAt), so 'event.typ' reaches nothing; it never matches. Did you mean 'event.type'?`,
    ])
  })

  it('a near-miss of a documented field is a question, not a verdict', () => {
    expect(warn({ creater: 'Jane Doe' })).toEqual([`recipes[0].when.creater: "creater" is not a documented field; did you mean 'creator'?`])
    expect(warn({ 'tag.slug': 'podcast' })).toEqual([
      `recipes[0].when.tag.slug: "tag" is not a documented field; did you mean 'tags.slug'? (or tag: 'podcast', which matches a slug or a name)`,
    ])
    expect(warn({ 'share.ulr': { exists: true } })[0]).toContain(`"ulr" is not a documented field; did you mean 'share.url'?`)
    expect(warn({ title: 'Episode 42' })[0]).toContain(`did you mean 'name'?`)
  })

  it('reaches into all, any, not and each step’s if, with their config paths', () => {
    const recipe = {
      name: 'r',
      on: ['title-ready', 'title-updated'],
      when: { all: [{ tag: 'podcast' }, { any: [{ not: { tags: 'x' } }] }] },
      do: [{ action: 'log' }, { action: 'log', if: { share: 'x' } }],
    }
    expect(shapeWarnings([{ name: 'ok', on: 'title-ready', do: [] }, recipe]).map((w) => w.path)).toEqual([
      'recipes[1].when.all[1].any[0].not.tags',
      'recipes[1].do[1].if.share',
    ])
  })

  it('says what an entry under `not` does to the condition: the `not` always holds, or never', () => {
    expect(warn({ not: { tags: 'x' } })[0]).toContain('; the `not` around it always holds.')
    expect(warn({ not: { not: { tags: 'x' } } })[0]).toContain('; it never matches.')
    expect(warn({ not: { 'name.first': { exists: false } } })[0]).toContain('; the `not` around it never holds.')
  })
})

describe('no warning where a condition can hold, or the payload is not documented', () => {
  it('passes valid conditions on documented fields', () => {
    const conditions = [
      { tag: 'podcast' },
      { tag: ['podcast', 'news'] },
      { 'tags.slug': 'podcast' },
      { 'tags.name': { in: ['Podcast', 'News'] } },
      { 'assets.media_type': 'audio' },
      { 'assets.0.media_type': 'audio' },
      { 'assets.duration_ms': { gt: 60_000 } },
      { rating: '4.5' },
      { rating: { gte: 4 } },
      { id: { in: [4211, 4212] } },
      { created: { gte: '2026-01-01' } },
      { name: { matches: '^Episode' } },
      { name: null },
      { share: null },
      { share: { url: 'https://example.com/t/4211' } },
      { 'share.url': { exists: true } },
      { tags: { empty: false } },
      { tags: { ne: 'x' } },
      { tags: { contains: { name: 'Podcast', slug: 'podcast' } } },
      { is_paid: false },
      { 'event.type': 'title-ready' },
      { 'recipe.name': 'r' },
      { 'vars.creators.x': 1 },
      { 'steps.announce.ts': { exists: true } },
      { 'payload.name': { matches: 'Night' } },
    ]
    for (const when of conditions) expect(warn(when), JSON.stringify(when)).toEqual([])
  })

  it('leaves fields the documentation does not list alone (payloads are lenient)', () => {
    for (const when of [{ season: 3 }, { 'extra.season': 3 }, { 'assets.chapters.title': 'One' }, { 'share.embed': true }]) {
      expect(warn(when), JSON.stringify(when)).toEqual([])
    }
  })

  it('says nothing for asset-transcoded, whose body is not documented, alone or mixed', () => {
    expect(warn({ tags: 'sci-fi' }, 'asset-transcoded')).toEqual([])
    expect(warn({ tags: 'sci-fi', creater: 'x' }, ['title-ready', 'asset-transcoded'])).toEqual([])
  })

  it('skips functions and malformed recipes (validation reports those)', () => {
    expect(warn(() => true)).toEqual([])
    expect(shapeWarnings([null, 'x', { on: 'nope', when: { tags: 'x' } }, { on: 'title-ready', when: { all: 'x' } }])).toEqual([])
  })

  it('finds nothing to say about the shipped config and the fixture configs', async () => {
    const dirs = [
      '.',
      ...['valid', 'mission', 'function-export', 'json', 'yaml', 'package-json', 'first-run'].map((d) => `test/fixtures/configs/${d}`),
    ]
    for (const dir of dirs) {
      const { config } = await loadConfig({ cwd: join(root, dir) })
      const recipes = (config as { recipes?: unknown[] }).recipes ?? []
      expect(shapeWarnings(recipes), dir).toEqual([])
    }
  })
})

describe('Setup.warnings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shape-warnings-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const raw = {
    auth: { allowUnauthenticated: true },
    plugins: [],
    recipes: [{ name: 'sci-fi', on: 'title-ready', when: { tags: 'sci-fi' }, do: [{ action: 'log', with: { message: '{{name}}' } }] }],
  }

  it('lists the warnings of a config that loads', async () => {
    const { warnings } = await setupFrom(raw, { rootDir: dir, strict: false })
    expect(warnings.map((w) => w.path)).toEqual(['recipes[0].when.tags'])
  })

  it('makes them errors with warningsAsErrors (check --strict)', async () => {
    const error = await setupFrom(raw, { rootDir: dir, strict: false, warningsAsErrors: true }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['recipes[0].when.tags'])
  })
})
