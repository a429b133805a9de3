/**
 * A real redis-server per test file, on a free loopback port, with its data
 * in a temporary folder, so tests can stop it (Redis down), start it again
 * on the same port and folder (Redis back, data kept) and read AOF on or off.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'

export interface TestRedis {
  url: string
  port: number
  dir: string
  /** Stop redis-server (SIGTERM; with AOF on, what was acknowledged is on disk). */
  stop(): Promise<void>
  /** Start it again on the same port and folder: the data is kept. */
  start(): Promise<void>
  /** Stop it and delete its folder. */
  close(): Promise<void>
}

/**
 * True when redis-server is on PATH: tests skip without it on a developer's
 * machine. Under CI (which installs it) it is always true, so a missing
 * redis-server fails the tests instead of skipping them unseen.
 */
export function haveRedis(): boolean {
  return Boolean(process.env.CI) || spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

/** Sends PING over a raw socket; true on `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}

/** `args`: more redis-server flags (`['--rename-command', 'CONFIG', '']` disables CONFIG, as managed Redis does). */
export async function startRedis({
  appendonly = true,
  args: extra = [],
}: {
  appendonly?: boolean
  args?: string[]
} = {}): Promise<TestRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'audiorista-redis-'))
  let proc: ChildProcess | undefined
  let output = ''

  const start = async () => {
    if (proc) return
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '']
    args.push('--appendonly', appendonly ? 'yes' : 'no', '--appendfsync', 'always', ...extra)
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.on('data', (d) => {
      output += d
    })
    child.stderr?.on('data', (d) => {
      output += d
    })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    proc = child
    const deadline = Date.now() + 10_000
    for (;;) {
      if (await ping(port)) return
      if (child.exitCode !== null || Date.now() > deadline) {
        proc = undefined
        child.kill('SIGKILL')
        await exited
        throw new Error(`redis-server did not start on port ${port}:\n${output}`)
      }
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  const stop = async () => {
    const child = proc
    if (!child) return
    proc = undefined
    if (child.exitCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    await exited
  }

  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    start,
    stop,
    async close() {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
