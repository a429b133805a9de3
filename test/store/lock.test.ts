/**
 * The store lock holds whatever the pids: two runners started as pid 1 in
 * their own pid namespaces (two containers on one volume) on one store, and
 * two attempts in one process. A kill -9ed holder's lock is free at once.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { lockStore } from '../../src/store/lock.js'
import { CLI, runCli, writeConfig } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'

const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0
const LOCKED =
  /another runner \(pid \d+ on host [^,]+, since \d{4}-[^)]+\) is using \S+runner\.db; stop it first, or give this one its own store\.path/

interface Contained {
  proc: ChildProcess
  output(): string
  /** Resolves with `{ pid, url }` from the `ready` line, or with the exit code if it exits first. */
  outcome: Promise<{ kind: 'ready'; pid: number; url: string } | { kind: 'exited'; code: number | null }>
}

const running: ChildProcess[] = []
afterEach(() => {
  for (const proc of running.splice(0)) {
    // unshare passes no signal on: the runner inside is killed by its pid out here.
    if (proc.exitCode === null && proc.spawnfile === 'unshare') tryKill(innerPid(proc.pid!))
    tryKill(proc.pid!)
  }
})

function tryKill(pid: number): void {
  // 0 would be this process's own group.
  if (!(pid > 0)) return
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // Gone already.
  }
}

/** `start` as pid 1 of a new pid namespace, as in a container. */
function startContained(dir: string): Contained {
  const proc = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, CLI, 'start', '--port', '0', '--host', '127.0.0.1'], {
    cwd: dir,
    env: { ...process.env, CI: '1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.push(proc)
  let out = ''
  const outcome = new Promise<Awaited<Contained['outcome']>>((resolve) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const m = /"pid":(\d+).*"url":"(http:\/\/[^"]+)".*"msg":"ready"|"url":"(http:\/\/[^"]+)".*"pid":(\d+).*"msg":"ready"/.exec(out)
      if (m) resolve({ kind: 'ready', pid: Number(m[1] ?? m[4]), url: (m[2] ?? m[3])! })
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', onData)
    proc.on('exit', (code) => resolve({ kind: 'exited', code }))
  })
  return { proc, output: () => out, outcome }
}

/** The node process unshare forked (pid 1 inside), by its pid out here. */
function innerPid(unsharePid: number): number {
  try {
    return Number(readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/)[0])
  } catch {
    return 0
  }
}

describe('store lock', () => {
  it.skipIf(!canUnshare)(
    'refuses a second runner on one store when both are pid 1 in their own pid namespaces; a kill -9ed one is replaced at once',
    async () => {
      const dir = tempDir()
      writeConfig(dir, { auth: { allowUnauthenticated: true }, store: { path: join(dir, 'runner.db') } })
      const first = startContained(dir)
      const ready = await first.outcome
      expect(ready, first.output()).toMatchObject({ kind: 'ready', pid: 1 })

      const second = startContained(dir)
      expect(await second.outcome, second.output()).toEqual({ kind: 'exited', code: 1 })
      expect(second.output()).toMatch(LOCKED)
      expect(second.output()).toContain('(pid 1 on host')
      // The refused one left the holder alone: it still serves.
      if (ready.kind === 'ready') expect((await fetch(`${ready.url}/healthz`)).status).toBe(200)

      process.kill(innerPid(first.proc.pid!), 'SIGKILL')
      await new Promise((resolve) => first.proc.once('exit', resolve))
      const began = Date.now()
      const third = startContained(dir)
      expect(await third.outcome, third.output()).toMatchObject({ kind: 'ready', pid: 1 })
      expect(Date.now() - began).toBeLessThan(30_000)
      process.kill(innerPid(third.proc.pid!), 'SIGTERM')
      expect(await new Promise((resolve) => third.proc.once('exit', resolve))).toBe(0)
    },
    60_000,
  )

  it('refuses a second lock in the same process, and keeps the first (closing a descriptor would drop it)', () => {
    const dir = tempDir()
    const path = join(dir, 'runner.db')
    writeConfig(dir, { store: { path } })
    // An empty file is an empty SQLite database: enough for `replay` to get as far as the lock.
    writeFileSync(path, '')
    const unlock = lockStore(path)
    expect(() => lockStore(path)).toThrow(new RegExp(`another runner \\(pid ${process.pid} on host`))
    // Still held, as another process sees it: `replay` takes the same lock.
    const replay = runCli(['replay', 'evt_none'], { cwd: dir })
    expect(replay.status).toBe(1)
    expect(replay.stderr).toMatch(LOCKED)
    unlock()
    expect(existsSync(`${path}.owner`)).toBe(false)
    lockStore(path)()
  })

  it('takes over a stale pid file left by an older version, and refuses a live one', () => {
    const dir = tempDir()
    const path = join(dir, 'runner.db')
    writeFileSync(`${path}.lock`, '999999999')
    lockStore(path)()
    const sleeper = spawn('sleep', ['30'])
    running.push(sleeper)
    writeFileSync(`${path}.lock`, String(sleeper.pid))
    expect(() => lockStore(path)).toThrow(`another runner (pid ${sleeper.pid}, an older version) is using ${path}`)
  })
})
