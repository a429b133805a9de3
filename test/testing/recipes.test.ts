import { cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { simulate } from '../../src/queue/simulate.js'
import { setup } from '../../src/setup.js'
import { loadRecipes, titleFixture } from '../../src/testing/index.js'

const fixture = fileURLToPath(new URL('../fixtures/configs/recipe-tests', import.meta.url))
const title = titleFixture()

const tempDir = () => mkdtempSync(join(tmpdir(), 'ar-recipes-'))

afterEach(() => {
  vi.unstubAllEnvs()
})

/** A copy of the fixture folder: what `loadRecipes()` finds in a user's project. */
function userProject(): string {
  const dir = tempDir()
  cpSync(fixture, dir, { recursive: true })
  return dir
}

describe('loadRecipes', () => {
  it('runs a payload through the config as simulate does: matches, reasons, rendered inputs', async () => {
    const recipes = await loadRecipes({ cwd: fixture })
    expect(recipes.recipes).toEqual(['podcast-ready', 'asset-done', 'paused'])
    expect(recipes.warnings).toEqual([])

    const result = await recipes.simulate('title-ready', title)
    expect(result.matchedNames).toEqual(['podcast-ready'])
    expect(result.recipe('asset-done')).toMatchObject({
      matched: false,
      reason: { kind: 'event', text: 'runs on asset-transcoded, not title-ready' },
    })
    expect(result.recipe('paused').reason?.kind).toBe('disabled')

    const ready = result.recipe('podcast-ready')
    expect(ready.matched).toBe(true)
    // The user's plugin from plugins/, its preview seen by the next step as steps.shout.
    expect(ready.step('shout').input).toEqual({ text: 'EPISODE 42: THE LONG NIGHT by jane@example.com' })
    expect(ready.step(3).input).toEqual({ message: 'shouted: EPISODE 42: THE LONG NIGHT by jane@example.com!' })
    expect(ready.step('paid-only').skipped).toMatch(/is_paid/)
    await recipes.close()
  })

  it('is the same data as simulate --json, with the lookups kept out of toEqual and JSON', async () => {
    const recipes = await loadRecipes({ cwd: fixture })
    const result = await recipes.simulate('title-ready', title)
    const expected = await simulate(await setup({ cwd: fixture }), 'title-ready', title)
    expect(result).toEqual(expected)
    expect(JSON.parse(JSON.stringify(result))).toEqual(expected)
    expect(Object.keys(result.recipe('podcast-ready'))).toEqual(['name', 'matched', 'steps'])
  })

  it('missing credentials are preview mode, not an error, even under NODE_ENV=production', async () => {
    vi.stubEnv('NODE_ENV', 'production')
    const recipes = await loadRecipes({ cwd: fixture })
    const { steps } = (await recipes.simulate('title-ready', title)).recipe('podcast-ready')
    const announce = steps[0]!
    expect(announce.previewMode).toBe('actions.slack.token (or webhookUrl) is not set; set SLACK_BOT_TOKEN')
    expect(announce.input).toEqual({ channel: '#releases', text: `*${title.name}* is live https://example.com/t/4211` })
    // The email step renders the user's recipes/templates/creator-ready.hbs.
    expect((steps[4]!.preview as { html: string }).html).toBe(`<p>Hi Jane Doe, <b>${title.name}</b> is live.</p>\n`)
    await expect(loadRecipes({ cwd: fixture, strict: true })).rejects.toThrow(/would run in preview mode/)
  })

  it('a condition that does not hold says which path and what was there', async () => {
    const recipes = await loadRecipes({ cwd: fixture })
    const result = await recipes.simulate('title-ready', { ...title, tags: [{ name: 'News', slug: 'news' }] })
    const ready = result.recipe('podcast-ready')
    expect(ready).toMatchObject({ matched: false, steps: [], reason: { kind: 'condition', path: 'when.tag' } })
    expect(() => ready.step(1)).toThrow('recipe "podcast-ready" has no step 1 (it does not match: when.tag did not hold')
  })

  it('finds audiorista.config.* in process.cwd() by default; also takes a file path, a URL or a config object', async () => {
    const dir = userProject()
    vi.spyOn(process, 'cwd').mockReturnValue(dir)
    expect((await loadRecipes()).recipes).toEqual(['podcast-ready', 'asset-done', 'paused'])
    expect((await loadRecipes({ config: './audiorista.config.ts' })).recipes).toHaveLength(3)
    vi.restoreAllMocks()

    const url = new URL('../fixtures/configs/recipe-tests/audiorista.config.ts', import.meta.url)
    expect((await loadRecipes({ config: url })).recipes).toHaveLength(3)

    const inline = await loadRecipes({
      config: { recipes: [{ name: 'inline', on: 'title-updated', do: [{ action: 'log', with: { message: '{{name}}' } }] }] },
    })
    expect((await inline.simulate('title-updated', title)).recipe('inline').step(1).input).toEqual({ message: title.name })
  })

  it("lists check's warnings without failing", async () => {
    const recipes = await loadRecipes({
      config: { recipes: [{ name: 'scifi', on: 'title-ready', when: { tags: 'sci-fi' }, do: [{ action: 'log' }] }] },
    })
    expect(recipes.warnings).toEqual([expect.objectContaining({ path: 'recipes[0].when.tags' })])
  })

  it('a config object finds its plugins and templates in cwd', async () => {
    const dir = userProject()
    const recipes = await loadRecipes({
      cwd: dir,
      config: { recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'shout', with: { text: 'hi' } }] }] },
    })
    expect((await recipes.simulate('title-ready', title)).recipe('r').step(1).preview).toEqual({ text: 'hi!' })
  })

  it('says what is wrong: no config, an invalid config, an unknown event, recipe or step, a payload that is no object', async () => {
    const empty = tempDir()
    await expect(loadRecipes({ cwd: empty })).rejects.toThrow(`no config file found in ${empty}`)
    await expect(loadRecipes({ cwd: empty })).rejects.toThrow('pass loadRecipes({ config: "path/to/audiorista.config.ts" })')
    await expect(loadRecipes({ config: { recipes: [{ name: 'x', on: 'title-ready', do: [{ action: 'nope' }] }] } })).rejects.toThrow(
      /recipes\[0\]\.do\[0\]\.action: .*nope/,
    )

    const recipes = await loadRecipes({ cwd: fixture })
    await expect(recipes.simulate('title-published' as 'title-ready', title)).rejects.toThrow(
      'unknown event "title-published"; use one of title-updated, title-ready, asset-transcoded',
    )
    await expect(recipes.simulate('title-ready', [] as never)).rejects.toThrow('the payload must be a JSON object')
    const result = await recipes.simulate('title-ready', title)
    expect(() => result.recipe('podcast')).toThrow('no recipe named "podcast" (recipes: podcast-ready, asset-done, paused)')
    expect(() => result.recipe('podcast-ready').step('slack')).toThrow(
      'recipe "podcast-ready" has no step "slack" (its steps: 1. slack "announce", 2. shout "shout", 3. log, 4. log "paid-only", 5. email "email-creator")',
    )
  })

  it('sees the payload as a delivery would carry it: JSON in, JSON out', async () => {
    const recipes = await loadRecipes({
      config: { recipes: [{ name: 'r', on: 'title-ready', do: [{ action: 'log', with: { at: '{{created}}', gone: '{{gone}}' } }] }] },
    })
    const created = new Date('2026-11-20T10:00:00Z')
    // A JavaScript caller (or a cast) can hand over a Date; a delivery would carry its JSON.
    const result = await recipes.simulate('title-ready', { ...title, created: created as unknown as string, gone: undefined })
    expect(result.recipe('r').step(1).input).toEqual({ at: '2026-11-20T10:00:00.000Z', gone: '' })
  })
})
