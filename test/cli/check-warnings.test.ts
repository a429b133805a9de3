import { describe, expect, it } from 'vitest'
import { runCli, writeConfig } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'

const WARNING =
  `recipes[0].when.tags: compares a list of tag objects with the string "sci-fi"; it never matches. ` +
  `Did you mean tag: 'sci-fi' or 'tags.slug': 'sci-fi'?`

function configWithTagsString(): { dir: string; file: string } {
  const dir = tempDir()
  const file = writeConfig(dir, {
    auth: { allowUnauthenticated: true },
    store: { path: 'runner.db' },
    plugins: [],
    recipes: [
      { name: 'sci-fi', on: 'title-ready', when: { tags: 'sci-fi' }, do: [{ action: 'log' }] },
      { name: 'podcast', on: 'title-ready', when: { tag: 'podcast', 'assets.media_type': 'audio' }, do: [{ action: 'log' }] },
    ],
  })
  return { dir, file }
}

describe('check warns about conditions that can never hold for the documented payload', () => {
  it('prints the warning with its config path after the recipes, and exits 0', () => {
    const { dir, file } = configWithTagsString()
    const r = runCli(['check', '--config', file], { cwd: dir })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(`warnings (1):\n  ${WARNING}\n`)
    expect(r.stdout.indexOf('warnings (1):')).toBeGreaterThan(r.stdout.indexOf('podcast'))
    expect(r.stdout).toMatch(/\nok, 1 warning; --strict makes that an error\n$/)
  })

  it('--strict makes it an error: exit 1, listed with the other problems', () => {
    const { dir, file } = configWithTagsString()
    const r = runCli(['check', '--config', file, '--strict'], { cwd: dir })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('1 problem in')
    expect(r.stderr).toContain(WARNING)
  })

  it('says so in --help', () => {
    const r = runCli(['check', '--help'], { cwd: tempDir() })
    expect(r.stdout).toMatch(/--strict\s+also fail on [\s\S]* and on warnings/)
    expect(r.stdout).toContain('exit 0 unless --strict')
  })
})

describe('check warns about Slack links whose URL a payload picks', () => {
  it('names the step and the expression; safeUrl and the config’s own host pass', () => {
    const dir = tempDir()
    const file = writeConfig(dir, {
      auth: { allowUnauthenticated: true },
      store: { path: 'runner.db' },
      plugins: [],
      recipes: [
        {
          name: 'announce',
          on: 'title-ready',
          do: [
            {
              action: 'slack',
              with: {
                channel: '#releases',
                text: '<{{share.url}}|Listen> · <{{safeUrl share.url}}|ok> · <https://site.example/t/{{id}}|{{name}}>',
                blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '<{{{share.url}}}|raw>' } }],
              },
            },
          ],
        },
      ],
    })
    const r = runCli(['check', '--config', file], { cwd: dir })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(
      'warnings (2):\n' +
        '  recipes[0].do[0].with.text: a Slack link takes its URL from {{share.url}}, so a payload picks where it goes ' +
        '(javascript:, any host); use <{{safeUrl …}}|…> or start the link with your own https://host/\n' +
        '  recipes[0].do[0].with.blocks[0].text.text: a Slack link takes its URL from {{{share.url}}}',
    )
  })
})
