import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { ConfigIssue } from '../../src/errors.js'
import { buildContext } from '../../src/render/context.js'
import { createRenderer } from '../../src/render/renderer.js'
import type { EventInfo, Payload } from '../../src/types.js'

const templatesDir = fileURLToPath(new URL('../fixtures/templates/', import.meta.url))
const renderer = createRenderer({ templatesDir })
const event: EventInfo = { id: 'evt_1', type: 'title-ready', receivedAt: '2026-11-20T10:00:00.000Z' }
const NAME = '<b>Tom & Jerry</b> "quoted" \'single\'\nsecond line'
const payload: Payload = {
  name: NAME,
  creator: 'Jane Doe',
  share: null,
  tags: [{ name: 'R&D <lab>' }, { name: '"Sci-Fi"' }],
  rich_description: '<p>A story about <b>stars</b>.</p>',
}
const ctx = buildContext({ payload, event, vars: {}, recipe: { name: 'r' } })

function compile(input: unknown) {
  const issues: ConfigIssue[] = []
  const compiled = renderer.compileInput(input, 'with', issues)
  expect(issues).toEqual([])
  return compiled
}

describe('escaping by destination', () => {
  it('slack escapes only & < >, keeping quotes and newlines', () => {
    const out = renderer.render(compile({ text: ':headphones: *{{name}}*' }), ctx, 'slack')
    expect(out).toEqual({ text: `:headphones: *&lt;b&gt;Tom &amp; Jerry&lt;/b&gt; "quoted" 'single'\nsecond line*` })
  })

  it('html escapes HTML, the Handlebars way', () => {
    const out = renderer.render(compile({ html: '<h1>{{name}}</h1>' }), ctx, 'html') as { html: string }
    expect(out.html).toBe('<h1>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt; &quot;quoted&quot; &#x27;single&#x27;\nsecond line</h1>')
  })

  it('none leaves text alone (email text, subjects, URLs)', () => {
    const out = renderer.render(compile({ subject: 'New: {{name}}' }), ctx, 'none')
    expect(out).toEqual({ subject: `New: ${NAME}` })
  })

  it('escapes inside blocks and helper results too', () => {
    const compiled = compile({
      each: '{{#each tags}}[{{name}}]{{/each}}',
      with: '{{#with (lookup tags 0)}}{{name}}{{/with}}',
      helper: '{{upper name}}',
      sub: '{{default missing name}}',
      noArgs: '{{#if tags}}{{join tags "name"}}{{/if}}',
    })
    expect(renderer.render(compiled, ctx, 'slack')).toEqual({
      each: '[R&amp;D &lt;lab&gt;]["Sci-Fi"]',
      with: 'R&amp;D &lt;lab&gt;',
      helper: `&lt;B&gt;TOM &amp; JERRY&lt;/B&gt; "QUOTED" 'SINGLE'\nSECOND LINE`,
      sub: `&lt;b&gt;Tom &amp; Jerry&lt;/b&gt; "quoted" 'single'\nsecond line`,
      noArgs: 'R&amp;D &lt;lab&gt;, "Sci-Fi"',
    })
    expect((renderer.render(compiled, ctx, 'html') as { each: string }).each).toBe('[R&amp;D &lt;lab&gt;][&quot;Sci-Fi&quot;]')
  })

  it('escapes in else-if chains, inverse sections and with whitespace control', () => {
    const compiled = compile({
      chain: '{{#if missing}}no{{else if share}}no{{else}}{{name}}{{/if}}',
      inverse: '{{^share}}{{creator}} & {{name}}{{/share}}',
      tilde: '[ {{~name~}} ]',
    })
    const out = renderer.render(
      compiled,
      buildContext({ payload: { name: '<x>', creator: 'A&B', share: null }, event, recipe: { name: 'r' } }),
      'slack',
    )
    expect(out).toEqual({ chain: '&lt;x&gt;', inverse: 'A&amp;B & &lt;x&gt;', tilde: '[&lt;x&gt;]' })
  })

  it('triple-stash stays raw in every mode', () => {
    const compiled = compile('{{{rich_description}}} {{& rich_description}}')
    for (const mode of ['none', 'html', 'slack'] as const) {
      expect(renderer.render(compiled, ctx, mode)).toBe('<p>A story about <b>stars</b>.</p> <p>A story about <b>stars</b>.</p>')
    }
  })

  it('applies a mode per top-level field, "*" being the default', () => {
    const compiled = compile({ subject: '{{name}}', html: '{{name}}', text: ['{{name}}'] })
    const out = renderer.render(compiled, ctx, { html: 'html', '*': 'none' }) as Record<string, unknown>
    expect(out.subject).toBe(NAME)
    expect(out.text).toEqual([NAME])
    expect(out.html).toContain('&lt;b&gt;')
    const noDefault = renderer.render(compiled, ctx, { html: 'html' }) as Record<string, unknown>
    expect(noDefault.subject).toBe(NAME)
  })

  it('an object body rendered leaf by leaf cannot break JSON', () => {
    const compiled = compile({ body: { title: '{{name}}', meta: { tags: ['{{join tags "name"}}', 3, true, null] } } })
    const out = renderer.render(compiled, ctx, { '*': 'none' }) as { body: unknown }
    const parsed = JSON.parse(JSON.stringify(out.body)) as { title: string; meta: { tags: unknown[] } }
    expect(parsed.title).toBe(NAME)
    expect(parsed.meta.tags).toEqual(['R&D <lab>, "Sci-Fi"', 3, true, null])
  })

  it('renders null and missing fields as empty', () => {
    const compiled = compile({ url: 'Listen: {{share.url}}', deep: '[{{a.b.c}}]', bare: '[{{share}}]' })
    expect(renderer.render(compiled, ctx, 'slack')).toEqual({ url: 'Listen: ', deep: '[]', bare: '[]' })
  })

  it('keeps prototype access blocked', () => {
    const compiled = compile('[{{constructor.name}}][{{__proto__}}][{{lookup this "constructor"}}]')
    expect(renderer.render(compiled, ctx, 'none')).toBe('[][][]')
  })

  it('named templates default to HTML escaping', () => {
    const html = renderer.renderTemplate('plain', ctx)
    expect(html).toBe('Hi &lt;b&gt;Tom &amp; Jerry&lt;/b&gt; &quot;quoted&quot; &#x27;single&#x27;\nsecond line\n')
    expect(renderer.renderTemplate('plain', ctx, 'none')).toBe(`Hi ${NAME}\n`)
  })
})
