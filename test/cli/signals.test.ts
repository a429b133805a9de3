/**
 * SIGTERM at any moment of `start`'s start-up exits 0 and leaves the store
 * unlocked: as soon as the CLI runs (it handles SIGHUP, seen in
 * /proc/PID/status, from its first line), 20, 50 and 100 ms later, once it
 * holds the store lock, the moment /readyz first answers 200, and while the
 * config is still loading.
 * Before node runs the CLI's first line no program can handle a signal.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CLI, startChild, writeConfig } from '../helpers/child.js'
import { freePort } from '../helpers/free-port.js'
import { tempDir } from '../helpers/runner.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const children: ChildProcess[] = []
afterEach(() => {
  for (const proc of children.splice(0)) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
})

function spawnStart(dir: string, port: number) {
  const proc = spawn(process.execPath, [CLI, 'start', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: dir,
    env: { ...process.env, CI: '1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(proc)
  let out = ''
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { proc, exited, output: () => out }
}

/** Polls every millisecond or so until `ready()`; fails after 30 s. */
async function until(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(1)
  }
}

/** The process handles SIGHUP: the CLI's first line has run (node itself never catches it). */
function catchesSighup(pid: number): boolean {
  try {
    const mask = /SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n
  } catch {
    return false
  }
}

async function readyzOk(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200
  } catch {
    return false
  }
}

async function runsThenWaits(pid: number, ms: number): Promise<void> {
  await until('the CLI to run', () => catchesSighup(pid))
  await sleep(ms)
}

const MOMENTS: Record<string, (pid: number, port: number, dir: string) => Promise<void>> = {
  'as soon as the CLI runs': (pid) => until('the CLI to run', () => catchesSighup(pid)),
  '20 ms later': (pid) => runsThenWaits(pid, 20),
  '50 ms later': (pid) => runsThenWaits(pid, 50),
  '100 ms later': (pid) => runsThenWaits(pid, 100),
  // Before it listens: it must close the store (and release its lock) without serving.
  'when it has taken the store lock': (_pid, _port, dir) => until('the lock', () => existsSync(join(dir, 'runner.db.owner'))),
  'when /readyz first answers 200': (_pid, port) => until('/readyz 200', () => readyzOk(port)),
}

describe('SIGTERM during start-up', () => {
  it.each(Object.keys(MOMENTS))(
    '%s: exits 0 and releases the store lock (a second start works)',
    async (moment) => {
      const dir = tempDir()
      writeConfig(dir, { auth: { allowUnauthenticated: true }, store: { path: join(dir, 'runner.db') } })
      const port = await freePort()
      const child = spawnStart(dir, port)
      await MOMENTS[moment]!(child.proc.pid!, port, dir)
      child.proc.kill('SIGTERM')
      expect(await child.exited, child.output()).toEqual({ code: 0, signal: null })

      const second = await startChild(dir)
      second.proc.kill('SIGTERM')
      expect(await second.exited, second.output()).toBe(0)
    },
    60_000,
  )

  it('while the config is still loading: exits 0 at once, without waiting for it', async () => {
    const dir = tempDir()
    const marker = join(dir, 'loading')
    writeFileSync(
      join(dir, 'audiorista.config.mjs'),
      `import { writeFileSync } from 'node:fs'\nwriteFileSync(${JSON.stringify(marker)}, '')\nawait new Promise((r) => setTimeout(r, 60_000))\nexport default {}\n`,
    )
    const child = spawnStart(dir, await freePort())
    await until('the config to load', () => existsSync(marker))
    const sent = Date.now()
    child.proc.kill('SIGTERM')
    expect(await child.exited, child.output()).toEqual({ code: 0, signal: null })
    expect(Date.now() - sent).toBeLessThan(10_000)
  }, 60_000)
})
