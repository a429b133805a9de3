/** What a user does to the files `init` wrote: turn on the commented mission recipe and its test. */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** `text` with the commented block that starts at the first line matching `start` uncommented, up to its closing line. */
export function uncommentBlock(text: string, start: RegExp): string {
  const lines = text.split('\n')
  const first = lines.findIndex((l) => start.test(l))
  if (first < 0) throw new Error(`no line matches ${start}`)
  const indent = lines[first]!.indexOf('//')
  const prefix = `${lines[first]!.slice(0, indent)}// `
  // The block ends at the first line back at its own indentation that closes it.
  const last = lines.findIndex((l, i) => i > first && l.startsWith(`${prefix}}`))
  if (last < 0) throw new Error(`the block at line ${first + 1} never closes`)
  for (let i = first; i <= last; i++) lines[i] = lines[i]!.replace(/^(\s*)\/\/ ?/, '$1')
  return lines.join('\n')
}

/** Uncomments the mission recipe, the `slack` and `email` settings in the config, and the test of it. */
export function enableMission(dir: string): void {
  const config = join(dir, 'audiorista.config.ts')
  let text = uncommentBlock(readFileSync(config, 'utf8'), /^\s*\/\/ \{$/)
  text = text.replace(/^(\s*)\/\/ (slack|email): /gm, '$1$2: ')
  writeFileSync(config, text)
  const test = join(dir, 'test/recipes.test.ts')
  writeFileSync(test, uncommentBlock(readFileSync(test, 'utf8'), /^\s*\/\/ it\(/))
}
