/**
 * `npm run bench`: every part, one after the other, then the table.
 *
 *   npm run bench                      the full run (about 6-8 minutes)
 *   npm run bench -- --quick           smoke run: short parts, 1,000 events (well under a minute)
 *   npm run bench -- --write           also rewrite BENCHMARKS.md with the table
 *   npm run bench -- --only ack,cold-start
 *   npm run bench -- --profile         runner children under --cpu-prof (bench/.results/profiles),
 *                                      summarise with `node bench/profile-top.mjs`
 *   npm run bench -- --no-redis        SQLite only (the Redis rows say skipped)
 *
 * Every part measures the runner on SQLite and, beside it, on Redis with one
 * replica and with two (lib/stores.mjs): a fresh redis-server per
 * measurement, AOF on with appendfsync always. Without redis-server on PATH,
 * or with a BENCH_CLI build that has no Redis backend, those rows say skipped.
 * Load comes from other processes (lib/load.mjs): Debian's wrk, installed
 * here when missing and run as root, and bench/load/paced.mjs. Full runs add
 * adnanh/webhook (Debian's `webhook`, installed the same way) as a competitor.
 * BENCHMARKS.md is the table, its notes, and bench/findings.md (the profile
 * findings, written by hand) after it.
 *
 * Each part also runs on its own: node bench/{ack,latency,pipeline,cold-start}.mjs [--quick].
 * BENCH_CLI=/path/to/copy/of/dist/cli/main.js runs the runner from another build (no rebuild):
 * keep a copy of dist/ before a change to compare before and after.
 * Exit status: 0 when every part ran (targets met or not: the table says), 1 when a part crashed.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, relative } from 'node:path'
import { ackBench, TARGET_CONSOLE_RATIO, TARGET_RATIO } from './ack.mjs'
import { coldStartBench, TARGET_MS } from './cold-start.mjs'
import { latencyBench, TARGET_P99_9_MS, TARGET_P99_MS } from './latency.mjs'
import { PAYLOAD_BYTES } from './lib/load.mjs'
import { ensureCommand } from './lib/debian.mjs'
import { ensureBuilt, machine, parseArgs, say, table } from './lib/report.mjs'
import { CLI, ROOT } from './lib/runner.mjs'
import { redisNote, redisSkipReason } from './lib/stores.mjs'
import { pipelineBench, TARGET_EVENTS_PER_S, TARGET_RSS_MB } from './pipeline.mjs'

const PARTS = { ack: ackBench, latency: latencyBench, pipeline: pipelineBench, 'cold-start': coldStartBench }

const args = parseArgs()
if (args.help) {
  process.stdout.write(`usage: npm run bench -- [--quick] [--write] [--only ${Object.keys(PARTS).join(',')}] [--profile] [--no-redis]\n`)
  process.exit(0)
}
const only = args.only ?? Object.keys(PARTS)
for (const name of only) if (!PARTS[name]) throw new Error(`unknown part "${name}" (parts: ${Object.keys(PARTS).join(', ')})`)
if (args.write && (args.quick || args.only || !args.redis)) {
  say('--write records a full run of every part; drop --quick, --only and --no-redis')
  process.exit(2)
}

// Unattended: a run that hangs is stopped (children are killed on exit).
const limitMs = args.quick ? 120_000 : 1_200_000
const watchdog = setTimeout(() => {
  say(`still running after ${limitMs / 1000} s; stopping`)
  process.exit(1)
}, limitMs).unref()

const started = performance.now()
const m = machine()
const load1 = loadavg()[0]
say(`${m.cores} cores, ${m.cpu}, Node ${m.node}; load average ${load1.toFixed(2)}${args.quick ? '; quick (smoke) mode' : ''}`)
if (load1 > 0.5) say('other processes are using the CPU: the figures will be lower and noisier than on a quiet machine')

const results = []
let crashed = 0
try {
  ensureBuilt()
} catch (err) {
  say(`build failed: ${err.message}`)
  process.exit(1)
}
const noWrk = only.some((name) => name === 'ack' || name === 'pipeline') ? ensureCommand('wrk') : undefined
if (noWrk) {
  say(`${noWrk}: parts 1 and 3 need it`)
  process.exit(1)
}
for (const name of only) {
  try {
    results.push(await PARTS[name]({ quick: args.quick, profile: args.profile, redis: args.redis }))
  } catch (err) {
    crashed++
    say(`part ${name} failed: ${err?.stack ?? err}`)
    results.push({ title: name, rows: [{ measure: 'FAILED', result: String(err?.message ?? err).split('\n')[0] }], notes: [] })
  }
}
if (!args.only) {
  results.push({
    title: '5. Recovery',
    rows: [
      {
        measure: '`kill -9` at any moment: no acknowledged event lost, no `done` step repeated',
        result: 'covered by test/queue/crash.test.ts (and test/cli/crash.test.ts)',
        target: 'no loss, no repeat',
        met: undefined,
      },
    ],
    notes: [],
  })
}
clearTimeout(watchdog)

const seconds = (performance.now() - started) / 1000
// The 1-minute load average at the end counts the bench's own children too (a full run keeps about 2 busy).
const loadEnd = loadavg()[0]
const header = `${m.cores} cores, ${m.cpu}, ${m.memory} RAM; Node ${m.node}; ${m.date}; load average ${load1.toFixed(2)} at start, ${loadEnd.toFixed(2)} at the end (the bench's own processes included); ${args.quick ? 'quick (smoke) run' : 'full run'} in ${seconds.toFixed(0)} s; runner ${relative(ROOT, CLI)}`
const notes = [
  `Payload: test/fixtures/title-ready.json (${PAYLOAD_BYTES} bytes) with its \`id\` replaced by a distinct number per request. Load from other processes, never the bench's own: wrk (one thread, bench/load/wrk.lua) for throughput and bursts, bench/load/paced.mjs for evenly paced latency. Every server in its own child process, all on 127.0.0.1 on the same 2 cores as the load generators and the sink.`,
  ...(redisSkipReason(args) || !only.some((name) => name !== 'cold-start') ? [] : [redisNote()]),
  ...results.flatMap((r) => r.notes ?? []),
]
const judged = results.flatMap((r) => r.rows.filter((row) => row.met !== undefined).map((row) => ({ part: r.title, ...row })))
const missed = judged.filter((row) => !row.met)
const verdict = args.quick
  ? 'Quick (smoke) run: targets not judged.'
  : `Targets met: ${judged.length - missed.length} of ${judged.length}.${missed.length ? ` Not met:\n\n${missed.map((row) => `- ${row.part}: ${row.measure} (${row.target})`).join('\n')}` : ''}`
const text = `${header}\n\n${table(results)}\n\n${verdict}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`
process.stdout.write(`\n${text}`)

if (args.write && crashed) {
  say('not writing BENCHMARKS.md: a part failed')
} else if (args.write) {
  const findings = readFileSync(join(ROOT, 'bench', 'findings.md'), 'utf8').trim()
  const doc = `# Benchmarks

Generated by \`npm run bench -- --write\` (bench/run.mjs) from one run; do not edit by hand (the
findings after the table are bench/findings.md). The targets, set in bench/*.mjs (\`TARGET_*\`) and
judged on SQLite and on Redis with one and two replicas alike:

- durable ack throughput at least ${TARGET_RATIO} × a bare node:http server (one \`http\` step per event
  running meanwhile), and with the console on at least ${TARGET_CONSOLE_RATIO} × the same runner with it off;
- ack p99 under ${TARGET_P99_MS} ms and p99.9 under ${TARGET_P99_9_MS} ms at 2,000 req/s offered, evenly paced;
- a 10,000-event burst at ${TARGET_EVENTS_PER_S.toLocaleString('en-US')} events/s or more at concurrency 16, peak RSS under ${TARGET_RSS_MB} MB;
- cold start to ready under ${TARGET_MS} ms with the TypeScript config.

adnanh/webhook (Debian's \`webhook\`) runs in the same run as a competitor row. \`npm run bench\`
prints the same table without writing it; \`npm run bench -- --quick\` is the smoke run CI uses
(short parts, targets not judged). Each part runs on its own too: \`node bench/ack.mjs\`,
\`bench/latency.mjs\`, \`bench/pipeline.mjs\`, \`bench/cold-start.mjs\`. Profile the runner with
\`npm run bench -- --profile --only pipeline\`, then \`node bench/profile-top.mjs\`.

Machine: ${text}
${findings}
`
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), doc)
  say('wrote BENCHMARKS.md')
}
process.exit(crashed ? 1 : 0)
