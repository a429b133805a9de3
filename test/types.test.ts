/**
 * Type-level tests of the payload types: `npm run typecheck` checks every
 * `expectTypeOf` and `@ts-expect-error` here (vitest only runs the calls).
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  type ActionContext,
  type AssetTranscodedPayload,
  defineConfig,
  defineRecipe,
  definePlugin,
  type PayloadMap,
  type Recipe,
  type TemplateContext,
  type TitleAsset,
  type TitlePayload,
  type TitleTag,
} from 'audiorista-runner'
import { titleFixture } from 'audiorista-runner/testing'
import type { TITLE_SHAPE } from '../src/match/shape.js'

describe('typed payloads', () => {
  it('types a title-ready recipe’s when and if by its event', () => {
    const recipe = defineRecipe({
      name: 'typed',
      on: 'title-ready',
      when: (ctx) => {
        expectTypeOf(ctx.payload).toEqualTypeOf<TitlePayload>()
        expectTypeOf(ctx.payload.name).toEqualTypeOf<string | undefined>()
        expectTypeOf(ctx.payload.tags?.[0]?.slug).toEqualTypeOf<string | undefined>()
        expectTypeOf(ctx.payload.share).toEqualTypeOf<TitlePayload['share']>()
        expectTypeOf(ctx.payload.assets?.[0]?.duration_ms).toEqualTypeOf<number | undefined>()
        // The payload's fields are at the root too, and the event is the recipe's.
        expectTypeOf(ctx.name).toEqualTypeOf<string | undefined>()
        expectTypeOf(ctx.event.type).toEqualTypeOf<'title-ready'>()
        // Fields the documentation does not list are allowed, as unknown.
        expectTypeOf(ctx.payload.season).toEqualTypeOf<unknown>()
        // @ts-expect-error a typo reads as an unknown field, which is no string
        const creator: string | undefined = ctx.payload.creater
        // @ts-expect-error is_paid is true or false, never a string
        return ctx.payload.is_paid === 'yes' || creator === ''
      },
      do: [{ action: 'log', if: (ctx) => ctx.payload.tags?.some((t) => t.slug === 'podcast') === true }],
    })
    expectTypeOf(recipe).toEqualTypeOf<Recipe<'title-ready'>>()
    expect(recipe.name).toBe('typed')
  })

  it('compiles the README example', () => {
    const longEpisodes = defineRecipe({
      name: 'long-episodes',
      on: 'title-ready',
      when: (ctx) => (ctx.payload.assets ?? []).some((a) => (a.duration_ms ?? 0) > 3_600_000),
      do: [{ action: 'log', with: { message: '{{name}} runs over an hour' } }],
    })
    expect(longEpisodes.on).toBe('title-ready')
  })

  it('a recipe for several title events sees a Title; one with asset-transcoded sees any object', () => {
    defineRecipe({
      name: 'both',
      on: ['title-ready', 'title-updated'],
      when: (ctx) => expectTypeOf(ctx.payload).toEqualTypeOf<TitlePayload>() === undefined,
      do: [],
    })
    defineRecipe({
      name: 'asset',
      on: 'asset-transcoded',
      when: (ctx) => {
        expectTypeOf(ctx.payload).toEqualTypeOf<AssetTranscodedPayload>()
        expectTypeOf(ctx.payload.name).toEqualTypeOf<unknown>()
        return true
      },
      do: [],
    })
    // @ts-expect-error not an event
    defineRecipe({ name: 'typo', on: 'title-redy', do: [] })
  })

  it('keeps a plain list of recipes working, typed recipes and plain objects mixed', () => {
    const typed = defineRecipe({ name: 'a', on: 'title-ready', when: (ctx) => ctx.payload.name !== undefined, do: [] })
    const config = defineConfig({
      recipes: [
        typed,
        { name: 'b', on: ['title-ready', 'asset-transcoded'], when: (ctx) => ctx.payload.name === 'x', do: [] },
        { name: 'c', on: 'title-ready', when: { tag: 'podcast', 'share.url': { exists: true } }, do: [{ action: 'log' }] },
      ],
    })
    expectTypeOf(typed).toExtend<Recipe>()
    // In a plain list a function sees any event's payload: documented fields are unknown there.
    expectTypeOf<TemplateContext['payload']>().toEqualTypeOf<TitlePayload | AssetTranscodedPayload>()
    expect(config.recipes).toHaveLength(3)
  })

  it('types a plugin’s ctx.payload as the union of the payloads', () => {
    expectTypeOf<ActionContext['payload']>().toEqualTypeOf<PayloadMap[keyof PayloadMap]>()
    definePlugin({
      name: 'titles',
      async run(_input, ctx) {
        if (ctx.event.type === 'asset-transcoded') return null
        return (ctx.payload as TitlePayload).name ?? null
      },
    })
  })

  it('titleFixture takes typed overrides and returns a Title', () => {
    const tags: TitleTag[] = [{ name: 'News', slug: 'news' }]
    const title = titleFixture({ tags, season: 3 })
    expectTypeOf(title).toEqualTypeOf<TitlePayload>()
    // @ts-expect-error name is a string
    titleFixture({ name: 42 })
    expect(title.tags).toEqual(tags)
    expect(title.name).toBe('Episode 42: The Long Night')
  })

  it('the documented shape as data (check’s warnings) and as types agree', () => {
    expectTypeOf<Documented<TitlePayload>>().toEqualTypeOf<FromShape<typeof TITLE_SHAPE>>()
    expectTypeOf<Documented<TitleAsset>>().toEqualTypeOf<FromShape<(typeof TITLE_SHAPE)['fields']['assets']['of']>>()
  })
})

/** The documented fields of a payload type, required, without its index signature. */
type Documented<T> = T extends readonly (infer E)[]
  ? Documented<E>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : K]-?: Documented<Exclude<T[K], undefined>> }
    : T

/** The type a shape describes, in the same terms. */
type FromShape<S> = S extends { nullable: true } ? Base<S> | null : Base<S>
type Base<S> = S extends { kind: 'string' }
  ? string
  : S extends { kind: 'number' }
    ? number
    : S extends { kind: 'boolean' }
      ? boolean
      : S extends { kind: 'list'; of: infer E }
        ? FromShape<E>[]
        : S extends { kind: 'object'; fields: infer F }
          ? { -readonly [K in keyof F]: FromShape<F[K]> }
          : unknown
