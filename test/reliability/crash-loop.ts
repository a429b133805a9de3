/**
 * The crash loop: distinct deliveries sent concurrently while the runner
 * (the built CLI, a child process) is `kill -9`ed at random moments and
 * restarted on the same port. Shared by test/reliability/crash-loop.test.ts
 * (CI-sized) and `npm run soak` (scripts/soak.mjs, any size).
 *
 * It checks what the contract promises after the last restart:
 * - every delivery that got a 2xx is in the store, with the id it was given,
 *   and no delivery is stored twice (a retried one is answered duplicate: true);
 * - every step run ends `done`, and step 2 of a recipe never starts before step 1 is done;
 * - side effects (sink requests counted by Idempotency-Key = run id) repeat
 *   only for runs that were `running` when a kill hit, at most
 *   queue.concurrency per kill, and never for a run already recorded `done`.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeConfig } from '../helpers/child.js'
import { closedPort, createHttpSink } from '../helpers/http-sink.js'
import { tempDir } from '../helpers/runner.js'
import {
  type Child,
  countBy,
  type Delivered,
  deliverWithRetry,
  launchRunner,
  pool,
  prng,
  readStore,
  sleep,
  spawnRunner,
  storeCounts,
} from './helpers.js'

export interface CrashLoopOptions {
  /** Distinct deliveries (default 2,000). */
  deliveries?: number
  /** Deliveries in flight at once (default 16). */
  inFlight?: number
  /** Kills (default 5), each a random pause after the runner got ready; delivering and processing go on around them. */
  kills?: number
  /** queue.concurrency of the runner (default 8). */
  concurrency?: number
  /** How long the sink takes per request, ms (default 5): steps are in flight when a kill hits. */
  sinkDelay?: number
  /** Random pause between ready and kill, ms (default [200, 900]). */
  killAfter?: [number, number]
  /** Chance that a restart is killed again while it starts up and recovers, before it serves (default 0.3). */
  earlyKillChance?: number
  /** PRNG seed of the kill schedule (default: random; printed in the result). */
  seed?: number
  /** Give up (and report) after this long, ms (default 50 s). */
  deadline?: number
  /** Progress lines. */
  log?: (line: string) => void
}

export interface CrashLoopResult {
  seed: number
  deliveries: number
  kills: number
  /** Of which, kills of a runner still starting up (recovering), before it served. */
  earlyKills: number
  elapsedMs: number
  /** When the last delivery was acknowledged, and when the last step finished (ms from the start). */
  sentMs: number
  finishedMs: number
  /** Deliveries answered 2xx in the end. */
  acknowledged: number
  /** Deliveries that needed more than one attempt (connection error or 503 during a kill). */
  retried: number
  /** Retried deliveries whose first attempt had been stored: answered `duplicate: true`. */
  answeredDuplicate: number
  /** Attempts that failed, by reason (ECONNREFUSED, 503, ...). */
  failures: Record<string, number>
  eventsStored: number
  /** Acknowledged deliveries missing from the store (or stored under another id). */
  lost: number
  /** Deliveries stored more than once. */
  storedTwice: number
  runs: number
  runsNotDone: number
  sinkRequests: number
  /** Sink requests beyond the first per run id. */
  repeatedSideEffects: number
  /** Most runs cut off (state `running`) by a single kill. */
  maxRunningAtKill: number
  violations: string[]
}

