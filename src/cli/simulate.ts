import { RunnerError } from '../errors.js'
import { createLogger } from '../log.js'
import { createEngine } from '../queue/engine.js'
import type { Plan } from '../queue/plan.js'
import { eventType, type Simulation, type StepSimulation, simulate } from '../queue/simulate.js'
import { bodyHash } from '../receive/canonical.js'
import { parseObject } from '../receive/body.js'
import { redact } from '../redact.js'
import { setup, type Setup } from '../setup.js'
import { createMemoryBackend } from '../store/create.js'
import type { EventType, Payload } from '../types.js'
import { indent, readInput, reportError } from './output.js'

/** `simulate`: which recipes match one payload and why the others do not; each step's rendered input. */
export async function simulateCommand(
  event: string,
  file: string,
  options: { config?: string; run?: boolean; json?: boolean },
): Promise<void> {
  try {
    const type = eventType(event)
    if (options.run && options.json) throw new RunnerError('usage', '--json prints the dry run; it cannot be used with --run')
    const payload = parseObject(await readInput(file))
    const prepared = await setup(options.config ? { configFile: options.config } : {})
    if (options.run) await runForReal(prepared, type, payload)
    else {
      const simulation = await simulate(prepared, type, payload)
      process.stdout.write(`${options.json ? JSON.stringify(simulation, null, 2) : formatSimulation(simulation)}\n`)
    }
  } catch (err) {
    reportError(err)
  }
}

/** The dry run as `simulate` prints it. */
export function formatSimulation({ event, matched, total, recipes }: Simulation): string {
  const out = [`${event}: ${matched} of ${total} recipe${total === 1 ? '' : 's'} match${matched === 1 ? 'es' : ''}`, '']
  for (const r of recipes) {
    if (!r.matched) out.push(`✗ ${r.name}: ${r.reason.text}`)
    else out.push(`✓ ${r.name}: matches`, ...r.steps.flatMap(formatStep))
  }
  out.push('', 'dry run: nothing was sent. Add --run to execute the actions.')
  return out.join('\n')
}

function formatStep(s: StepSimulation): string[] {
  const head = `    ${s.index}. ${s.action}${s.name ? ` "${s.name}"` : ''}`
  if (s.skipped !== undefined) return [`${head}: skipped, ${s.skipped}`]
  const out: string[] = []
  if ('input' in s) {
    const flow = s.flow.length ? ` (${s.flow.join(', ')})` : ''
    out.push(`${head}${s.previewMode ? ` [preview mode: ${s.previewMode}]` : ''}${flow}`, indent(JSON.stringify(s.input, null, 2), 7))
  }
  if (s.issues?.length) out.push(`       ✗ invalid input: ${s.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`)
  if ('preview' in s) out.push(indent(`→ ${typeof s.preview === 'string' ? s.preview : JSON.stringify(s.preview, null, 2)}`, 7))
  if (s.error !== undefined) out.push(`${head}: ✗ ${s.error}`)
  return out
}

/** `--run`: the real engine on a throw-away in-memory backend, so retries and ordering are the real ones. */
async function runForReal({ config, plan: planned, renderer, registry }: Setup, type: EventType, payload: Payload): Promise<void> {
  const backend = createMemoryBackend()
  const plan = withoutDebounce(planned)
  // Progress (retries, waits) goes to stderr, so a failing target is not silence.
  const engine = createEngine({
    config,
    backend,
    plan,
    renderer,
    log: createLogger({ destination: process.stderr, pretty: Boolean(process.stderr.isTTY), level: process.env.LOG_LEVEL ?? 'warn' }),
  })
  const body = JSON.stringify(payload)
  const { id } = await backend.accept({ type, body, hash: bodyHash(payload), receivedAt: Date.now(), dedupeWindow: 0 })
  engine.start()
  await engine.idle()
  await engine.stop(1_000)
  const runs = await backend.runsForEvent(id)
  const out = [`${type}: ran ${runs.length} step${runs.length === 1 ? '' : 's'}`]
  for (const r of runs) {
    const mark = r.state === 'done' || r.state === 'previewed' ? '✓' : r.state === 'skipped' ? '-' : '✗'
    const attempts = r.attempt > 1 ? ` after ${r.attempt} attempts` : ''
    out.push(`  ${mark} ${r.recipe} step ${r.stepIndex + 1} (${r.action}): ${r.state}${attempts}${r.error ? ` — ${r.error}` : ''}`)
    if (r.result !== undefined && r.result !== null) out.push(indent(JSON.stringify(redact(r.result), null, 2), 6))
  }
  await backend.close()
  await registry.close()
  process.stdout.write(`${out.join('\n')}\n`)
  if (runs.some((r) => r.state === 'dead')) process.exitCode = 1
}

/** One payload has nothing to coalesce with: `--run` does not wait out debounces. */
function withoutDebounce(plan: Plan): Plan {
  const recipes = plan.recipes.map(({ debounce: _, ...r }) => ({ ...r, steps: r.steps.map(({ debounce: __, ...s }) => s) }))
  return { ...plan, recipes, byName: new Map(recipes.map((r) => [r.recipe.name, r])) }
}
