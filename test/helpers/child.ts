/**
 * Runs the real CLI (`dist/cli/main.js`, built by `npm test`) as a child
 * process, the way users and process managers do, so tests can kill -9 it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))

export interface ChildRunner {
  proc: ChildProcess
  url: string
  output(): string
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
}

/** Writes `audiorista.config.json` into `dir`. */
export function writeConfig(dir: string, config: unknown): string {
  const file = join(dir, 'audiorista.config.json')
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

/**
 * Starts `audiorista-runner start` and resolves once it logs `ready`; with `umask`, through `bash -c 'umask …; exec node …'`;
 * with `cli`, another copy of the CLI (an installed package's).
 */
export function startChild(
  dir: string,
  { env = {}, args = [], umask, cli = CLI }: { env?: Record<string, string>; args?: string[]; umask?: string; cli?: string } = {},
): Promise<ChildRunner> {
  const node = [process.execPath, cli, 'start', '--port', '0', '--host', '127.0.0.1', ...args]
  const [command, ...argv] = umask === undefined ? node : ['bash', '-c', `umask ${umask} && exec "$0" "$@"`, ...node]
  const proc = spawn(command!, argv, {
    cwd: dir,
    env: { ...process.env, CI: '1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // Never leave a runner behind that did not get ready.
      proc.kill('SIGKILL')
      reject(new Error(`runner did not get ready:\n${out}`))
    }, 15_000)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const m = /"url":"(https?:\/\/[^"]+)".*"msg":"ready"/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ proc, url: m[1]!, output: () => out, exited })
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', (c: Buffer) => (out += c.toString()))
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`runner exited with ${code} before ready:\n${out}`))
    })
  })
}

/** Runs a CLI command to completion. */
export function runCli(args: string[], { cwd, env = {}, input }: { cwd: string; env?: Record<string, string>; input?: string }) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, CI: '1', ...env },
    encoding: 'utf8',
    input,
    timeout: 60_000,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Runs a CLI command without blocking this process (for tests whose servers live in it). */
export function runCliAsync(
  args: string[],
  { cwd, env = {} }: { cwd: string; env?: Record<string, string> },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()))
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000)
  return new Promise((resolve) =>
    proc.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    }),
  )
}
