import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config/resolve.js'
import { configProblems } from '../helpers/config-problems.js'

const problems = (recipes: unknown) => configProblems({ recipes }, { rootDir: '/srv' })

const step = { action: 'log' }

describe('recipes', () => {
  it('accepts every documented shape', () => {
    const recipes = [
      {
        name: 'all',
        on: ['title-ready', 'asset-transcoded'],
        when: (ctx: unknown) => Boolean(ctx),
        once: { key: '{{id}}-{{name}}', window: '30d' },
        debounce: { wait: '30s', key: '{{id}}', maxWait: '5m' },
        enabled: false,
        do: [
          {
            action: 'http',
            name: 'build',
            with: { url: 'https://example.com' },
            if: { tag: 'podcast' },
            once: true,
            debounce: 120_000,
            timeout: '10s',
            retry: { attempts: 3, delay: '1s', factor: 1.5, maxDelay: '1m' },
            continueOnError: true,
          },
          { action: 'log', name: 'after', once: 'per-{{id}}', debounce: '2m' },
        ],
      },
      { name: 'plain', on: 'title-updated', do: [step] },
    ]
    expect(problems(recipes)).toEqual([])
    expect(resolveConfig({ recipes }, { rootDir: '/srv', env: {} }).recipes).toBe(recipes)
  })

  it('reports missing and misspelled recipe options, with suggestions', () => {
    expect(problems([{ nme: 'x', event: 'title-ready', steps: [step] }, 'podcast', null])).toEqual([
      'recipes[0].nme: unknown option (did you mean name?)',
      'recipes[0].event: unknown option (did you mean on?)',
      'recipes[0].steps: unknown option (did you mean do?)',
      'recipes[0].name: required',
      'recipes[0].on: required (one of title-updated, title-ready, asset-transcoded, or a list)',
      'recipes[0].do: required',
      'recipes[1]: must be a recipe ({ name, on, do })',
      'recipes[2]: must be a recipe ({ name, on, do })',
    ])
    expect(problems({ name: 'x' })).toEqual(['recipes: must be a list of recipes'])
  })

  it('checks events, conditions and flags', () => {
    expect(problems([{ name: 'a', on: ['title-ready', 'title-published', 3], when: 'tag=podcast', enabled: 'no', do: [step] }])).toEqual([
      'recipes[0].on[1]: "title-published" is not an event (title-updated, title-ready, asset-transcoded)',
      'recipes[0].on[2]: must be an event (title-updated, title-ready, asset-transcoded)',
      'recipes[0].when: must be a condition (an object or a function)',
      'recipes[0].enabled: must be true or false',
    ])
    expect(problems([{ name: 'a', on: [], do: step }])).toEqual([
      'recipes[0].on: must have at least one event',
      'recipes[0].do: must be a list of steps',
    ])
  })

  it('points a repeated recipe or step name at the first one', () => {
    expect(
      problems([
        {
          name: 'a',
          on: 'title-ready',
          do: [
            { ...step, name: 's' },
            { ...step, name: 't' },
            { ...step, name: 's' },
          ],
        },
        { name: 'b', on: 'title-ready', do: [{ ...step, name: 's' }] },
        { name: 'a', on: 'title-ready', do: [step] },
      ]),
    ).toEqual(['recipes[0].do[2].name: "s" is already used by recipes[0].do[0]', 'recipes[2].name: "a" is already used by recipes[0]'])
  })

  it('checks steps', () => {
    expect(
      problems([
        {
          name: 'a',
          on: 'title-ready',
          do: [
            { action: '', with: 'text', if: [], continueOnError: 1, retry: { attempts: 0, factor: 0.5, tries: 3 } },
            { uses: 'slack', when: { tag: 'x' } },
            'log',
          ],
        },
      ]),
    ).toEqual([
      'recipes[0].do[0].action: must not be empty',
      "recipes[0].do[0].with: must be an object (the action's input)",
      'recipes[0].do[0].if: must be a condition (an object or a function)',
      'recipes[0].do[0].retry.tries: unknown option (known: attempts, delay, factor, maxDelay)',
      'recipes[0].do[0].retry.attempts: must be a positive integer',
      'recipes[0].do[0].retry.factor: must be a number of at least 1',
      'recipes[0].do[0].continueOnError: must be true or false',
      'recipes[0].do[1].uses: unknown option (did you mean action?)',
      'recipes[0].do[1].when: unknown option (did you mean if?)',
      'recipes[0].do[1].action: required',
      'recipes[0].do[2]: must be a step ({ action, with })',
    ])
  })

  it('checks once and debounce shapes', () => {
    const recipe = (extra: object) => [{ name: 'a', on: 'title-ready', do: [{ ...step, ...extra }] }]
    expect(problems(recipe({ once: '', debounce: '2 minutes' }))).toEqual([
      'recipes[0].do[0].once: must not be empty (use true for the default key {{id}})',
      'recipes[0].do[0].debounce: "2 minutes" is not a duration (use 500ms, 30s, 5m, 2h, 7d or a number of ms)',
    ])
    expect(problems(recipe({ once: { key: 1, windw: '1d' }, debounce: { key: '{{id}}' } }))).toEqual([
      'recipes[0].do[0].once.windw: unknown option (did you mean window?)',
      'recipes[0].do[0].once.key: must be a string',
      'recipes[0].do[0].debounce.wait: required',
    ])
    expect(problems(recipe({ once: 5, debounce: { wait: '5m', maxWait: '1m' } }))).toEqual([
      'recipes[0].do[0].once: must be true, a key template or { key, window }',
      'recipes[0].do[0].debounce.maxWait: must not be shorter than wait',
    ])
    expect(problems(recipe({ debounce: true }))).toEqual([
      'recipes[0].do[0].debounce: must be a duration or { wait, key, maxWait } (use 500ms, 30s, 5m, 2h, 7d or a number of ms)',
    ])
  })
})
