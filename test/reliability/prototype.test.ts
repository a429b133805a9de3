/**
 * Prototype safety end to end: hostile payloads go through HTTP, the store,
 * matching, rendering and a plugin. No `__proto__`, `constructor` or
 * `prototype` key may change which recipe runs or what a template renders,
 * and nothing may land on Object.prototype of the runner process (a probe
 * plugin running inside the runner reports `({}).polluted`).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { startTestRunner, tempDir, type TestRunner } from '../helpers/runner.js'
import { createReport } from './report.js'

const report = createReport()
afterAll(() => report.write())

let t: TestRunner | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
  // If anything leaked, later tests in this worker would lie: fail here, loudly.
  for (const name of ['polluted', 'isAdmin', 'tag', 'tags', 'role', 'x']) expect(Object.prototype).not.toHaveProperty(name)
})

const PROBE = `import { definePlugin } from 'audiorista-runner'
export default definePlugin({
  name: 'probe',
  async run(input, ctx) {
    const plain: any = {}
    return {
      input,
      // What a fresh object sees in the runner process: all must stay null.
      polluted: plain.polluted ?? null,
      isAdmin: plain.isAdmin ?? null,
      tag: plain.tag ?? null,
      protoNames: Object.getOwnPropertyNames(Object.prototype).sort().join(','),
      inputProtoIsPlain: Object.getPrototypeOf(input) === Object.prototype || Object.getPrototypeOf(input) === null,
      eventId: ctx.event.id,
    }
  },
})
`

const TEMPLATE = [
  'admin=[{{isAdmin}}]',
  'role=[{{role}}]',
  'polluted=[{{polluted}}]',
  'tag=[{{tag}}]',
  'ctor=[{{constructor.name}}]',
  'lookup=[{{lookup this "polluted"}}]',
  'if=[{{#if isAdmin}}ADMIN{{/if}}]',
  'each=[{{#each tags}}{{slug}};{{/each}}]',
  'join=[{{join tags "slug"}}]',
  'event=[{{event.type}}]',
  'recipe=[{{recipe.name}}]',
  'vars=[{{vars.creators.Mallory}}]',
].join(' ')

/** Payloads that try to smuggle `tag: podcast`, `isAdmin`, or reserved context names. None of them is a podcast or an admin. */
const HOSTILE: Array<[string, string]> = [
  [
    '__proto__ at the root',
    '{"name":"h1","__proto__":{"tag":"podcast","tags":[{"slug":"podcast","name":"Podcast"}],"isAdmin":true,"polluted":"yes","role":"admin"}}',
  ],
  [
    'constructor.prototype at the root',
    '{"name":"h2","constructor":{"prototype":{"tag":"podcast","isAdmin":true,"polluted":"yes","tags":[{"slug":"podcast"}]}}}',
  ],
  ['prototype at the root', '{"name":"h3","prototype":{"isAdmin":true,"polluted":"yes"}}'],
  ['__proto__ inside a tag', '{"name":"h4","tags":[{"__proto__":{"slug":"podcast","name":"Podcast"}}]}'],
  ['__proto__ as the tags list', '{"name":"h5","tags":{"__proto__":[{"slug":"podcast"}]}}'],
  ['constructor inside a tag', '{"name":"h6","tags":[{"constructor":{"prototype":{"slug":"podcast"}}}]}'],
  ['nested __proto__', '{"name":"h7","__proto__":{"__proto__":{"polluted":1,"isAdmin":true}}}'],
  ['__proto__ deep in data', '{"name":"h8","a":{"__proto__":{"polluted":true}},"b":[{"constructor":{"prototype":{"polluted":true}}}]}'],
  [
    'reserved names in the payload',
    '{"name":"h9","event":{"type":"forged","id":"evt_forged"},"vars":{"creators":{"Mallory":"mallory@evil"}},"recipe":{"name":"admin-only"},"steps":{"x":{"isAdmin":true}}}',
  ],
  [
    'own toString/valueOf/hasOwnProperty',
    '{"name":"h10","toString":"x","valueOf":"y","hasOwnProperty":"z","isPrototypeOf":"w","__defineGetter__":"v"}',
  ],
  ['creator names a prototype member', '{"name":"h11","creator":"__proto__"}'],
  ['creator "constructor"', '{"name":"h12","creator":"constructor"}'],
  ['creator "toString"', '{"name":"h13","creator":"toString"}'],
  ['creator "hasOwnProperty"', '{"name":"h14","creator":"hasOwnProperty"}'],
  ['tag given as a string field', '{"name":"h15","tag":"podcast-not-a-tag-list"}'],
]

