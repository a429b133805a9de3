/**
 * What a user does with the published package: `npm pack` it (which runs
 * `prepare`, the build), install the tarball in an empty project, `init`,
 * `check`, `start`, deliver a webhook, stop it, and run the scaffolded recipe
 * test with vitest. The pack runs in a copy of this tree, so its build never
 * rewrites the dist/ that other test files are running. Slow by nature (npm
 * installs, better-sqlite3 compiled from source): a few minutes.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SCAFFOLD } from '../../src/cli/init.js'
import { titleFixture } from '../../src/testing/index.js'
import { startChild } from '../helpers/child.js'
import { enableMission } from '../helpers/scaffold.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const MINUTE = 60_000
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> }
const VITEST = lock.packages['node_modules/vitest']!.version
const INSTALL = ['--prefer-offline', '--no-audit', '--no-fund']

/**
 * The environment of a user's shell: none of the `npm_*` variables of the `npm test` running us (npm reads them as its own
 * config, e.g. which folder to install into), no vitest worker variables, and no node_modules/.bin of this repo on PATH.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(npm_|vitest|NODE_ENV$|NODE_OPTIONS$|FORCE_COLOR$)/i.test(k)),
  )
  const path = (env.PATH ?? '').split(delimiter).filter((p) => !p.includes(join('node_modules', '.bin')))
  // NO_COLOR: vitest colours its summary under CI=true, and the test reads it.
  return { ...env, PATH: [dirname(process.execPath), ...path].join(delimiter), CI: 'true', LOG_LEVEL: 'info', NO_COLOR: '1' }
}

function run(command: string, args: string[], cwd: string, timeout = 2 * MINUTE): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env: userEnv(), encoding: 'utf8', timeout })
}

/** Fails with the command's output, so a broken install says why. */
function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.status, `${what} exited ${r.status}${r.error ? ` (${r.error.message})` : ''}:\n${r.stdout}\n${r.stderr}`).toBe(0)
  return r.stdout
}

// --no-install: the project's own copy or a failure, never a download of whatever the registry has under that name.
const npx = (cwd: string, ...args: string[]) => run('npx', ['--no-install', ...args], cwd)
const runner = (cwd: string, ...args: string[]) => npx(cwd, 'audiorista-runner', ...args)
/** Polls `done` until it holds or `ms` pass; the caller asserts afterwards, so a timeout fails with the real values. */
async function waitFor(done: () => boolean, ms = 20_000): Promise<void> {
  for (const deadline = Date.now() + ms; !done() && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 250))
}

interface PackedFile {
  path: string
}

/** This tree without what `git clone` would not have (dependencies borrowed by a link), so `prepare` builds its own dist/. */
function copyOfTree(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ar-pack-')), 'audiorista-runner')
  const skip = new Set(['node_modules', 'dist', '.git', '.audiorista', 'coverage', join('bench', '.results')])
  cpSync(root, dir, { recursive: true, filter: (src) => !skip.has(relative(root, src)) })
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  return dir
}

