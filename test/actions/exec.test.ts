import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import exec from '../../src/actions/exec.js'
import { classifyError, createTestContext, describePluginConformance } from '../../src/testing/index.js'

const node = process.execPath
const script = (code: string) => ({ command: node, args: ['-e', code] })

async function run(input: Record<string, unknown>, ctx = createTestContext()) {
  const { value, issues } = (await exec.input!['~standard'].validate(input)) as { value: any; issues?: unknown }
  if (issues) throw new Error(JSON.stringify(issues))
  return exec.run(value, ctx)
}

describePluginConformance(exec, {
  async setup() {
    const dir = await mkdtemp(join(tmpdir(), 'exec-conformance-'))
    const file = join(dir, 'effects.log')
    return {
      // Each run appends one byte: the file's size counts the runs.
      input: script(`require('fs').appendFileSync(${JSON.stringify(file)}, 'x')`),
      sideEffects: () => readFileSync(file, { encoding: 'utf8', flag: 'a+' }).length,
      hang: () => ({ input: script('setTimeout(() => {}, 60_000)') }),
      close: () => rm(dir, { recursive: true, force: true }),
    }
  },
  input: {
    valid: [{ command: 'true' }, { command: 'git', args: ['status'], cwd: '/tmp', env: { A: '1' }, permanentExitCodes: [2] }],
    invalid: [{ command: '' }, { command: 'x', args: 'a b' }, { command: 'x', env: { A: 1 } }],
  },
  errors: [
    { name: 'a non-zero exit', arrange: () => ({ input: script('process.exit(3)') }), expect: 'retryable' },
    {
      name: 'an exit code listed in permanentExitCodes',
      arrange: () => ({ input: { ...script('process.exit(2)'), permanentExitCodes: [2] } }),
      expect: 'permanent',
    },
    { name: 'a command that does not exist', arrange: () => ({ input: { command: 'no-such-command-audiorista' } }), expect: 'permanent' },
  ],
})

describe('exec', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'exec-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('gives the program the payload as JSON on stdin', async () => {
    const ctx = createTestContext()
    const result = await run(script('process.stdin.pipe(process.stdout)'), ctx)
    expect(result).toEqual({ exitCode: 0, stdout: JSON.stringify(ctx.payload) })
  })

  it('sets AUDIORISTA_EVENT, AUDIORISTA_EVENT_ID and extra env, and runs in cwd', async () => {
    const ctx = createTestContext({ event: { id: 'evt_1', type: 'title-updated', receivedAt: '2026-01-01T00:00:00Z' } })
    const code = 'const e = process.env; console.log([e.AUDIORISTA_EVENT, e.AUDIORISTA_EVENT_ID, e.EXTRA, process.cwd()].join(" "))'
    const result = await run({ ...script(code), env: { EXTRA: 'yes' }, cwd: dir }, ctx)
    expect(result).toEqual({ exitCode: 0, stdout: `title-updated evt_1 yes ${dir}` })
  })

  it('passes arguments as they are, without a shell', async () => {
    const result = await run({
      command: node,
      args: ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '$HOME', '; rm -rf /', '*'],
    })
    expect(result).toEqual({ exitCode: 0, stdout: JSON.stringify(['$HOME', '; rm -rf /', '*']) })
  })

  it('fails on a non-zero exit with the code and the end of stderr', async () => {
    const err = await run(script('process.stderr.write("x".repeat(2000) + "the real reason"); process.exit(7)')).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toMatch(/exited with code 7: x+the real reason$/)
    expect((err as Error).message.length).toBeLessThan(700)
    expect(classifyError(err).kind).toBe('retryable')
  })

  it('keeps at most 4 KB of stdout', async () => {
    const result = (await run(script('process.stdout.write("y".repeat(100_000))'))) as { stdout: string }
    expect(result.stdout).toHaveLength(4096)
  })

  it('kills the program when the signal aborts', async () => {
    const pidFile = join(dir, 'pid')
    const ctx = createTestContext()
    const running = run(
      script(`require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`),
      ctx,
    )
    const pid = await (async () => {
      for (let i = 0; i < 100; i++) {
        const text = await readFile(pidFile, 'utf8').catch(() => '')
        if (text) return Number(text)
        await new Promise((r) => setTimeout(r, 20))
      }
      throw new Error('the program did not start')
    })()
    ctx.abort()
    const err = await running.catch((e: Error) => e)
    expect((err as Error).message).toMatch(/aborted/)
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20))
    expect(alive(pid)).toBe(false)
  })

  it('describes the command line in a preview', () => {
    expect(exec.preview!({ command: 'deploy', args: ['--site', 'my site'], cwd: '/srv' } as never, createTestContext())).toBe(
      "would run deploy --site 'my site' (in /srv)",
    )
  })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
