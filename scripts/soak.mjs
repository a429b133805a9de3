#!/usr/bin/env node
/**
 * `npm run soak`: the crash loop of test/reliability (crash-loop.ts) at any
 * size. Sends distinct deliveries while the built runner (dist/cli/main.js)
 * is kill -9'ed at random moments and restarted, then checks that nothing
 * acknowledged was lost, nothing was stored twice, every step finished, and
 * only steps cut off by a kill repeated their side effect.
 *
 *   npm run soak -- --deliveries 20000 --kills 30 --in-flight 32 --concurrency 16
 *   npm run soak -- --seed 12345          # replay a kill schedule
 *   npm run soak -- --write               # also update the `soak` row of RELIABILITY.md
 *
 * Exit code 1 when a check fails. Loopback only; every child is killed at the end.
 */
import { parseArgs } from 'node:util'
import { createJiti } from 'jiti'

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '20000' },
    kills: { type: 'string', default: '30' },
    'in-flight': { type: 'string', default: '32' },
    concurrency: { type: 'string', default: '16' },
    'sink-delay': { type: 'string', default: '5' },
    'kill-after': { type: 'string', default: '200-1500' },
    seed: { type: 'string' },
    minutes: { type: 'string', default: '20' },
    write: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (values.help) {
  console.log(`npm run soak -- [--deliveries N] [--kills N] [--in-flight N] [--concurrency N]
                   [--sink-delay MS] [--kill-after MIN-MAX] [--seed N] [--minutes N] [--write]
Defaults: 20000 deliveries, 30 kills (some while the runner starts up), 32 in flight, concurrency 16, sink 5 ms,
a kill 200-1500 ms after each start, give up after 20 minutes. Run \`npm run build\` first
(npm run soak does).`)
  process.exit(0)
}

const int = (name) => {
  const n = Number(values[name])
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name}: "${values[name]}" is not a whole number`)
    process.exit(2)
  }
  return n
}
const [lo, hi] = values['kill-after'].split('-').map(Number)
if (!(lo >= 0 && hi > lo)) {
  console.error(`--kill-after: "${values['kill-after']}" is not MIN-MAX in ms`)
  process.exit(2)
}

// The loop is TypeScript shared with the test suite; jiti (a dependency) runs it as is.
const jiti = createJiti(import.meta.url)
const { runCrashLoop } = await jiti.import('../test/reliability/crash-loop.ts')
const { writeReportRows } = await jiti.import('../test/reliability/report.ts')

const started = Date.now()
const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`
const options = {
  deliveries: int('deliveries'),
  kills: int('kills'),
  inFlight: int('in-flight'),
  concurrency: int('concurrency'),
  sinkDelay: int('sink-delay'),
  killAfter: [lo, hi],
  deadline: int('minutes') * 60_000,
  log: (line) => console.log(`${stamp()}  ${line}`),
  ...(values.seed === undefined ? {} : { seed: int('seed') }),
}
console.log(
  `soak: ${options.deliveries} deliveries, ${options.kills} kills, ${options.inFlight} in flight, concurrency ${options.concurrency}`,
)
const r = await runCrashLoop(options)

console.log(`
seed                 ${r.seed}
kills                ${r.kills} (${r.earlyKills} while starting up and recovering)
deliveries           ${r.deliveries} (acknowledged ${r.acknowledged}, stored ${r.eventsStored})
retried by client    ${r.retried} (${
  Object.entries(r.failures)
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ') || 'none'
}); answered duplicate:true ${r.answeredDuplicate}
lost                 ${r.lost}
stored twice         ${r.storedTwice}
step runs            ${r.runs} (not done ${r.runsNotDone})
sink requests        ${r.sinkRequests} (repeated ${r.repeatedSideEffects}, allowed ≤ ${r.kills * options.concurrency}; max cut off by one kill ${r.maxRunningAtKill})
time                 ${(r.elapsedMs / 1000).toFixed(1)} s (all acknowledged at ${(r.sentMs / 1000).toFixed(1)} s, all steps done at ${(r.finishedMs / 1000).toFixed(1)} s)`)
const ok = r.violations.length === 0 && r.acknowledged === r.deliveries && r.runsNotDone === 0 && r.kills === options.kills
if (r.violations.length) console.log(`\nviolations:\n  ${r.violations.join('\n  ')}`)
if (values.write) {
  writeReportRows([
    {
      id: 'soak',
      scenario: `Soak (npm run soak): ${r.deliveries} deliveries, ${options.inFlight} in flight, concurrency ${options.concurrency}, kill -9 ${options.kills}× at random`,
      tried: `${r.deliveries} deliveries, ${r.runs} step runs`,
      lost: r.lost + r.runsNotDone,
      duplicated: `${r.storedTwice} stored twice; ${r.repeatedSideEffects} side effects repeated (allowed ≤ ${r.kills * options.concurrency})`,
      result: ok ? 'pass' : 'FAIL',
      notes: `${r.kills} kills (${r.earlyKills} while starting up), seed ${r.seed}; ${r.retried} deliveries retried, ${r.answeredDuplicate} answered duplicate:true; ${(r.elapsedMs / 1000).toFixed(1)} s`,
    },
  ])
}
console.log(ok ? '\nsoak: pass' : '\nsoak: FAIL')
process.exit(ok ? 0 : 1)
