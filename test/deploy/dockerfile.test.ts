/**
 * No Docker engine runs the Dockerfile here, so these checks keep it honest
 * about what container.test.ts assumes: the runtime base, a non-root user
 * with its data in the volume, a health check on /readyz, node as the
 * entrypoint, and build-context files that exist and are not ignored.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const REPO = resolve(import.meta.dirname, '../..')

interface Instruction {
  op: string
  args: string
}

/** The Dockerfile's instructions per stage (continuation lines joined, comments dropped). */
function stages(): Instruction[][] {
  const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8')
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim())
  const all = lines.map((l) => {
    const [, op = '', args = ''] = /^\s*(\S+)\s*(.*)$/.exec(l) ?? []
    return { op: op.toUpperCase(), args: args.trim() }
  })
  const out: Instruction[][] = []
  for (const i of all)
    if (i.op === 'FROM') out.push([i])
    else out.at(-1)?.push(i)
  return out
}

const runtime = () => stages().at(-1)!
const last = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op).at(-1)?.args
/** A JSON-form (exec) argument list, or undefined for the shell form. */
const execForm = (args: string | undefined): string[] | undefined => (args?.startsWith('[') ? (JSON.parse(args) as string[]) : undefined)

describe('Dockerfile', () => {
  it('builds on node:20-bookworm and runs on node:20-bookworm-slim (same Node ABI and glibc for better-sqlite3)', () => {
    const bases = stages().map((s) => s[0]!.args.split(/\s+/)[0])
    expect(bases).toEqual(['node:20-bookworm', 'node:20-bookworm-slim'])
    const build = stages()[0]!.map((i) => `${i.op} ${i.args}`)
    expect(build).toEqual(expect.arrayContaining([expect.stringMatching(/^RUN npm ci\b/), expect.stringMatching(/^RUN npm run build\b/)]))
    const copied = runtime().filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build'))
    expect(copied.map((i) => i.args.split(/\s+/)[1])).toEqual(expect.arrayContaining(['/app/node_modules', '/app/dist']))
  })

  it('runs as a non-root user, with AUDIORISTA_DATA_DIR the volume', () => {
    const user = last(runtime(), 'USER')
    expect(user).toBeDefined()
    expect(['root', '0']).not.toContain(user!.split(':')[0])
    const env = runtime()
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ')
    const dataDir = /AUDIORISTA_DATA_DIR=(\S+)/.exec(env)?.[1]
    expect(dataDir).toBe('/data')
    expect(runtime().find((i) => i.op === 'VOLUME')?.args).toBe(dataDir)
  })

  it('checks health on /readyz with node (slim has no curl)', () => {
    const check = last(runtime(), 'HEALTHCHECK')!
    const command = execForm(check.replace(/^(--\S+\s+)*CMD\s+/, ''))
    expect(command?.[0]).toBe('node')
    expect(command?.join(' ')).toContain('/readyz')
  })

  it('starts node directly (npm does not forward SIGTERM)', () => {
    const entrypoint = execForm(last(runtime(), 'ENTRYPOINT'))
    expect(entrypoint).toEqual(['node', 'dist/cli/main.js'])
    expect(execForm(last(runtime(), 'CMD'))).toEqual(['start'])
  })

  it('copies from the build context only files that exist and .dockerignore lets through', () => {
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((p) => new RegExp(`^${p.trim().replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}(/|$)`))
    const sources = stages()
      .flat()
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
    expect(sources).toEqual(expect.arrayContaining(['src', 'audiorista.config.ts', 'recipes', 'plugins']))
    for (const source of sources) {
      expect({ source, exists: existsSync(join(REPO, source)), ignored: ignored.some((r) => r.test(source)) }).toEqual({
        source,
        exists: true,
        ignored: false,
      })
    }
  })
})
