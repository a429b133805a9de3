import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type Simulation, simulate } from '../../src/queue/simulate.js'
import { setupFrom } from '../../src/setup.js'
import type { Config, Payload } from '../../src/types.js'
import { tempDir } from '../helpers/runner.js'

const payload = (): Payload => JSON.parse(readFileSync(new URL('../fixtures/title-ready.json', import.meta.url), 'utf8')) as Payload
const title = 'Episode 42: The Long Night'

async function simulateWith(config: Config, body: Payload = payload()): Promise<Simulation> {
  const prepared = await setupFrom({ auth: { allowUnauthenticated: true }, ...config }, { rootDir: tempDir(), strict: false })
  return simulate(prepared, 'title-ready', body)
}

describe('simulate', () => {
  it('a matching recipe: each step rendered, previewed, and its result seen by the next step', async () => {
    const sim = await simulateWith({
      recipes: [
        {
          name: 'announce',
          on: 'title-ready',
          when: { tag: 'podcast' },
          do: [
            { action: 'log', name: 'first', with: { message: 'ready: {{name}}' }, once: true },
            { action: 'log', with: { message: 'after {{steps.first.message}}' }, debounce: '10s' },
          ],
        },
      ],
    })
    expect(sim).toEqual({
      event: 'title-ready',
      matched: 1,
      total: 1,
      recipes: [
        {
          name: 'announce',
          matched: true,
          steps: [
            {
              index: 1,
              action: 'log',
              name: 'first',
              flow: ['once'],
              input: { message: `ready: ${title}` },
              preview: { message: `ready: ${title}` },
            },
            {
              index: 2,
              action: 'log',
              flow: ['debounced'],
              input: { message: `after ready: ${title}` },
              preview: { message: `after ready: ${title}` },
            },
          ],
        },
      ],
    })
    // Plain data: what the console sends is what the CLI printed.
    expect(JSON.parse(JSON.stringify(sim))).toEqual(sim)
  })

  it('says why each other recipe does not match: its events, its condition (path and actual value), disabled', async () => {
    const log = [{ action: 'log', with: { message: 'x' } }]
    const sim = await simulateWith({
      recipes: [
        { name: 'assets', on: ['asset-transcoded', 'title-updated'], do: log },
        { name: 'other-title', on: 'title-ready', when: { name: 'Other' }, do: log },
        { name: 'off', on: 'title-ready', enabled: false, do: log },
      ],
    })
    expect(sim.matched).toBe(0)
    expect(sim.total).toBe(3)
    expect(sim.recipes).toEqual([
      {
        name: 'assets',
        matched: false,
        reason: {
          kind: 'event',
          events: ['asset-transcoded', 'title-updated'],
          text: 'runs on asset-transcoded, title-updated, not title-ready',
        },
      },
      {
        name: 'other-title',
        matched: false,
        reason: {
          kind: 'condition',
          path: 'when.name',
          actual: title,
          text: `when.name did not hold: name: expected "Other", got "${title}"`,
        },
      },
      { name: 'off', matched: false, reason: { kind: 'disabled', text: 'disabled (enabled: false)' } },
    ])
  })

  it('a step whose if does not hold is skipped, with why, and the next step still runs', async () => {
    const sim = await simulateWith({
      recipes: [
        {
          name: 'paid-only',
          on: 'title-ready',
          do: [
            { action: 'log', name: 'paid', with: { message: 'paid' }, if: { is_paid: true } },
            { action: 'log', with: { message: 'always' } },
          ],
        },
      ],
    })
    const [recipe] = sim.recipes
    expect(recipe?.matched && recipe.steps).toEqual([
      { index: 1, action: 'log', name: 'paid', flow: [], skipped: 'is_paid: expected true, got false' },
      { index: 2, action: 'log', flow: [], input: { message: 'always' }, preview: { message: 'always' } },
    ])
  })

  it('a step without credentials is in preview mode, with why, and shows what it would send', async () => {
    const sim = await simulateWith({
      recipes: [
        { name: 'announce', on: 'title-ready', do: [{ action: 'slack', with: { channel: '#releases', text: '{{name}} is live' } }] },
      ],
    })
    const [recipe] = sim.recipes
    expect(recipe?.matched && recipe.steps).toEqual([
      {
        index: 1,
        action: 'slack',
        previewMode: 'actions.slack.token (or webhookUrl) is not set; set SLACK_BOT_TOKEN',
        flow: [],
        input: { channel: '#releases', text: `${title} is live` },
        preview: `slack message to #releases: ${title} is live`,
      },
    ])
  })

  it('masks secrets in the rendered input and the preview', async () => {
    const sim = await simulateWith({
      recipes: [
        {
          name: 'rebuild',
          on: 'title-ready',
          do: [
            {
              action: 'http',
              with: { url: 'https://example.com/hook?token=s3cr3t&title={{id}}', headers: { authorization: 'Bearer xyz' } },
            },
          ],
        },
      ],
    })
    const [recipe] = sim.recipes
    const [step] = (recipe?.matched && recipe.steps) || []
    expect(step?.input).toEqual({
      url: 'https://example.com/hook?token=[redacted]&title=4211',
      headers: { authorization: '[redacted]' },
    })
    expect(step?.preview).toContain('token=[redacted]')
    expect(JSON.stringify(sim)).not.toMatch(/s3cr3t|xyz/)
  })

  it('an input the plugin refuses lists its issues; one that does not render is an error', async () => {
    const sim = await simulateWith({
      recipes: [
        {
          name: 'broken',
          on: 'title-ready',
          do: [
            { action: 'exec', with: { command: '{{nothing}}' } },
            { action: 'log', with: { message: '{{#each}}x{{/each}}' } },
          ],
        },
      ],
    })
    const [recipe] = sim.recipes
    const [invalid, failed] = (recipe?.matched && recipe.steps) || []
    expect(invalid).toEqual({
      index: 1,
      action: 'exec',
      flow: [],
      input: { command: '' },
      issues: [{ path: 'with.command', message: expect.any(String) }],
    })
    expect(failed).toEqual({
      index: 2,
      action: 'log',
      flow: [],
      error: 'recipes[0].do[1].with.message did not render: Must pass iterator to #each',
    })
  })
})
