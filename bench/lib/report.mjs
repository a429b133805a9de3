/**
 * What every part shares: the build check, the machine line, the table, and
 * running one part on its own (`node bench/ack.mjs [--quick] [--profile] [--no-redis]`).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI, ROOT } from './runner.mjs'

/** Progress goes to stderr; the table alone goes to stdout. */
export const say = (msg) => process.stderr.write(`bench: ${msg}\n`)

function newestMtime(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** Builds dist/ when it is missing or older than src/ (the children run the built CLI). */
export function ensureBuilt() {
  if (process.env.BENCH_CLI) {
    if (!existsSync(CLI)) throw new Error(`BENCH_CLI=${CLI} does not exist`)
    return say(`using BENCH_CLI=${CLI} as built`)
  }
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestMtime(join(ROOT, 'src'))) return
  say('dist/ is missing or older than src/: npm run build')
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] })
  if (r.status !== 0) throw new Error('npm run build failed')
}

export function machine() {
  const list = cpus()
  return {
    cores: list.length,
    cpu: (list[0]?.model ?? 'unknown').trim(),
    memory: `${Math.round(totalmem() / 2 ** 30)} GB`,
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
  }
}

export const fmt = {
  int: (n) => Math.round(n).toLocaleString('en-US'),
  ms: (n) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms` : 'n/a'),
  mb: (n) => (n === undefined ? 'n/a' : `${n.toFixed(0)} MB`),
  ratio: (n) => n.toFixed(2),
}

const metCell = (met) => (met === undefined ? '' : met ? 'yes' : '**no**')

/** The Markdown table of all parts' rows. */
export function table(parts) {
  const lines = ['| part | measure | result | target | met |', '|---|---|---|---|---|']
  for (const part of parts) {
    part.rows.forEach((row, i) => {
      lines.push(`| ${i === 0 ? part.title : ''} | ${row.measure} | ${row.result} | ${row.target ?? ''} | ${metCell(row.met)} |`)
    })
  }
  return lines.join('\n')
}

export function parseArgs(argv = process.argv.slice(2)) {
  const known = new Set(['--quick', '--write', '--profile', '--only', '--no-redis', '--help'])
  const args = { quick: false, write: false, profile: false, only: undefined, redis: true, help: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!known.has(a.split('=')[0]))
      throw new Error(`unknown option ${a} (use --quick, --write, --profile, --only PARTS, --no-redis, --help)`)
    if (a === '--quick') args.quick = true
    else if (a === '--no-redis') args.redis = false
    else if (a === '--write') args.write = true
    else if (a === '--profile') args.profile = true
    else if (a === '--help') args.help = true
    else args.only = (a.includes('=') ? a.split('=')[1] : (argv[++i] ?? '')).split(',').filter(Boolean)
  }
  return args
}

/**
 * Runs one part when its file is the entry point. Exits non-zero only when
 * the part itself failed, never because a target was missed.
 */
export async function standalone(moduleUrl, part) {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return
  const args = parseArgs()
  const watchdog = setTimeout(() => {
    say('took too long; stopping')
    process.exit(1)
  }, 360_000).unref()
  try {
    ensureBuilt()
    const result = await part({ quick: args.quick, profile: args.profile, redis: args.redis })
    process.stdout.write(`${table([result])}\n`)
    for (const note of result.notes ?? []) process.stdout.write(`\n- ${note}`)
    process.stdout.write('\n')
  } catch (err) {
    say(`failed: ${err?.stack ?? err}`)
    process.exitCode = 1
  } finally {
    clearTimeout(watchdog)
  }
  process.exit()
}
