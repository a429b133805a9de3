import { describe, expect, it } from 'vitest'
import { runCli, startChild, writeConfig } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'

const PROBLEM = 'recipes[0].when.name.matches: /^(a+)+$/ can take exponential time on some inputs'

function configWithBacktrackingRegex(): { dir: string; file: string } {
  const dir = tempDir()
  const file = writeConfig(dir, {
    auth: { allowUnauthenticated: true },
    store: { path: 'runner.db' },
    recipes: [
      { name: 'by-name', on: 'title-ready', when: { name: { matches: '^(a+)+$' } }, do: [{ action: 'log' }] },
      { name: 'by-slug', on: 'title-ready', when: { slug: { matches: '^ep-\\d+$' } }, do: [{ action: 'log' }] },
    ],
  })
  return { dir, file }
}

describe('a regex condition that can backtrack catastrophically', () => {
  it('check exits 1 and lists it with its path; the ordinary pattern beside it is fine', () => {
    const { dir, file } = configWithBacktrackingRegex()
    const r = runCli(['check', '--config', file], { cwd: dir })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('1 problem in')
    expect(r.stderr).toContain(PROBLEM)
    expect(r.stderr).toContain('or use a function condition')
  })

  it('start refuses to run', async () => {
    const { dir } = configWithBacktrackingRegex()
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