describe('prototype safety: payloads cannot steer conditions, templates or plugins', () => {
  it('no hostile payload matches a guarded recipe, injects into a template, or pollutes Object.prototype', async () => {
    const row = report.row(
      'prototype',
      'Prototype safety: __proto__/constructor/prototype payloads end to end (in-process runner, probe plugin)',
    )
    const dir = tempDir('ar-proto-')
    writeFileSync(join(dir, 'probe.ts'), PROBE)
    t = await startTestRunner(
      {
        auth: { allowUnauthenticated: true },
        plugins: [join(dir, 'probe.ts')],
        vars: { creators: { 'Jane Doe': 'jane@example.com' } },
        queue: { concurrency: 4, retry: { attempts: 1 } },
        recipes: [
          { name: 'podcast-only', on: 'title-ready', when: { tag: 'podcast' }, do: [{ action: 'probe', with: { guard: 'tag' } }] },
          {
            name: 'podcast-path',
            on: 'title-ready',
            when: { 'tags.slug': 'podcast' },
            do: [{ action: 'probe', with: { guard: 'tags.slug' } }],
          },
          { name: 'admin-only', on: 'title-ready', when: { isAdmin: true }, do: [{ action: 'probe', with: { guard: 'isAdmin' } }] },
          {
            name: 'admin-exists',
            on: 'title-ready',
            when: { any: [{ isAdmin: { exists: true } }, { role: 'admin' }, { polluted: { exists: true } }] },
            do: [{ action: 'probe', with: { guard: 'exists' } }],
          },
          {
            name: 'admin-fn',
            on: 'title-ready',
            when: (ctx) => (ctx as Record<string, unknown>).isAdmin === true || ({} as Record<string, unknown>).isAdmin === true,
            do: [{ action: 'probe', with: { guard: 'fn' } }],
          },
          {
            name: 'template',
            on: 'title-ready',
            do: [
              {
                action: 'probe',
                with: {
                  text: TEMPLATE,
                  to: '{{lookup vars.creators creator}}',
                  nested: { admin: '{{isAdmin}}', list: ['{{polluted}}', '{{role}}'] },
                },
              },
            ],
          },
        ],
      },
      { dir },
    )

    // Controls first: the guarded recipes do match a real podcast and a real admin, so "no match" below means something.
    const controls: Array<[string, string[]]> = [
      ['{"name":"c1","tags":[{"slug":"podcast","name":"Podcast"}],"creator":"Jane Doe"}', ['podcast-only', 'podcast-path', 'template']],
      ['{"name":"c2","isAdmin":true}', ['admin-only', 'admin-exists', 'admin-fn', 'template']],
    ]
    for (const [body, recipes] of controls) {
      const res = await t.post('title-ready', body)
      expect(res.status).toBe(202)
      await t.runner.engine.idle()
      const runs = await t.runner.store.runsForEvent(res.json.id)
      expect(runs.map((r) => r.recipe).sort()).toEqual(recipes.sort())
      expect(runs.every((r) => r.state === 'done')).toBe(true)
    }

    const problems: string[] = []
    const protoNames = Object.getOwnPropertyNames(Object.prototype).sort().join(',')
    for (const [label, body] of HOSTILE) {
      const res = await t.post('title-ready', body)
      if (res.status !== 202) {
        problems.push(`${label}: status ${res.status}`)
        continue
      }
      await t.runner.engine.idle()
      const runs = await t.runner.store.runsForEvent(res.json.id)
      const recipes = runs.map((r) => r.recipe)
      if (recipes.join() !== 'template') problems.push(`${label}: recipes ${recipes.join(', ')} ran (only "template" should)`)
      for (const run of runs) {
        if (run.state !== 'done') {
          problems.push(`${label}: ${run.recipe} is ${run.state}: ${run.error}`)
          continue
        }
        const result = run.result as {
          input: { text: string; to: string; nested: { admin: string; list: string[] } }
          polluted: unknown
          isAdmin: unknown
          tag: unknown
          protoNames: string
          inputProtoIsPlain: boolean
        }
        if (result.polluted !== null || result.isAdmin !== null || result.tag !== null)
          problems.push(`${label}: Object.prototype polluted in the runner: ${JSON.stringify(result)}`)
        if (result.protoNames !== protoNames) problems.push(`${label}: Object.prototype gained names: ${result.protoNames}`)
        if (!result.inputProtoIsPlain) problems.push(`${label}: the plugin input has a foreign prototype`)
        const text = result.input.text
        const expected = `admin=[] role=[] polluted=[] tag=[${label.startsWith('tag given') ? 'podcast-not-a-tag-list' : ''}]`
        if (!text.startsWith(expected)) problems.push(`${label}: template rendered "${text}"`)
        if (!/ctor=\[\] lookup=\[\] if=\[\] each=\[[^\]]*\] join=\[.*?\] event=\[title-ready\] recipe=\[template\] vars=\[\]$/.test(text))
          problems.push(`${label}: template rendered "${text}"`)
        if (/podcast;|join=\[podcast/.test(text)) problems.push(`${label}: a tag slug leaked into the template: "${text}"`)
        if (result.input.to !== '') problems.push(`${label}: {{lookup vars.creators creator}} rendered "${result.input.to}"`)
        if (result.input.nested.admin !== '' || result.input.nested.list.join() !== ',')
          problems.push(`${label}: nested input rendered ${JSON.stringify(result.input.nested)}`)
      }
    }
    // The test process is the runner process here: look directly too.
    const plain = {} as Record<string, unknown>
    row.tried = `${HOSTILE.length} hostile payloads, 2 controls, 6 recipes`
    row.lost = 0
    row.duplicated = 0
    row.notes = `problems ${problems.length}; ({}).polluted in the runner: ${String(plain.polluted)}`
    expect(problems).toEqual([])
    expect(plain.polluted).toBeUndefined()
    expect(plain.isAdmin).toBeUndefined()
    expect(t.lines().filter((l) => l.msg === 'engine error' || l.level === 50)).toEqual([])
    row.result = 'pass'
  })
})
