import { relative } from 'node:path'
import { SEARCH_PLACES } from '../config/load.js'
import { RunnerError } from '../errors.js'
import { describeCondition } from '../match/condition.js'
import { setup } from '../setup.js'
import { reportError } from './output.js'

/** `check`: load and validate everything; print the recipes, or every problem with its path. */
export async function checkCommand(options: { config?: string; strict?: boolean }): Promise<void> {
  try {
    const { config, plan, registry } = await setup({
      ...(options.config ? { configFile: options.config } : {}),
      ...(options.strict ? { strict: true } : {}),
    })
    // `start` runs on defaults without a config; someone running `check` means to check theirs.
    if (!config.filepath) throw noConfig(config.rootDir)
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
    out.push(
      '',
      `actions: ${registry
        .names()
        .map((n) => `${n}${registry.get(n)?.source === 'built-in' ? '' : ` (${registry.get(n)?.source})`}`)
        .join(', ')}`,
    )
    if (plan.previews.length)
      out.push(
        '',
        `ok, ${plan.previews.length} step${plan.previews.length === 1 ? '' : 's'} will run in preview mode (missing credentials); --strict makes that an error`,
      )
    else out.push('', 'ok')
    process.stdout.write(`${out.join('\n')}\n`)
  } catch (err) {
    reportError(err)
  }
}

function noConfig(dir: string): RunnerError {
  const names = SEARCH_PLACES.map((n) => (n === 'package.json' ? 'package.json#audiorista' : n)).join(', ')
  return new RunnerError('config_not_found', `no config file found in ${dir} (looked for ${names}); create one or pass --config`)
}
