/**
 * `init` through the built CLI in temp folders; the scaffolded config is then
 * loaded as `check` and `loadRecipes` load it. The same flow from a packed
 * tarball, with vitest running the scaffolded test, is test/package/pack.test.ts.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
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

/** Every entry under `dir`, recursively (links not followed), to see that nothing was written. */
const tree = (dir: string) => readdirSync(dir, { recursive: true }).map(String).sort()

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

  it('never writes through a linked folder: refused, with --force too, and nothing is written on either side', () => {
    const dir = tempDir()
    const elsewhere = tempDir()
    symlinkSync(elsewhere, join(dir, 'plugins'))
    for (const args of [['init'], ['init', '--force']]) {
      const r = runCli(args, { cwd: dir })
      expect(r.status, r.stdout).toBe(1)
      expect(r.stderr).toBe(
        `error: init writes only into real folders, and these in ${dir} are symbolic links:\n` +
          `  plugins (a link to ${elsewhere})\n` +
          'Nothing was written. Remove the links, or scaffold into another folder with --dir.\n',
      )
      expect(tree(dir)).toEqual(['plugins'])
      expect(tree(elsewhere)).toEqual([])
    }
  })

  it('a linked file is in the way; --force replaces the link with a file and leaves its target alone', () => {
    const dir = tempDir()
    const target = join(tempDir(), 'shared.config.ts')
    writeFileSync(target, '// the shared config\n')
    symlinkSync(target, join(dir, 'audiorista.config.ts'))
    const refused = runCli(['init'], { cwd: dir })
    expect(refused.status).toBe(1)
    expect(refused.stderr).toContain(`  audiorista.config.ts (a link to ${target}): --force replaces the link, not its target\n`)
    expect(tree(dir)).toEqual(['audiorista.config.ts'])

    const forced = runCli(['init', '--force'], { cwd: dir })
    expect(forced.status, forced.stderr).toBe(0)
    expect(lstatSync(join(dir, 'audiorista.config.ts')).isSymbolicLink()).toBe(false)
    expect(read(dir, 'audiorista.config.ts')).toBe(read(root, 'scaffold/audiorista.config.ts'))
    expect(readFileSync(target, 'utf8')).toBe('// the shared config\n')
  })

  it('leaves a linked .gitignore alone and says so', () => {
    const dir = tempDir()
    const target = join(tempDir(), 'gitignore')
    writeFileSync(target, 'node_modules/\n')
    symlinkSync(target, join(dir, '.gitignore'))
    const r = runCli(['init'], { cwd: dir })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/\.gitignore +is a link: not changed; add \.audiorista\/ to it yourself/)
    expect(readlinkSync(join(dir, '.gitignore'))).toBe(target)
    expect(readFileSync(target, 'utf8')).toBe('node_modules/\n')
  })

  it('writes all or nothing: a failure half-way leaves no file, folder or temporary file behind', () => {
    const dir = tempDir()
    // `test` is a file: the tests cannot be written, after the config, templates and plugin were.
    writeFileSync(join(dir, 'test'), 'not a folder\n')
    const r = runCli(['init'], { cwd: dir })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^error: init could not write into ${dir}: .*test.*\\. Nothing was written\\.\\n$`))
    expect(tree(dir)).toEqual(['test'])

    const other = tempDir()
    mkdirSync(join(other, 'plugins/example.ts'), { recursive: true })
    const forced = runCli(['init', '--force'], { cwd: other })
    expect(forced.status).toBe(1)
    expect(forced.stderr).toContain('init cannot write plugins/example.ts')
    expect(tree(other)).toEqual(['plugins', 'plugins/example.ts'])
  })
})
