import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { simulate } from '../../src/queue/simulate.js'
import { setupFrom } from '../../src/setup.js'
import type { Config, Payload } from '../../src/types.js'
import { tempDir } from '../helpers/runner.js'

const payload = (): Payload => JSON.parse(readFileSync(new URL('../fixtures/title-ready.json', import.meta.url), 'utf8')) as Payload

async function simulateWith(config: Config, body: Payload) {
  const prepared = await setupFrom({ auth: { allowUnauthenticated: true }, ...config }, { rootDir: tempDir(), strict: false })
  return simulate(prepared, 'title-ready', body)
}

describe('simulate and the condition budget', () => {
  it('shows a recipe whose budget ran out as not matching, with the reason; a later, smaller one still decides', async () => {
    const tags = Array.from({ length: 100 }, (_, i) => ({ name: `t${i}`, slug: `${'1'.repeat(9_999)}x` }))
    const sim = await simulateWith(
      {
        recipes: [
          { name: 'numbered', on: 'title-ready', when: { 'tags.slug': { matches: '\\d+$' } }, do: [{ action: 'log' }] },
          { name: 'named', on: 'title-ready', when: { name: { matches: '^Episode' } }, do: [{ action: 'log' }] },
        ],
      },
      { ...payload(), tags },
    )
    expect(sim.recipes[0]).toEqual({
      name: 'numbered',
      matched: false,
      reason: {
        kind: 'budget',
        path: 'when.tags.slug',
        text: 'when.tags.slug did not hold: the condition budget of one delivery ran out (131,072 characters tested by matches)',
      },
    })
    expect(sim.recipes[1]).toMatchObject({ name: 'named', matched: true })
  })

  it('decides and explains a non-match in one evaluation: a function condition runs once per delivery', async () => {
    let calls = 0
    const counted = () => {
      calls++
      return false
    }
    const sim = await simulateWith(
      { recipes: [{ name: 'never', on: 'title-ready', when: { all: [{ tag: 'podcast' }, counted] }, do: [{ action: 'log' }] }] },
      payload(),
    )
    expect(sim.recipes[0]).toMatchObject({ matched: false, reason: { kind: 'condition', path: 'when.all[1]' } })
    expect(calls).toBe(1)
  })
})
