/**
 * Tests of your recipes. Each runs a payload through audiorista.config.ts the
 * way `npx audiorista-runner simulate` does: which recipes match, why the
 * others do not, and each step's rendered input. Nothing is sent. `npx vitest`
 */
import { loadRecipes, titleFixture } from 'audiorista-runner/testing'
import { describe, expect, it } from 'vitest'

// audiorista.config.ts in the folder vitest runs in (or loadRecipes({ config: 'path/to/it' })).
const recipes = await loadRecipes()

describe('title-ready', () => {
  it('announces a podcast episode', async () => {
    const result = await recipes.simulate('title-ready', titleFixture())
    const announce = result.recipe('announce-podcast')
    expect(announce.matched).toBe(true)
    expect(announce.step(1).input).toEqual({ content: '**Episode 42: The Long Night** is live: https://example.com/t/4211' })
  })

  it('does not announce a title without the podcast tag', async () => {
    const result = await recipes.simulate('title-ready', titleFixture({ tags: [{ name: 'News', slug: 'news' }] }))
    expect(result.matchedNames).toEqual(['log-every-event'])
    expect(result.recipe('announce-podcast').reason?.text).toMatch(/^when\.tag did not hold/)
  })

  // Once the mission recipe is uncommented in audiorista.config.ts:
  // it('emails the creator from vars.creators', async () => {
  //   const result = await recipes.simulate('title-ready', titleFixture())
  //   const email = result.recipe('podcast-ready').step('email-creator')
  //   expect(email.input).toMatchObject({ to: 'jane@example.com', subject: 'Your title "Episode 42: The Long Night" is live' })
  //   // The body: recipes/templates/creator-ready.hbs, rendered (SMTP_URL unset: a preview).
  //   expect(email.preview).toMatchObject({ html: expect.stringContaining('<strong>Episode 42: The Long Night</strong>') })
  // })
})
