/**
 * Regular expressions in conditions are checked once, at load time, for
 * catastrophic backtracking: `matches: '^(a+)+$'` blocked the event loop for
 * 19 s on a 29-character name. The check is recheck's (a real ReDoS analyser,
 * which tells exponential from polynomial and gives the degree), run with its
 * pure-JS backend in a worker thread that exits when done: recheck holds some
 * 70 MB once loaded, and its native backend leaves a helper process running.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { ConfigIssue } from '../errors.js'

/** A pattern found in a condition, and where. */
export interface PatternUse {
  path: string
  re: RegExp
}

// Exponential patterns have no bound, and from degree 3 on even 10,000 characters take minutes
// (`\d+\d+$` took 167 s). Degree 2 is `\d+$` or `a.*b`: too common to refuse, and with `matches`
// testing at most 10,000 characters, about 0.1 s at worst.
const MAX_DEGREE = 2
const CHECK_TIMEOUT = 3_000
const ESCAPE = 'or use a function condition: (ctx) => boolean'

interface Verdict {
  status: 'safe' | 'vulnerable' | 'unknown'
  /** Undefined for an exponential pattern. */
  degree?: number
  /** The parts of the pattern that backtrack. */
  hot?: string[]
  error?: string
}

// Runs in the worker: CommonJS, because an `eval` worker is a script.
const CHECKER = `
const { parentPort, workerData } = require('node:worker_threads')
process.env.RECHECK_BACKEND = 'pure'
const { check } = require(workerData.recheck)
function verdict(d) {
  if (d.status === 'safe') return { status: 'safe' }
  if (d.status === 'unknown') return { status: 'unknown', error: d.error.kind === 'timeout' ? 'it took over ' + workerData.timeout + ' ms' : d.error.message }
  const hot = [...new Set(d.hotspot.filter((h) => h.temperature === 'heat').map((h) => d.source.slice(h.start, h.end)))]
  return { status: 'vulnerable', degree: d.complexity.type === 'polynomial' ? d.complexity.degree : undefined, hot }
}
Promise.all(workerData.patterns.map((p) => check(p.source, p.flags, { timeout: workerData.timeout })
  .then(verdict, (e) => ({ status: 'unknown', error: String((e && e.message) || e) }))))
  .then((verdicts) => parentPort.postMessage(verdicts))
`

/** Message per pattern (`String(re)`): undefined when it is fine. Patterns repeat across config loads. */
const judged = new Map<string, string | undefined>()

/** The config issues of every pattern that can backtrack catastrophically. */
export async function regexIssues(uses: PatternUse[]): Promise<ConfigIssue[]> {
  const fresh = [...new Map(uses.filter((u) => !judged.has(String(u.re))).map((u) => [String(u.re), u.re])).values()]
  if (fresh.length > 0) {
    const verdicts = await analyse(fresh)
    for (const [i, re] of fresh.entries())
      judged.set(String(re), judge(String(re), verdicts[i] ?? { status: 'unknown', error: 'no answer' }))
  }
  return uses.flatMap(({ path, re }) => {
    const message = judged.get(String(re))
    return message ? [{ path, message }] : []
  })
}

function judge(pattern: string, verdict: Verdict): string | undefined {
  if (verdict.status === 'unknown')
    return `${pattern} could not be checked for catastrophic backtracking (${verdict.error}); simplify it, ${ESCAPE}`
  if (verdict.status === 'safe' || (verdict.degree !== undefined && verdict.degree <= MAX_DEGREE)) return undefined
  const time = verdict.degree === undefined ? 'exponential time' : `polynomial time (degree ${verdict.degree})`
  const where = verdict.hot?.length ? ` (repetitions overlap at ${verdict.hot.map((h) => `"${h}"`).join(', ')})` : ''
  return `${pattern} can take ${time} on some inputs${where}; rewrite it so that no two repetitions can match the same text, ${ESCAPE}`
}

async function analyse(patterns: RegExp[]): Promise<Verdict[]> {
  let recheck: string
  try {
    recheck = createRequire(import.meta.url).resolve('recheck')
  } catch {
    return patterns.map(() => ({ status: 'unknown', error: 'the recheck package is not installed' }))
  }
  // recheck reads neither `d` (it only adds match indices) nor `v`, whose patterns it reads like `u` ones.
  const workerData = {
    recheck,
    timeout: CHECK_TIMEOUT,
    patterns: patterns.map((re) => ({ source: re.source, flags: re.flags.replace('d', '').replace('v', 'u') })),
  }
  const worker = new Worker(CHECKER, { eval: true, workerData })
  try {
    return await new Promise<Verdict[]>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
      worker.once('exit', (code) => reject(new Error(`the checker exited with code ${code}`)))
    })
  } catch (err) {
    return patterns.map(() => ({ status: 'unknown', error: (err as Error).message }))
  } finally {
    await worker.terminate()
  }
}
