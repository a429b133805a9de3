import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, RunnerError } from '../../src/errors.js'
import type { ConfigIssue } from '../../src/errors.js'
import { buildContext } from '../../src/render/context.js'
import { createRenderer } from '../../src/render/renderer.js'
import type { EventInfo, Payload } from '../../src/types.js'

const templatesDir = fileURLToPath(new URL('../fixtures/templates/', import.meta.url))
// A copy of the shared title-ready body, as Audiorista sends it.
const titleReady = JSON.parse(readFileSync(join(templatesDir, 'title-ready.json'), 'utf8')) as Payload
const event: EventInfo = { id: 'evt_1', type: 'title-ready', receivedAt: '2026-11-20T10:00:00.000Z' }
const vars = { creators: { 'Jane Doe': 'jane@example.com' } }
const ctx = buildContext({ payload: titleReady, event, vars, recipe: { name: 'podcast-ready' } })

function thrown(fn: () => unknown): RunnerError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(RunnerError)
    return err as RunnerError
  }
  throw new Error('expected a throw')
}

describe('compileInput and render', () => {
  const renderer = createRenderer({ templatesDir })

  it('renders the title-ready fixture for Slack and email', () => {
    const issues: ConfigIssue[] = []
    const compiled = renderer.compileInput(
      {
        channel: '#releases',
        text: ':headphones: *{{name}}* is live {{share.url}}',
        to: '{{lookup vars.creators creator}}',
        subject: 'Your title "{{name}}" is live',
        unfurl_links: false,
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '{{join tags "name"}} · {{duration assets.0.duration_ms}}' } }],
        template: 'creator-ready',
      },
      'recipes[0].do[0].with',
      issues,
    )
    expect(issues).toEqual([])
    expect(renderer.render(compiled, ctx, 'slack')).toEqual({
      channel: '#releases',
      text: ':headphones: *Episode 42: The Long Night* is live https://example.com/t/4211',
      to: 'jane@example.com',
      subject: 'Your title "Episode 42: The Long Night" is live',
      unfurl_links: false,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Podcast, Sci-Fi · 30:34' } }],
      template: 'creator-ready',
    })
  })

  it('sees event, recipe, vars and steps, and the whole payload', () => {
    const issues: ConfigIssue[] = []
    const compiled = renderer.compileInput('{{event.id}} {{event.type}} {{recipe.name}} {{steps.post.ts}} {{payload.id}}', 'x', issues)
    const withSteps = buildContext({ payload: titleReady, event, vars, recipe: { name: 'podcast-ready' }, steps: { post: { ts: '1.2' } } })
    expect(renderer.render(compiled, withSteps)).toBe('evt_1 title-ready podcast-ready 1.2 4211')
  })

  it('passes non-strings through and keeps odd keys as data', () => {
    const issues: ConfigIssue[] = []
    const when = new Date(0)
    const input = JSON.parse('{"__proto__": "{{id}}", "n": 1, "list": [null, false, "{{id}}"]}') as Record<string, unknown>
    const compiled = renderer.compileInput({ ...input, when }, 'with', issues)
    const out = renderer.render(compiled, ctx) as Record<string, unknown>
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.hasOwn(out, '__proto__')).toBe(true)
    expect(out.n).toBe(1)
    expect(out.list).toEqual([null, false, '4211'])
    expect(out.when).toBe(when)
  })

  it('reports every compile error at once, with config paths', () => {
    const issues: ConfigIssue[] = []
    renderer.compileInput(
      {
        text: 'Hi {{name',
        blocks: [{ text: '{{#if name}}open' }, { text: '{{#each tags}}{{/if}}' }],
        'x-key': '{{shout name}} {{#if (whisper a)}}{{/if}} {{upper (yell b)}}',
        fine: '{{name}}',
        partial: '{{> footer}}',
      },
      'recipes[0].do[1].with',
      issues,
    )
    expect(issues.map((i) => i.path)).toEqual([
      'recipes[0].do[1].with.text',
      'recipes[0].do[1].with.blocks[0].text',
      'recipes[0].do[1].with.blocks[1].text',
      'recipes[0].do[1].with["x-key"]',
      'recipes[0].do[1].with["x-key"]',
      'recipes[0].do[1].with["x-key"]',
      'recipes[0].do[1].with.partial',
    ])
    for (const issue of issues) expect(issue.message).toMatch(/^template does not compile: /)
    expect(issues[0]!.message).toBe(
      'template does not compile: parse error on line 1 in "Hi {{name": unexpected or unfinished expression at "name"',
    )
    expect(issues[1]!.message).toMatch(/in "{{#if name}}open": the template ends inside a block/)
    expect(issues[2]!.message).toContain("each doesn't match if")
    expect(issues[3]!.message).toMatch(/unknown helper "shout" \(line 1, column 1\); known helpers: and, bytes, date, default,/)
    expect(issues[4]!.message).toContain('unknown helper "whisper"')
    expect(issues[5]!.message).toContain('unknown helper "yell"')
    expect(issues[6]!.message).toContain('partials')
    // The issues read well in the error the config loader throws.
    expect(new ConfigError(issues).message.split('\n')).toHaveLength(issues.length + 1)
  })

  it('does not mistake fields or block params for unknown helpers', () => {
    const issues: ConfigIssue[] = []
    renderer.compileInput(
      ['{{name}} {{#share}}{{url}}{{/share}} {{#each tags as |tag|}}{{tag.name}}{{/each}}', 'no braces at all', '\\{{literally}}'],
      'with',
      issues,
    )
    expect(issues).toEqual([])
  })

  it('fails a render clearly when a helper throws', () => {
    const failing = createRenderer({
      templatesDir,
      helpers: {
        explode: () => {
          throw new Error('boom')
        },
      },
    })
    const issues: ConfigIssue[] = []
    const compiled = failing.compileInput({ text: 'ok', html: '{{#each tags}}{{explode name}}{{/each}}' }, 'recipes[2].do[0].with', issues)
    expect(issues).toEqual([])
    const err = thrown(() => failing.render(compiled, ctx, 'html'))
    expect(err.code).toBe('render_failed')
    expect(err.message).toBe('recipes[2].do[0].with.html did not render: helper "explode" threw: boom')
    expect((err.cause as Error).message).toBe('boom')
  })

  it('fails a render when Handlebars itself refuses', () => {
    const issues: ConfigIssue[] = []
    const compiled = renderer.compileInput({ text: '{{#each}}x{{/each}}' }, 'with', issues)
    const err = thrown(() => renderer.render(compiled, ctx))
    expect(err.code).toBe('render_failed')
    expect(err.message).toMatch(/^with\.text did not render: Must pass iterator to #each/)
  })
})

