import { spawn } from 'node:child_process'
import { z } from '../zod.js'
import { PermanentError, RetryableError } from '../errors.js'
import { definePlugin } from '../plugin.js'
import type { ActionContext, EscapeMode, InputPath } from '../types.js'
import { abortError } from './abort.js'

const STDOUT_BYTES = 4096
const STDERR_TAIL_BYTES = 500
// After SIGTERM a program gets this long to clean up before SIGKILL.
const KILL_GRACE_MS = 5000

const input = z.object({
  command: z.string().min(1).describe('Program to run, found on PATH or by path; no shell is involved.'),
  args: z
    .array(z.string())
    .default([])
    .describe('Arguments, each passed as is (no quoting or globbing); one starting with "-" from a value is refused.'),
  cwd: z.string().optional().describe("Working directory (default: the runner's)."),
  env: z
    .record(z.string(), z.string())
    .optional()
    .describe('Environment variables for the program, on top of PATH, HOME, LANG, TZ and AUDIORISTA_*.'),
  inheritEnv: z
    .boolean()
    .optional()
    .describe("Give the program the runner's whole environment (its secrets too) instead of the minimal one."),
  allowOptionArgs: z
    .boolean()
    .optional()
    .describe('Let a rendered argument start with "-" from a template value (a payload could then pass options).'),
  stdin: z.string().optional().describe('Text for standard input (default: the payload as JSON).'),
  permanentExitCodes: z
    .array(z.number().int())
    .optional()
    .describe('Exit codes that mean "do not retry"; any other non-zero code retries.'),
})

type Input = z.output<typeof input>

/** What a program sees of the runner's environment by default: no keys, tokens or passwords. */
const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'TZ'] as const

function environment(input: Input, ctx: ActionContext): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = input.inheritEnv ? { ...process.env } : {}
  if (!input.inheritEnv) for (const name of PASSED_ENV) if (process.env[name] !== undefined) base[name] = process.env[name]
  return { ...base, ...input.env, AUDIORISTA_EVENT: ctx.event.type, AUDIORISTA_EVENT_ID: ctx.event.id, AUDIORISTA_RUN_ID: ctx.runId }
}

/** Arguments (and the command) are checked as program arguments unless the step opts out for its args. */
function escapeFor(path: InputPath, raw: Readonly<Record<string, unknown>>): EscapeMode {
  if (path[0] === 'command') return 'arg'
  if (path[0] === 'args') return raw.allowOptionArgs === true ? 'none' : 'arg'
  return 'none'
}

/** A command line for previews, quoted so it reads unambiguously. */
function commandLine(input: Input): string {
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)
  return [input.command, ...input.args].map(quote).join(' ')
}

export default definePlugin<Input>({
  name: 'exec',
  description: 'Run a program (no shell) with the payload as JSON on stdin.',
  input,
  escape: escapeFor,
  run(input, ctx) {
    const what = `exec: ${input.command}`
    const env = environment(input, ctx)
    return new Promise((resolve, reject) => {
      const child = spawn(input.command, input.args, {
        cwd: input.cwd,
        env,
        shell: false,
        stdio: 'pipe',
        signal: ctx.signal,
        killSignal: 'SIGTERM',
      })
      let stdout = Buffer.alloc(0)
      let stderr = Buffer.alloc(0)
      let settled = false
      const settle = (err: Error | undefined, value?: unknown) => {
        if (settled) return
        settled = true
        if (err) reject(err)
        else resolve(value)
      }
      child.stdout.on('data', (chunk: Buffer) => {
        if (stdout.length < STDOUT_BYTES) stdout = Buffer.concat([stdout, chunk]).subarray(0, STDOUT_BYTES)
      })
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = Buffer.concat([stderr, chunk]).subarray(-STDERR_TAIL_BYTES)
      })
      // A program that ignores stdin closes it early; that is not a failure.
      child.stdin.on('error', () => {})
      child.stdin.end(input.stdin ?? JSON.stringify(ctx.payload))

      child.on('error', (err: NodeJS.ErrnoException) => {
        if (ctx.signal.aborted) {
          setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), KILL_GRACE_MS).unref()
          return settle(abortError(ctx.signal, what))
        }
        if (err.code === 'ENOENT' || err.code === 'EACCES') {
          return settle(
            new PermanentError(
              `${what}: cannot run (${err.code}); check the command and its permissions${input.cwd ? ` and cwd ${input.cwd}` : ''}`,
              { code: 'exec_not_found' },
            ),
          )
        }
        settle(new RetryableError(`${what}: ${err.message}`, { code: 'exec_error' }))
      })
      child.on('close', (code, signal) => {
        const tail = stderr.toString('utf8').trim()
        if (code === 0) return settle(undefined, { exitCode: 0, stdout: stdout.toString('utf8').trimEnd() })
        const message = `${what} ${code === null ? `was killed by ${signal}` : `exited with code ${code}`}${tail ? `: ${tail}` : ''}`
        const permanent = code !== null && input.permanentExitCodes?.includes(code)
        settle(permanent ? new PermanentError(message, { code: 'exec_failed' }) : new RetryableError(message, { code: 'exec_failed' }))
      })
    })
  },
  preview(input) {
    const extra = [
      input.cwd ? `in ${input.cwd}` : '',
      input.env ? `with ${Object.keys(input.env).join(', ')} set` : '',
      input.inheritEnv ? "with the runner's whole environment" : '',
    ]
      .filter(Boolean)
      .join(', ')
    return `would run ${commandLine(input)}${extra ? ` (${extra})` : ''}`
  },
})
