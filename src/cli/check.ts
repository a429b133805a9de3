import { relative } from 'node:path'
import { configNotFound } from '../config/load.js'
import { describeCondition } from '../match/condition.js'
import { setup } from '../setup.js'
import { reportError } from './output.js'

/** `check`: load and validate everything; print the recipes, or every problem with its path. */
export async function checkCommand(options: { config?: string; strict?: boolean }): Promise<void> {
  try {
    const { config, plan, registry, warnings } = await setup({
      ...(options.config ? { configFile: options.config } : {}),
      ...(options.strict ? { strict: true, warningsAsErrors: true } : {}),
    })
    // `start` runs on defaults without a config; someone running `check` means to check theirs.
    if (!config.filepath) throw configNotFound(config.rootDir, 'create one (npx audiorista-runner init) or pass --config')
    const out: string[] = []
    out.push(`config: ${relative(process.cwd(), config.filepath) || config.filepath}`, '')
    out.push(`recipes (${plan.recipes.length}):`)
    for (const { recipe, steps } of plan.recipes) {
      const on = Array.isArray(recipe.on) ? recipe.on.join(', ') : recipe.on
      const flags = [recipe.enabled === false ? 'disabled' : '', recipe.once ? 'once' : '', recipe.debounce ? 'debounced' : ''].filter(
        Boolean,
      )
      out.push(`  ${recipe.name}${flags.length ? ` [${flags.join(', ')}]` : ''}`)
      out.push(`    on:   ${on}`)
      out.push(`    when: ${describeCondition(recipe.when)}`)
      for (const s of steps) {
        const name = s.step.name ? ` "${s.step.name}"` : ''
        const extra = [
          s.step.if ? `if ${describeCondition(s.step.if)}` : '',
          s.step.once ? 'once' : '',
          s.step.debounce ? 'debounced' : '',
          s.step.continueOnError ? 'continueOnError' : '',
        ]
          .filter(Boolean)
          .join(', ')
        out.push(
          `    ${s.index + 1}. ${s.step.action}${name}${extra ? ` (${extra})` : ''}${s.previewReason ? `  [preview: ${s.previewReason}]` : ''}`,
        )
      }
    }
    if (warnings.length) {
      out.push('', `warnings (${warnings.length}):`)
      for (const w of warnings) out.push(`  ${w.path}: ${w.message}`)
    }
    out.push(
      '',
      `actions: ${registry
        .names()
        .map((n) => `${n}${registry.get(n)?.source === 'built-in' ? '' : ` (${registry.get(n)?.source})`}`)
        .join(', ')}`,
    )
    out.push('', summary(plan.previews.length, warnings.length))
    process.stdout.write(`${out.join('\n')}\n`)
  } catch (err) {
    reportError(err)
  }
}

/** `ok`, or `ok, 3 steps will run in preview mode (…), 1 warning; --strict makes them errors`. */
function summary(previews: number, warnings: number): string {
  const s = (n: number) => (n === 1 ? '' : 's')
  const notes = [
    previews ? `${previews} step${s(previews)} will run in preview mode (missing credentials)` : '',
    warnings ? `${warnings} warning${s(warnings)}` : '',
  ].filter(Boolean)
  if (notes.length === 0) return 'ok'
  return `ok, ${notes.join(', ')}; --strict makes ${notes.length === 1 && previews + warnings === 1 ? 'that an error' : 'them errors'}`
}