/** What must never be in the tarball: tests, sources, runtime data, credentials. */
function expectNothingPrivate(files: string[]): void {
  for (const f of files) {
    expect(f).not.toMatch(/^(test|src|bench|scripts|docs|\.ci|\.audiorista|node_modules)\//)
    expect(f).not.toMatch(/(^|\/)(\.env(\..*)?|\.npmrc|key|admin-token|.*\.(pem|key|db|db-wal|db-shm|tgz))$/)
  }
}

describe('the packed package in a new project', { timeout: 5 * MINUTE }, () => {
  let tarball: string
  let packed: string[]
  let project: string
  let copy: string

  beforeAll(async () => {
    copy = copyOfTree()
    const out = ok(run('npm', ['pack', '--json', '--pack-destination', dirname(copy)], copy, 5 * MINUTE), 'npm pack')
    // `prepare` logs to stdout before the JSON.
    const [info] = JSON.parse(out.slice(out.indexOf('[\n'))) as Array<{ filename: string; files: PackedFile[] }>
    tarball = join(dirname(copy), info!.filename)
    packed = info!.files.map((f) => f.path)

    project = mkdtempSync(join(tmpdir(), 'ar-user-'))
    ok(run('npm', ['init', '-y'], project), 'npm init')
    ok(run('npm', ['i', tarball, ...INSTALL], project, 10 * MINUTE), `npm i ${tarball}`)
  }, 15 * MINUTE)

  // Hundreds of MB of node_modules each run: never left behind.
  afterAll(() => {
    for (const dir of [copy && dirname(copy), project]) if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('ships the build, the scaffold and the examples; no tests, sources, data or secrets', () => {
    for (const f of [
      'package.json',
      'README.md',
      'dist/cli/main.js',
      'dist/index.d.ts',
      'dist/testing/index.js',
      'dist/admin/views/layout.hbs',
    ])
      expect(packed).toContain(f)
    for (const { from } of SCAFFOLD) expect(packed).toContain(from)
    expectNothingPrivate(packed)
    // The working tree as it is (with its .audiorista/ and whatever else lies around), listed the same way.
    const dry = ok(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], root), 'npm pack --dry-run')
    const listed = (JSON.parse(dry) as Array<{ files: PackedFile[] }>)[0]!.files.map((f) => f.path)
    expectNothingPrivate(listed)
    expect(listed.filter((f) => !f.startsWith('dist/')).sort()).toEqual(packed.filter((f) => !f.startsWith('dist/')).sort())
  })

  it('init scaffolds the project; again refuses and changes nothing; --force overwrites', () => {
    const out = ok(runner(project, 'init'), 'init')
    for (const { to } of SCAFFOLD) expect(existsSync(join(project, to)), to).toBe(true)
    expect(readFileSync(join(project, '.gitignore'), 'utf8')).toBe('.audiorista/\n')
    expect(out).toContain('npx audiorista-runner check')
    // The package is a dependency now: no advice to install it.
    expect(out).not.toContain('npm i audiorista-runner')

    const config = join(project, 'audiorista.config.ts')
    const before = [readFileSync(config, 'utf8'), statSync(config).mtimeMs]
    const again = runner(project, 'init')
    expect(again.status).toBe(1)
    for (const { to } of SCAFFOLD) expect(again.stderr).toContain(`  ${to}\n`)
    expect(again.stderr).toContain('--force')
    expect([readFileSync(config, 'utf8'), statSync(config).mtimeMs]).toEqual(before)

    ok(runner(project, 'init', '--force'), 'init --force')
    expect(readFileSync(join(project, '.gitignore'), 'utf8')).toBe('.audiorista/\n')
  })

  it('check lists the recipes and the plugin from plugins/', () => {
    const out = ok(runner(project, 'check'), 'check')
    expect(out).toContain('config: audiorista.config.ts')
    expect(out).toMatch(/announce-podcast\n {4}on: {3}title-ready\n {4}when: tag = podcast\n {4}1\. discord/)
    expect(out).toContain('discord (plugins/example.ts)')
  })

  it('start receives a delivery sent with send, runs the recipes with the user plugin, and stops on SIGTERM', async () => {
    const cli = join(project, 'node_modules/audiorista-runner/dist/cli/main.js')
    const started = await startChild(project, { cli, env: userEnv() as Record<string, string> })
    try {
      writeFileSync(join(project, 'title-ready.json'), JSON.stringify(titleFixture()))
      // The generated key is read from .audiorista/key, as the README says.
      const sent = ok(runner(project, 'send', 'title-ready', 'title-ready.json', '--url', `${started.url}/webhooks/title-ready`), 'send')
      expect(sent).toMatch(/^202 /)
      const id = (JSON.parse(sent.slice(sent.indexOf('{'))) as { id: string }).id

      // Both recipes run: the log step for real, the Discord step in preview mode (no DISCORD_WEBHOOK_URL).
      const states = () => {
        const { runs } = JSON.parse(ok(runner(project, 'events', 'show', id, '--json'), 'events show')) as {
          runs: Array<{ recipe: string; action: string; state: string }>
        }
        return runs.map(({ recipe, action, state }) => `${recipe}/${action}: ${state}`).sort()
      }
      const settled = ['announce-podcast/discord: previewed', 'log-every-event/log: done']
      await waitFor(() => JSON.stringify(states()) === JSON.stringify(settled))
      expect(states()).toEqual(settled)
      // The log step's line, and what the user's plugin would have posted, reach the log (written asynchronously).
      const logged = [
        '"msg":"title-ready: Episode 42: The Long Night (4211)"',
        'would post to Discord: **Episode 42: The Long Night** is live',
      ]
      await waitFor(() => logged.every((line) => started.output().includes(line)))
      for (const line of logged) expect(started.output()).toContain(line)
    } finally {
      started.proc.kill('SIGTERM')
    }
    expect(await started.exited).toBe(0)
  })

  it(`the scaffolded tests pass with vitest ${VITEST}, and so does the mission's once uncommented`, () => {
    ok(run('npm', ['i', '-D', `vitest@${VITEST}`, ...INSTALL], project, 5 * MINUTE), 'npm i -D vitest')
    const passed = (what: string) => {
      const summary = /Test Files +2 passed \(2\)\n +Tests +(\d+) passed(?: \| \d+ skipped)? \(\d+\)/.exec(
        ok(npx(project, 'vitest', 'run'), what),
      )
      expect(summary, `${what}: not every test passed`).not.toBeNull()
      return Number(summary![1])
    }
    const before = passed('vitest run')
    enableMission(project)
    // The mission's own test is one more, and passes.
    expect(passed('vitest run (mission)')).toBe(before + 1)
    ok(runner(project, 'check'), 'check (mission)')
  })
})