export async function runCrashLoop(options: CrashLoopOptions = {}): Promise<CrashLoopResult> {
  const {
    deliveries = 2000,
    inFlight = 16,
    kills: wantedKills = 5,
    concurrency = 8,
    sinkDelay = 5,
    killAfter = [200, 900],
    earlyKillChance = 0.3,
    seed = Math.floor(Math.random() * 2 ** 31),
    deadline: budget = 50_000,
    log = () => {},
  } = options
  const started = Date.now()
  const deadline = started + budget
  const random = prng(seed)
  const violations: string[] = []
  const KEY = 'crash-loop-key'

  // Sink: remember only the Idempotency-Key and path of each request, in arrival order.
  const seen: Array<{ key: string; step: number }> = []
  const sink = await createHttpSink({
    record: false,
    reply: (r) => {
      seen.push({ key: String(r.headers['idempotency-key']), step: r.path.startsWith('/s2') ? 2 : 1 })
      return { status: 200, delay: sinkDelay, body: 'ok' }
    },
  })
  const dir = tempDir('ar-crash-')
  const db = join(dir, 'runner.db')
  const port = await closedPort()
  writeConfig(dir, {
    auth: { keys: [KEY] },
    store: { path: db },
    queue: { concurrency, timeout: '10s', retry: { attempts: 10, delay: '50ms', factor: 2, maxDelay: '1s' } },
    recipes: [
      {
        name: 'publish',
        on: 'title-ready',
        do: [
          { name: 'build', action: 'http', with: { url: `${sink.url}/s1?title={{id}}` } },
          { name: 'notify', action: 'http', with: { url: `${sink.url}/s2?title={{id}}&after={{steps.build.status}}` } },
        ],
      },
    ],
  })

  let child: Child | undefined
  let kills = 0
  let earlyKills = 0
  let maxRunningAtKill = 0
  /** Runs seen `running` at some kill: the only ones allowed to repeat. */
  const cutOff = new Set<string>()
  /** Run id → sink position at the first kill where it was already `done`: no request for it may come later. */
  const doneAt = new Map<string, number>()

  try {
    child = await spawnRunner(dir, { port, env: { LOG_LEVEL: 'warn' } })
    const url = () => `http://127.0.0.1:${port}`
    const bodies = Array.from({ length: deliveries }, (_, i) =>
      JSON.stringify({ id: i, name: `Episode ${i}`, tags: [{ name: 'Podcast', slug: 'podcast' }] }),
    )
    const sender = pool(deliveries, inFlight, (i) => deliverWithRetry(url, 'title-ready', bodies[i]!, { key: KEY, deadline, pause: 20 }))

    // The killer: random pauses, kill -9, look at the store while nothing runs, restart on the same port.
    while (kills < wantedKills && Date.now() < deadline) {
      const [lo, hi] = killAfter
      await sleep(lo + Math.floor(random() * (hi - lo)))
      await child.kill('SIGKILL')
      kills++
      const position = seen.length
      const snap = await readStore(db)
      let running = 0
      for (const run of snap.runs) {
        if (run.state === 'running') {
          running++
          cutOff.add(run.id)
        }
        if (run.state === 'done' && !doneAt.has(run.id)) doneAt.set(run.id, position)
      }
      maxRunningAtKill = Math.max(maxRunningAtKill, running)
      log(
        `kill ${kills}: ${snap.events.length} events stored, ${snap.runs.filter((r) => r.state === 'done').length}/${snap.runs.length} runs done, ${running} running`,
      )
      if (kills < wantedKills && random() < earlyKillChance) {
        // Kill the next start while it recovers (it may already be resuming steps).
        const starting = launchRunner(dir, { port, env: { LOG_LEVEL: 'warn' } })
        await sleep(300 + Math.floor(random() * 700))
        await starting.kill('SIGKILL')
        kills++
        earlyKills++
        const at = seen.length
        const s2 = await readStore(db)
        for (const run of s2.runs) {
          if (run.state === 'running') cutOff.add(run.id)
          if (run.state === 'done' && !doneAt.has(run.id)) doneAt.set(run.id, at)
        }
        log(`kill ${kills} (while starting): ${s2.runs.filter((r) => r.state === 'done').length}/${s2.runs.length} runs done`)
      }
      child = await spawnRunner(dir, { port, env: { LOG_LEVEL: 'warn' } })
    }
    const answers: Delivered[] = await sender
    const sentMs = Date.now() - started
    log(`sent ${deliveries} deliveries in ${sentMs} ms`)

    // Let the last runner finish everything.
    for (
      let c = await storeCounts(db);
      Date.now() < deadline && !(c.undispatched === 0 && c.runs === 2 * c.events && c.done === c.runs);
      c = await storeCounts(db)
    )
      await sleep(200)
    const finishedMs = Date.now() - started
    log(`all steps finished after ${finishedMs} ms`)
    const snap = await readStore(db)

    // ---- deliveries: acknowledged ones are stored, once, under the id they were given
    const failures: Record<string, number> = {}
    for (const a of answers) for (const f of a.failures) failures[f] = (failures[f] ?? 0) + 1
    const byBodyId = new Map<number, Array<{ id: string }>>()
    for (const e of snap.events) {
      const n = (JSON.parse(e.body) as { id: number }).id
      byBodyId.set(n, [...(byBodyId.get(n) ?? []), { id: e.id }])
    }
    let lost = 0
    let storedTwice = 0
    answers.forEach((a, i) => {
      const stored = byBodyId.get(i) ?? []
      if (stored.length > 1) storedTwice++
      if (a.status !== 200 && a.status !== 202) {
        violations.push(`delivery ${i}: no 2xx after ${a.attempts} attempts (last ${a.status ?? a.failures.at(-1)})`)
        return
      }
      if (!stored.some((s) => s.id === a.id)) {
        lost++
        violations.push(`delivery ${i}: acknowledged as ${a.id} but the store has ${stored.map((s) => s.id).join(', ') || 'nothing'}`)
      }
    })
    if (storedTwice) violations.push(`${storedTwice} deliveries stored more than once`)

    // ---- runs: all done
    const runsNotDone = snap.runs.filter((r) => r.state !== 'done')
    if (snap.runs.length !== 2 * snap.events.length)
      violations.push(`${snap.runs.length} runs for ${snap.events.length} events (expected 2 each)`)
    for (const r of runsNotDone.slice(0, 5)) violations.push(`run ${r.id} (step ${r.stepIndex + 1}) ended ${r.state}: ${r.error ?? ''}`)
    if (runsNotDone.length > 5) violations.push(`… and ${runsNotDone.length - 5} more runs not done`)

    // ---- side effects: each run reached the sink; repeats only for cut-off runs, never after done
    const perKey = countBy(seen, (s) => s.key)
    const runIds = new Set(snap.runs.map((r) => r.id))
    const missing = [...runIds].filter((id) => !perKey.has(id))
    if (missing.length) violations.push(`${missing.length} runs never reached the sink (e.g. ${missing[0]})`)
    let repeated = 0
    for (const [key, n] of perKey) {
      if (n <= 1) continue
      repeated += n - 1
      if (!cutOff.has(key)) violations.push(`run ${key} reached the sink ${n} times but was never cut off by a kill`)
    }
    if (repeated > kills * concurrency)
      violations.push(`${repeated} repeated side effects for ${kills} kills at concurrency ${concurrency}`)
    seen.forEach((s, position) => {
      const at = doneAt.get(s.key)
      if (at !== undefined && position >= at) violations.push(`run ${s.key} was recorded done before kill, and ran again after it`)
    })
    // ---- order: step 2 of an event starts only after step 1's last attempt
    const stepOf = new Map(snap.runs.map((r) => [r.id, { eventId: r.eventId, step: r.stepIndex + 1 }]))
    const lastStep1 = new Map<string, number>()
    const firstStep2 = new Map<string, number>()
    seen.forEach((s, position) => {
      const run = stepOf.get(s.key)
      if (!run) return
      if (run.step === 1) lastStep1.set(run.eventId, position)
      else if (!firstStep2.has(run.eventId)) firstStep2.set(run.eventId, position)
    })
    for (const [eventId, p2] of firstStep2) {
      const p1 = lastStep1.get(eventId)
      if (p1 === undefined || p1 > p2) violations.push(`event ${eventId}: step 2 reached the sink before step 1's last attempt`)
    }

    return {
      seed,
      deliveries,
      kills,
      earlyKills,
      elapsedMs: Date.now() - started,
      sentMs,
      finishedMs,
      acknowledged: answers.filter((a) => a.status === 200 || a.status === 202).length,
      retried: answers.filter((a) => a.attempts > 1).length,
      answeredDuplicate: answers.filter((a) => a.duplicate === true).length,
      failures,
      eventsStored: snap.events.length,
      lost,
      storedTwice,
      runs: snap.runs.length,
      runsNotDone: runsNotDone.length,
      sinkRequests: seen.length,
      repeatedSideEffects: repeated,
      maxRunningAtKill,
      violations: violations.slice(0, 50),
    }
  } finally {
    await child?.kill('SIGKILL')
    await sink.close()
    // Keep the store of a failed run for a look; a passing one can go (a soak's is large).
    if (violations.length === 0) rmSync(dir, { recursive: true, force: true })
    else log(`store kept for inspection: ${db}`)
  }
}
