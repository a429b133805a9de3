import { describe, expect, it } from 'vitest'
import { runCli, startChild, writeConfig } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'

const PROBLEM =
  'recipes[0].when.name.matches: "^(?=ep-)\\\\w+$" uses a lookahead, which the linear-time engine cannot run; ' +
  'rewrite it or use a function condition: (ctx) => boolean'

function configWith(pattern: string): { dir: string; file: string } {
  const dir = tempDir()
  const file = writeConfig(dir, {
    auth: { allowUnauthenticated: true },
    store: { path: 'runner.db' },
    recipes: [
      { name: 'by-name', on: 'title-ready', when: { name: { matches: pattern } }, do: [{ action: 'log' }] },
      // Exponential with a backtracking engine (19 s on 29 characters); linear on RE2, so fine.
      { name: 'by-slug', on: 'title-ready', when: { slug: { matches: '^(a+)+$' } }, do: [{ action: 'log' }] },
    ],
  })
  return { dir, file }
}

describe('a regex condition the linear-time engine cannot run', () => {
  it('check exits 1 and lists it with its path and a hint; the catastrophic-for-RegExp pattern beside it is fine', () => {
    const { dir, file } = configWith('^(?=ep-)\\w+$')
    const r = runCli(['check', '--config', file], { cwd: dir })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('1 problem in')
    expect(r.stderr).toContain(PROBLEM)
  })

  it('start refuses to run', async () => {
    const { dir } = configWith('^(?=ep-)\\w+$')
    const outcome = await startChild(dir).then(
      async (child) => {
        child.proc.kill('SIGKILL')
        await child.exited
        return 'it started'
      },
      (error: Error) => error.message,
    )
    expect(outcome).toMatch(/exited with 1 before ready/)
    expect(outcome).toContain(PROBLEM)
  })
})

describe('a pattern that backtracks catastrophically in JavaScript', () => {
  it('passes check and runs in linear time: simulate decides on 100,000 characters at once', () => {
    const { dir, file } = configWith('^ep-\\d+$')
    expect(runCli(['check', '--config', file], { cwd: dir }).status).toBe(0)
    const payload = { name: 'ep-1', slug: `${'a'.repeat(100_000)}!` }
    const start = Date.now()
    const r = runCli(['simulate', 'title-ready', '-', '--config', file], { cwd: dir, input: JSON.stringify(payload) })
    const ms = Date.now() - start
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/✓ by-name/)
    expect(r.stdout).toContain('✗ by-slug: when.slug did not hold: slug: expected to match /^(a+)+$/')
    // A backtracking engine would take longer than the universe's age; RE2 takes milliseconds (the rest is start-up).
    expect(ms).toBeLessThan(30_000)
  })
})
