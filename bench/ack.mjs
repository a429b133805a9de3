/**
 * Part 1, durable ack throughput: the bare node:http baseline (A) and the
 * runner (B), same payload, same 32 connections, from wrk in its own process
 * (lib/load.mjs), alternated round by round. Both servers run in child
 * processes; the runner acknowledges only after its SQLite commit, and queues
 * one http step per event to a sink in a third process, as the shipped config
 * would. Each round also runs B on Redis: one replica, then two on the same
 * Redis and prefix with 16 of the 32 connections each (skipped without
 * redis-server), and, in full runs, the competitor W (adnanh/webhook) and the
 * diagnostic C (no recipe). B runs with the console on (as shipped) and
 * `/metrics` scraped every second; D is the same runner with
 * `admin.enabled: false`, so B/D is what the console costs the ack path.
 *
 *   node bench/ack.mjs [--quick] [--profile] [--no-redis]
 */
import { peakRssMb, startBaseline, startCompetitor, startSink, stopChild } from './lib/children.mjs'
import { ensureCommand } from './lib/debian.mjs'
import { load } from './lib/load.mjs'
import { median } from './lib/stats.mjs'
import { fmt, say, standalone } from './lib/report.mjs'
import { BENCH_KEY, startRunnerChild } from './lib/runner.mjs'
import { describe, REDIS_SETUPS, redisSkipReason, rssText, startSetup, worstRss } from './lib/stores.mjs'

export const TARGET_RATIO = 0.5
/** The console may cost the ack path at most 5 %. */
export const TARGET_CONSOLE_RATIO = 0.95
const CONNECTIONS = 32