describe('compileString and renderString', () => {
  const renderer = createRenderer({ templatesDir })

  it('render key templates', () => {
    const issues: ConfigIssue[] = []
    expect(renderer.renderString(renderer.compileString('{{id}}', 'recipes[0].once', issues), ctx)).toBe('4211')
    expect(renderer.renderString(renderer.compileString('static', 'recipes[0].once', issues), ctx)).toBe('static')
    renderer.compileString('{{id', 'recipes[1].once', issues)
    expect(issues.map((i) => i.path)).toEqual(['recipes[1].once'])
  })
})

describe('named templates', () => {
  const renderer = createRenderer({ templatesDir })
  const tmp = mkdtempSync(join(tmpdir(), 'render-'))
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))

  it('renders a template from the folder, HTML-escaped', () => {
    const html = renderer.renderTemplate(
      'creator-ready',
      buildContext({ payload: { ...titleReady, name: 'A & B' }, event, recipe: { name: 'r' } }),
    )
    expect(html).toContain('<h1>A &amp; B</h1>')
    expect(html).toContain('By Jane Doe · 30:34 · 28 MB</p>')
    expect(html).toContain('<li>Podcast</li>\n  <li>Sci-Fi</li>')
    expect(html).toContain('<p>A story about <b>stars</b>.</p>')
    expect(html).toContain('<a href="https://example.com/t/4211">')
  })

  it('says which file is missing', () => {
    const err = thrown(() => renderer.renderTemplate('nope', ctx))
    expect(err.code).toBe('template_not_found')
    expect(err.message).toContain(join(templatesDir, 'nope.hbs'))
    expect(renderer.hasTemplate('nope')).toBe(false)
    expect(renderer.hasTemplate('creator-ready')).toBe(true)
  })

  it('refuses names that are paths', () => {
    for (const name of ['../secrets', 'a/b', 'a\\b', '..', '']) {
      expect(thrown(() => renderer.renderTemplate(name, ctx)).code).toBe('template_name_invalid')
      expect(renderer.hasTemplate(name)).toBe(false)
    }
  })

  it('checks templates at load time', () => {
    const issues: ConfigIssue[] = []
    renderer.checkTemplate('creator-ready', 'recipes[0].do[1].with.template', issues)
    renderer.checkTemplate('missing', 'recipes[0].do[2].with.template', issues)
    renderer.checkTemplate('broken', 'recipes[0].do[3].with.template', issues)
    renderer.checkTemplate('unknown-helper', 'recipes[0].do[4].with.template', issues)
    renderer.checkTemplate('../x', 'recipes[0].do[5].with.template', issues)
    expect(issues.map((i) => i.path)).toEqual([
      'recipes[0].do[2].with.template',
      'recipes[0].do[3].with.template',
      'recipes[0].do[4].with.template',
      'recipes[0].do[5].with.template',
    ])
    expect(issues[0]!.message).toMatch(/template "missing" not found: create .*missing\.hbs/)
    expect(issues[1]!.message).toMatch(
      /template "broken" \(.*broken\.hbs\) does not compile: parse error on line 3 in .*: the template ends inside/,
    )
    expect(issues[2]!.message).toMatch(/unknown helper "shout" \(line 1, column 7\).*; unknown helper "whisper"/)
    expect(() => renderer.renderTemplate('broken', ctx)).toThrow(/does not compile/)
  })

  it('names the template when a helper throws while rendering it', () => {
    const failing = createRenderer({
      templatesDir: tmp,
      helpers: {
        explode: () => {
          throw new Error('boom')
        },
      },
    })
    writeFileSync(join(tmp, 'bad.hbs'), '<p>{{explode name}}</p>')
    const err = thrown(() => failing.renderTemplate('bad', ctx))
    expect(err.code).toBe('render_failed')
    expect(err.message).toBe('template "bad" did not render: helper "explode" threw: boom')
  })

  it('compiles a file once and keeps it', () => {
    const local = createRenderer({ templatesDir: tmp })
    writeFileSync(join(tmp, 'note.hbs'), 'v1 {{id}}')
    expect(local.renderTemplate('note', ctx, 'none')).toBe('v1 4211')
    writeFileSync(join(tmp, 'note.hbs'), 'v2 {{id}}')
    expect(local.renderTemplate('note', ctx, 'none')).toBe('v1 4211')
  })
})
