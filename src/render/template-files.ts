import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { RunnerError } from '../errors.js'
import type { Compiled, Template } from './compile.js'

/**
 * Named templates (`template: 'creator-ready'` → `<dir>/creator-ready.hbs`),
 * read and compiled on first use, then kept. A name is a file name, never a
 * path: templates come from the config, but names may be rendered from it.
 */
export function createTemplateFiles(dir: string, compileSource: (source: string) => Compiled) {
  const cache = new Map<string, Template>()

  function fileOf(name: string): string {
    if (typeof name !== 'string' || name === '' || /[/\\\0]|\.\./.test(name)) {
      throw new RunnerError(
        'template_name_invalid',
        `template name ${JSON.stringify(name)} is not allowed: use a file name from ${dir} without ".hbs", "/", "\\" or ".."`,
      )
    }
    return join(dir, `${name}.hbs`)
  }

  function load(name: string): Template {
    const cached = cache.get(name)
    if (cached) return cached
    const file = fileOf(name)
    let source: string
    try {
      source = readFileSync(file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new RunnerError('template_not_found', `template "${name}" not found: create ${file}`, { cause: err })
      }
      throw new RunnerError('template_unreadable', `template "${name}" cannot be read from ${file}: ${(err as Error).message}`, {
        cause: err,
      })
    }
    const compiled = compileSource(source)
    if (!compiled.template) {
      throw new RunnerError('template_invalid', `template "${name}" (${file}) does not compile: ${compiled.problems.join('; ')}`)
    }
    cache.set(name, compiled.template)
    return compiled.template
  }

  function has(name: string): boolean {
    if (cache.has(name)) return true
    try {
      return statSync(fileOf(name)).isFile()
    } catch {
      return false
    }
  }

  return { load, has }
}
