/**
 * A redis-server for the Redis rows: its own child process on a free loopback
 * port, with its data in a temp folder, AOF on (the runner refuses a Redis
 * without it under NODE_ENV=production). The same setup as
 * test/helpers/redis.ts, in plain JS (the bench does not load .ts).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, spawnTracked, stopChild } from './children.mjs'

let version
/** redis-server's version ("7.0.15"), or undefined when it is not on PATH. */
export function redisServerVersion() {
  if (version === undefined) {
    const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
    version = r.status === 0 ? (/v=(\S+)/.exec(r.stdout)?.[1] ?? 'unknown') : null
  }
  return version ?? undefined
}

/** True when redis-server is on PATH. */
export const haveRedisServer = () => redisServerVersion() !== undefined

/** PING over a raw socket; true on +PONG. */
function ping(port) {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}

/**
 * Starts redis-server with `appendonly yes` and the given `appendfsync`
 * (`always`: every write is fsynced before Redis answers, as SQLite commits
 * before the runner acknowledges; `everysec`: up to a second can be lost).
 * Resolves with its URL once it answers PING.
 */
export async function startRedisServer({ appendfsync = 'always' } = {}) {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'ar-bench-redis-'))
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '']
  args.push('--appendonly', 'yes', '--appendfsync', appendfsync, '--loglevel', 'warning')
  const child = spawnTracked('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] })
  const stop = async () => {
    await stopChild(child)
    // A background AOF rewrite (a fork of the killed server) may still write here for a moment.
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
  }
  const deadline = performance.now() + 10_000
  let exited = false
  void child.exited.then(() => (exited = true))
  while (!(await ping(port))) {
    if (exited || performance.now() > deadline) {
      await stop()
      throw new Error(`redis-server did not start on port ${port}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  return { child, url: `redis://127.0.0.1:${port}`, port, dir, appendfsync, stop }
}
