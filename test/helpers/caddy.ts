/**
 * Debian's caddy in front of a runner, per test, running the shipped
 * deploy/Caddyfile: its site is `localhost:<free port>` (so Caddy's own local
 * CA signs it, not Let's Encrypt), bound to loopback, with HOME and the XDG
 * folders in a temporary folder (the CA stays there; nothing is installed
 * in the system's trust store).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.js'
import { tempDir } from './runner.js'

const SHIPPED = fileURLToPath(new URL('../../deploy/Caddyfile', import.meta.url))

export interface TestCaddy {
  port: number
  /** Caddy's local root certificate (PEM): what a client trusts to reach it. */
  ca: string
  close(): Promise<void>
}

/**
 * True when caddy is on PATH: tests skip without it on a developer's
 * machine. Under CI (which installs it) it is always true, so a missing
 * caddy fails the tests instead of skipping them unseen.
 */
export function haveCaddy(): boolean {
  return Boolean(process.env.CI) || spawnSync('caddy', ['version'], { stdio: 'ignore' }).status === 0
}

/** Starts caddy proxying `https://localhost:<port>` to `upstream` (`127.0.0.1:8787`); resolves once it serves its certificate. */
export async function startCaddy(upstream: string): Promise<TestCaddy> {
  const dir = tempDir('ar-caddy-')
  const port = await freePort()
  writeFileSync(
    join(dir, 'Caddyfile'),
    `{
	admin off
	skip_install_trust
	auto_https disable_redirects
	default_bind 127.0.0.1
}

import ${SHIPPED}
`,
  )
  const folders = { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') }
  const env = { ...process.env, ...folders, DOMAIN: `localhost:${port}`, UPSTREAM: upstream }
  const proc = spawn('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { cwd: dir, env, stdio: 'pipe' })
  let out = ''
  proc.stdout.on('data', (d) => (out += d))
  proc.stderr.on('data', (d) => (out += d))
  const exited = new Promise<string>((resolve) => {
    proc.once('error', (err) =>
      resolve(
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'caddy is not installed: apt-get install caddy (.ci/run does)' : String(err),
      ),
    )
    proc.once('exit', (code) => resolve(`caddy exited with ${code}:\n${out}`))
  })
  const ca = join(dir, 'data/caddy/pki/authorities/local/root.crt')
  const caddy: TestCaddy = { port, ca, close: () => stop(proc) }
  // The local CA and the site's certificate are made after start: ready when a handshake verifies.
  let waiting = true
  const ready = (async () => {
    while (waiting && !(existsSync(ca) && (await verifies(port, ca)))) await new Promise((r) => setTimeout(r, 100))
  })()
  const failed = await Promise.race([ready.then(() => undefined), exited, timeout(30_000, () => `caddy did not serve:\n${out}`)])
  waiting = false
  if (failed) {
    await stop(proc)
    throw new Error(failed)
  }
  return caddy
}

function verifies(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(ca) }, () => {
      socket.end()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function timeout(ms: number, message: () => string): Promise<string> {
  return new Promise((resolve) => setTimeout(() => resolve(message()), ms).unref())
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return
  const gone = new Promise((resolve) => proc.once('exit', resolve))
  proc.kill('SIGTERM')
  await gone
}
