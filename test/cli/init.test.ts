/**
 * `init` through the built CLI in temp folders; the scaffolded config is then
 * loaded as `check` and `loadRecipes` load it. The same flow from a packed
 * tarball, with vitest running the scaffolded test, is test/package/pack.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SCAFFOLD } from '../../src/cli/init.js'
import { loadRecipes, titleFixture } from '../../src/testing/index.js'
import { runCli } from '../helpers/child.js'
import { enableMission } from '../helpers/scaffold.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const tempDir = () => mkdtempSync(join(tmpdir(), 'ar-init-'))
const files = SCAFFOLD.map((f) => f.to)
const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8')

/** Every scaffolded file's text and mtime, to see that a refused init touched nothing. */
const snapshot = (dir: string) => [...files, '.gitignore'].map((f) => [f, read(dir, f), statSync(join(dir, f)).mtimeMs])

describe('init', () => {
  it('scaffolds a project that check accepts, and says what to run next', () => {
    const dir = tempDir()
    const r = runCli(['init'], { cwd: dir })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    for (const { to, from } of SCAFFOLD) expect(read(dir, to), to).toBe(read(root, from))
    expect(read(dir, '.gitignore')).toBe('.audiorista/\n')
    expect(r.stdout).toContain(`Created in ${dir}:`)
    for (const f of files) expect(r.stdout).toContain(`  ${f}`)
    expect(r.stdout).toMatch(/npm i audiorista-runner .*\n.*npx audiorista-runner check.*\n.*npx audiorista-runner start.*\n.*npx vitest/)

    const check = runCli(['check'], { cwd: dir })
    expect(check.status, check.stderr).toBe(0)
    expect(check.stdout).toContain('log-every-event')
    expect(check.stdout).toContain('announce-podcast')
    expect(check.stdout).toContain('discord (plugins/example.ts)')
  })

  it('refuses to overwrite, naming every file in the way and --force, and writes nothing', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'audiorista.config.json'), '{}')
    mkdirSync(join(dir, 'plugins'))
    writeFileSync(join(dir, 'plugins/example.ts'), '// mine\n')
    const refused = runCli(['init'], { cwd: dir })
    expect(refused.status).toBe(1)
    expect(refused.stderr).toBe(
      `error: init would overwrite files in ${dir}:\n` +
        '  plugins/example.ts\n' +
        '  audiorista.config.json (a config: audiorista.config.ts would take its place)\n' +
        'Nothing was written. Run again with --force to overwrite them.\n',
    )
    expect(read(dir, 'plugins/example.ts')).toBe('// mine\n')
    expect(() => statSync(join(dir, 'audiorista.config.ts'))).toThrow()
    expect(() => statSync(join(dir, '.gitignore'))).toThrow()

    expect(runCli(['init', '--force'], { cwd: dir }).status).toBe(0)
    expect(read(dir, 'plugins/example.ts')).toBe(read(root, 'plugins/example.ts'))
    const before = snapshot(dir)
    const again = runCli(['init'], { cwd: dir })
    expect(again.status).toBe(1)
    for (const f of files) expect(again.stderr).toContain(`  ${f}\n`)
    expect(snapshot(dir)).toEqual(before)
  })

  it('adds .audiorista/ to an existing .gitignore once, on a line of its own', () => {
    const dir = tempDir()
    writeFileSync(join(dir, '.gitignore'), 'node_modules/')
    const r = runCli(['init'], { cwd: dir })
    expect(r.stdout).toMatch(/\.gitignore +added \.audiorista\//)
    expect(read(dir, '.gitignore')).toBe('node_modules/\n.audiorista/\n')
    runCli(['init', '--force'], { cwd: dir })
    expect(read(dir, '.gitignore')).toBe('node_modules/\n.audiorista/\n')

    const other = tempDir()
    writeFileSync(join(other, '.gitignore'), 'dist\n/.audiorista\n')
    expect(runCli(['init'], { cwd: other }).stdout).toMatch(/\.gitignore +already ignores \.audiorista\//)
    expect(read(other, '.gitignore')).toBe('dist\n/.audiorista\n')
  })

  it('--dir scaffolds another folder, creating it, and the next commands start with cd', () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, 'package.json'), JSON.stringify({ devDependencies: { vitest: '^4', 'audiorista-runner': '^0.1' } }))
    mkdirSync(join(cwd, 'ops'))
    writeFileSync(join(cwd, 'ops/package.json'), JSON.stringify({ devDependencies: { vitest: '^4', 'audiorista-runner': '^0.1' } }))
    const r = runCli(['init', '--dir', 'ops/webhooks'], { cwd })
    expect(r.status, r.stderr).toBe(0)
    expect(read(join(cwd, 'ops/webhooks'), 'audiorista.config.ts')).toContain("from 'audiorista-runner'")
    expect(r.stdout).toContain('\n  cd ops/webhooks\n')

    // A project that already depends on both is told to run, not to install.
    const project = join(cwd, 'ops')
    const here = runCli(['init'], { cwd: project })
    expect(here.stdout).not.toContain('npm i')
    expect(here.stdout).toMatch(/ {2}npx vitest +test your recipes/)
  })

  it('the scaffolded recipes behave as the scaffolded test says, and so does the mission recipe once uncommented', async () => {
    const dir = tempDir()
    runCli(['init'], { cwd: dir })
    const recipes = await loadRecipes({ cwd: dir })
    const result = await recipes.simulate('title-ready', titleFixture())
    expect(result.matchedNames).toEqual(['log-every-event', 'announce-podcast'])
    expect(result.recipe('announce-podcast').step(1)).toMatchObject({
      input: { content: '**Episode 42: The Long Night** is live: https://example.com/t/4211' },
      preview: 'would post to Discord: **Episode 42: The Long Night** is live: https://example.com/t/4211',
      previewMode: 'actions.discord.webhookUrl is not set; set DISCORD_WEBHOOK_URL',
    })

    enableMission(dir)
    const check = runCli(['check'], { cwd: dir })
    expect(check.status, check.stderr).toBe(0)
    expect(check.stdout).toMatch(/podcast-ready\n {4}on: {3}title-ready\n {4}when: tag = podcast\n {4}1\. slack "announce"/)
    const mission = (await (await loadRecipes({ cwd: dir })).simulate('title-ready', titleFixture())).recipe('podcast-ready')
    expect(mission.steps.map((s) => s.name)).toEqual(['announce', 'rebuild', 'email-creator'])
    const email = mission.step('email-creator')
    expect(email.input).toMatchObject({ to: 'jane@example.com', subject: 'Your title "Episode 42: The Long Night" is live' })
    // The templates are the project's own.
    expect(email.preview).toMatchObject({ html: expect.stringContaining('<strong>Episode 42: The Long Night</strong>') })
    expect(read(dir, 'test/recipes.test.ts')).toMatch(/^ {2}it\('emails the creator from vars.creators'/m)
  })
})
