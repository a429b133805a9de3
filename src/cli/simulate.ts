import { evaluate, explain } from '../match/condition.js'
import { createLogger, silentLogger } from '../log.js'
import { actionContext } from '../queue/attempt.js'
import { createEngine } from '../queue/engine.js'
import { matchRecipes, renderStepInput } from '../queue/decide.js'
import type { Plan } from '../queue/plan.js'
import { bodyHash } from '../receive/canonical.js'
import { parseObject } from '../receive/body.js'
import { buildContext } from '../render/context.js'
import { setup, type Setup } from '../setup.js'
import { createMemoryBackend } from '../store/create.js'
import { EVENT_TYPES, type EventInfo, type EventType, type Payload } from '../types.js'
import { readInput, reportError } from './output.js'
import { redact, redactText } from '../redact.js'

/** `simulate`: which recipes match one payload and why the others do not; each step's rendered input. */
export async function simulateCommand(event: string, file: string, options: { config?: string; run?: boolean }): Promise<void> {
  try {
    if (!(EVENT_TYPES as readonly string[]).includes(event))
      throw new Error(`unknown event "${event}"; use one of ${EVENT_TYPES.join(', ')}`)
    const payload = parseObject(await readInput(file))
    const prepared = await setup(options.config ? { configFile: options.config } : {})
    if (options.run) await runForReal(prepared, event as EventType, payload)
    else await dryRun(prepared, event as EventType, payload)
  } catch (err) {
    reportError(err)
  }
}

async function dryRun({ config, plan, renderer }: Setup, type: EventType, payload: Payload): Promise<void> {
  const info: EventInfo = { id: 'evt_simulated', type, receivedAt: new Date().toISOString() }
  const out: string[] = []
  let matched = 0
  // The engine's own decision, recipe by recipe.
  for (const verdict of matchRecipes(plan, { type, payload, info }, config.vars)) {
    const { recipe, events, steps } = verdict.recipe
    if (!verdict.matched) {
      const r = verdict.reason
      if (r.kind === 'disabled') out.push(`✗ ${recipe.name}: disabled (enabled: false)`)
      else if (r.kind === 'event') out.push(`✗ ${recipe.name}: runs on ${[...events].join(', ')}, not ${type}`)
      else out.push(`✗ ${recipe.name}: ${r.path} did not hold: ${r.reason}`)
      continue
    }
    matched++
    out.push(`✓ ${recipe.name}: matches`)
    const results: Record<string, unknown> = {}
    for (const s of steps) {
      const stepCtx = buildContext({ payload, event: info, vars: config.vars, recipe: { name: recipe.name }, steps: { ...results } })
      const head = `    ${s.index + 1}. ${s.step.action}${s.step.name ? ` "${s.step.name}"` : ''}`
      if (s.step.if && !evaluate(s.step.if, stepCtx)) {
        out.push(`${head}: skipped, ${explain(s.step.if, stepCtx, 'if')?.reason ?? 'its condition does not hold'}`)
        continue
      }
      try {
        const { rendered, value, issues } = await renderStepInput(s, stepCtx, renderer)
        const flow = [s.step.once ? 'once' : '', s.step.debounce ? 'debounced' : ''].filter(Boolean).join(', ')
        out.push(`${head}${s.previewReason ? ` [preview mode: ${s.previewReason}]` : ''}${flow ? ` (${flow})` : ''}`)
        out.push(indent(JSON.stringify(redact(rendered), null, 2), 7))
        if (issues.length) {
          out.push(`       ✗ invalid input: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`)
          continue
        }
        const actx = actionContext(renderer, {
          planned: s,
          payload,
          info,
          steps: { ...results },
          ctx: stepCtx,
          log: silentLogger(),
          signal: new AbortController().signal,
          attempt: 1,
          runId: 'run_simulated',
          dryRun: true,
        })
        const preview = s.entry.plugin.preview ? await s.entry.plugin.preview(value, actx) : undefined
        if (preview !== undefined)
          out.push(indent(`→ ${typeof preview === 'string' ? redactText(preview) : JSON.stringify(redact(preview), null, 2)}`, 7))
        if (s.step.name) results[s.step.name] = preview ?? value
      } catch (err) {
        out.push(`${head}: ✗ ${(err as Error).message}`)
      }
    }
  }
  out.unshift(
    `${type}: ${matched} of ${plan.recipes.length} recipe${plan.recipes.length === 1 ? '' : 's'} match${matched === 1 ? 'es' : ''}`,
    '',
  )
  out.push('', 'dry run: nothing was sent. Add --run to execute the actions.')
  process.stdout.write(`${out.join('\n')}\n`)
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

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n)
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n')
}