export async function ackBench({ quick = false, profile = false, redis = true } = {}) {
  const duration = quick ? 2 : 10
  const warmup = quick ? 1 : 2
  const rounds = quick ? 1 : 3
  const skipRedis = redisSkipReason({ redis })
  const redisSetups = skipRedis ? [] : REDIS_SETUPS
  // The competitor (full runs): adnanh/webhook, installed from Debian when missing.
  const skipCompetitor = quick ? 'not in quick runs' : ensureCommand('webhook')
  const sink = await startSink()
  let baseline
  const a = []
  const b = []
  // The runner with the console off: B/D is the console's cost.
  const d = []
  // Diagnostic (full runs only): the runner with no recipe, i.e. the receiver and the
  // store without step work. The engine still records each event as matched.
  const c = []
  // B on each Redis setup, by setup key.
  const r = Object.fromEntries(redisSetups.map((s) => [s.key, []]))
  // W: adnanh/webhook.
  const w = []
  // F (full runs): the floors, a bare server doing only the store write, only the step, or both.
  const FLOORS = ['store', 'step', 'both']
  const f = Object.fromEntries(FLOORS.map((mode) => [mode, []]))
  /** Warm-up, then the measured run, against a fresh setup; stopped after. */
  const measure = async (setup) => {
    const started = await setup()
    try {
      await load({ url: started.url, connections: CONNECTIONS, duration: warmup })
      const result = await load({ url: started.url, connections: CONNECTIONS, duration })
      result.rss = started.peakRss()
      return result
    } finally {
      await started.stop()
    }
  }
  const sqlite =
    (steps, label, console = true) =>
    async () => {
      const runner = await startRunnerChild({ sinkUrl: sink.url, steps, profile, label, console })
      // As Prometheus would, 15 times as often as its default interval.
      const scraper = console ? scrapeEvery(`${runner.url}/metrics`, runner.adminToken(), 1000) : undefined
      const stop = async () => {
        await scraper?.stop()
        await runner.stop()
      }
      return { url: runner.url, peakRss: () => [peakRssMb(runner.child.pid)], stop }
    }
  try {
    baseline = await startBaseline()
    for (let round = 1; round <= rounds; round++) {
      say(`ack round ${round}/${rounds}: A baseline node:http, ${CONNECTIONS} connections, ${duration} s`)
      await load({ url: baseline.url, connections: CONNECTIONS, duration: warmup })
      a.push(await load({ url: baseline.url, connections: CONNECTIONS, duration }))
      // B and D take turns going first: the machine's drift within a round does not favour either.
      const pair = [
        async () => {
          say(`ack round ${round}/${rounds}: B runner (durable ack, fresh store), ${CONNECTIONS} connections, ${duration} s`)
          b.push(await measure(sqlite(true, 'ack')))
        },
        async () => {
          say(`ack round ${round}/${rounds}: D runner with the console off, ${CONNECTIONS} connections, ${duration} s`)
          d.push(await measure(sqlite(true, 'ack-no-console', false)))
        },
      ]
      for (const run of round % 2 ? pair : pair.reverse()) await run()
      if (!quick) {
        say(`ack round ${round}/${rounds}: C runner with no recipe (diagnostic), ${CONNECTIONS} connections, ${duration} s`)
        c.push(await measure(sqlite(false, 'ack-no-recipe')))
      }
      for (const setup of redisSetups) {
        say(`ack round ${round}/${rounds}: B on ${describe(setup)}, fresh Redis, ${CONNECTIONS} connections, ${duration} s`)
        r[setup.key].push(await measure(() => startSetup(setup, { sinkUrl: sink.url, profile, label: 'ack' })))
      }
      for (const mode of quick ? [] : FLOORS) {
        say(`ack round ${round}/${rounds}: F floor (${mode}), ${CONNECTIONS} connections, ${duration} s`)
        f[mode].push(await measure(() => single(startBaseline({ mode, sinkUrl: sink.url }))))
      }
      if (!skipCompetitor) {
        say(`ack round ${round}/${rounds}: W adnanh/webhook, ${CONNECTIONS} connections, ${duration} s`)
        w.push(await measure(() => single(startCompetitor(BENCH_KEY))))
      }
    }
  } finally {
    await stopChild(baseline?.child)
    await stopChild(sink.child)
  }
  for (const x of [...a, ...b, ...c, ...d, ...w, ...Object.values(f).flat(), ...Object.values(r).flat()]) {
    if (x.ok === 0) throw new Error('no 2xx answers: the server under test is not answering')
  }
  const mid = (list, f) => median(list.map(f))
  const worst = (list, f) => Math.max(...list.map(f))
  const rpsA = mid(a, (x) => x.rps)
  const rpsB = mid(b, (x) => x.rps)
  const ratio = rpsB / rpsA
  // Round by round (B and D measured minutes apart in the same conditions), then the median.
  const consoleRatios = b.map((x, i) => x.rps / d[i].rps)
  const consoleRatio = median(consoleRatios)
  const line = (list) =>
    `${fmt.int(mid(list, (x) => x.rps))} req/s (${list.map((x) => fmt.int(x.rps)).join(' / ')}), p50 ${fmt.ms(mid(list, (x) => x.latency.p50))}, p99 ${fmt.ms(worst(list, (x) => x.latency.p99))}`
  const problems = [...b, ...Object.values(r).flat()].reduce((s, x) => s + x.non2xx + x.errors + x.duplicates, 0)
  const redisRatios = Object.fromEntries(redisSetups.map((s) => [s.key, mid(r[s.key], (x) => x.rps) / rpsA]))
  const redisRows = skipRedis
    ? [{ measure: 'B on Redis ×1 and ×2', result: skipRedis, target: `>= ${TARGET_RATIO}` }]
    : redisSetups.map((s) => ({
        measure: `B/A on ${describe(s, s.replicas > 1 ? `${CONNECTIONS / s.replicas} conn. each` : `${CONNECTIONS} conn.`)}`,
        result: `${fmt.ratio(redisRatios[s.key])}: ${line(r[s.key])}, peak RSS ${rssText(worstRss(r[s.key].map((x) => x.rss)))}`,
        target: `>= ${TARGET_RATIO}`,
        met: quick ? undefined : redisRatios[s.key] >= TARGET_RATIO,
      }))
  const competitorRatio = w.length ? mid(w, (x) => x.rps) / rpsA : undefined
  const competitorRow = {
    measure: 'W: adnanh/webhook 2.8, key header rule, runs /bin/true, keeps nothing (competitor)',
    result: skipCompetitor
      ? `skipped: ${skipCompetitor}`
      : `ratio to A ${fmt.ratio(competitorRatio)}: ${line(w)}, peak RSS ${fmt.mb(worst(w, (x) => x.rss[0] ?? 0))}`,
  }
  return {
    title: '1. Durable ack throughput',
    rows: [
      { measure: `A: bare node:http, parse JSON, 202 (${CONNECTIONS} conn.)`, result: line(a) },
      {
        measure: `B: runner, SQLite group commit + 1 http step/event (${CONNECTIONS} conn.)`,
        result: `${line(b)}, peak RSS ${fmt.mb(worst(b, (x) => x.rss[0] ?? 0))}`,
      },
      {
        measure: 'ratio B/A (SQLite)',
        result: fmt.ratio(ratio),
        target: `>= ${TARGET_RATIO}`,
        met: quick ? undefined : ratio >= TARGET_RATIO,
      },
      { measure: 'D: runner as B, console off (admin.enabled: false)', result: line(d) },
      {
        measure: 'ratio B/D (console on, /metrics scraped every 1 s, vs off; median of the rounds)',
        result: `${fmt.ratio(consoleRatio)} (${consoleRatios.map((x) => fmt.ratio(x)).join(' / ')})`,
        target: `>= ${TARGET_CONSOLE_RATIO}`,
        met: quick ? undefined : consoleRatio >= TARGET_CONSOLE_RATIO,
      },
      ...(c.length
        ? [
            {
              measure: 'C: runner with no recipe (diagnostic: receiver + store, no step work)',
              result: `${line(c)}; ratio C/A ${fmt.ratio(mid(c, (x) => x.rps) / rpsA)}`,
            },
          ]
        : []),
      ...redisRows,
      ...(f.store.length
        ? [
            {
              measure:
                'F: floors, bare node:http as A plus only: the SQLite group-commit insert before the 202 / one POST to the sink after it / both (diagnostic: bench/servers/baseline.mjs with a mode)',
              result: FLOORS.map(
                (mode) => `${mode}: ${fmt.ratio(mid(f[mode], (x) => x.rps) / rpsA)} × A, ${fmt.int(mid(f[mode], (x) => x.rps))} req/s`,
              ).join('; '),
            },
          ]
        : []),
      competitorRow,
    ],
    notes: [
      `Ack: ${rounds} round(s) of A, then B and D (taking turns to go first)${c.length ? ' then C' : ''}${redisSetups.length ? ` then B on ${redisSetups.map((s) => s.name).join(', ')}` : ''}${f.store.length ? ' then the floors F' : ''}${w.length ? ' then W' : ''}, ${duration} s each after a ${warmup} s warm-up, a fresh server and store for each; every request distinct. req/s is the median of the rounds (each round's in brackets); p99 is the worst round's. The runner's steps run in the same process while it acknowledges, as in production, so B pays for them.`,
      ...(problems
        ? [`Ack: the runner answered ${problems} requests with something other than a new-delivery 202 (errors, duplicates or non-2xx).`]
        : []),
    ],
    raw: { a, b, c, d, w, floors: f, redis: r, ratio, consoleRatio, redisRatios, competitorRatio },
  }
}

/** A server in one child process, as `measure` takes it. */
async function single(starting) {
  const { child, url, stop } = await starting
  return { url, peakRss: () => [peakRssMb(child.pid)], stop }
}

/** GETs `url` with the admin token every `ms` until stopped; counts the 200s. */
function scrapeEvery(url, token, ms) {
  if (!token) throw new Error(`no admin token beside the runner: does this build (${url}) have the console?`)
  let ok = 0
  let running = Promise.resolve()
  const timer = setInterval(() => {
    running = fetch(url, { headers: { authorization: `Bearer ${token}` } })
      .then(async (res) => {
        await res.arrayBuffer()
        if (res.status === 200) ok++
      })
      .catch(() => {})
  }, ms)
  return {
    async stop() {
      clearInterval(timer)
      await running
      if (ok === 0) throw new Error(`no /metrics scrape answered 200 at ${url}`)
    },
  }
}

await standalone(import.meta.url, ackBench)
