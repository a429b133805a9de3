/**
 * Temp folders to run the CLI in, from the config fixtures rather than the
 * root example: a user editing `audiorista.config.ts` must not break tests.
 */
import { cpSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from './runner.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const configs = join(root, 'test/fixtures/configs')

/** A temp folder holding a copy of `test/fixtures/configs/<name>/`, for a fixture that imports nothing of its own. */
export function fixtureProject(name: string): string {
  const dir = tempDir()
  cpSync(join(configs, name), dir, { recursive: true })
  return dir
}

/**
 * A temp folder that runs the shipped mission recipe (`recipes/podcast.ts` and its templates).
 * The fixture imports the recipe by a path relative to itself, so the folder's config re-exports
 * it instead of copying it; the store, the key and the templates belong to this folder.
 */
export function missionProject(): string {
  const dir = tempDir()
  const fixture = join(configs, 'mission/audiorista.config.ts')
  writeFileSync(join(dir, 'audiorista.config.ts'), `export { default } from ${JSON.stringify(fixture)}\n`)
  cpSync(join(root, 'recipes/templates'), join(dir, 'recipes/templates'), { recursive: true })
  return dir
}
