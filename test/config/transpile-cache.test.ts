/**
 * jiti's transpile cache holds the config as code (its literal keys
 * included) and is run at the next start: it lives only in the runner's
 * private `<data>/cache`, never in a shared temp folder or `node_modules`,
 * and nowhere when that folder cannot be made or is open to others.
 */
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'

const KEY = 'cache-key-0123456789'

function project({ nodeModules = false } = {}): string {
  const dir = tempDir('ar-cache-')
  writeFileSync(join(dir, 'audiorista.config.ts'), `export default { auth: { keys: [${JSON.stringify(KEY)}] }, recipes: [] }\n`)
  if (nodeModules) mkdirSync(join(dir, 'node_modules'))
  return dir
}

/** `check`, with its own empty TMPDIR; resolves with that folder after the run. */
function check(dir: string, env: Record<string, string>): string {
  const tmp = tempDir('ar-cache-tmp-')
  const r = runCli(['check'], { cwd: dir, env: { TMPDIR: tmp, ...env } })
  expect(r.status, r.stderr).toBe(0)
  return tmp
}

const files = (dir: string) => readdirSync(dir, { recursive: true }).map(String)

describe('the transpile cache', () => {
  it('is written nowhere when the data folder cannot be made: not the temp folder, not node_modules', () => {
    for (const nodeModules of [false, true]) {
      const dir = project({ nodeModules })
      const tmp = check(dir, { AUDIORISTA_DATA_DIR: '/dev/null/data' })
      expect(files(tmp)).toEqual([])
      expect(files(dir).sort()).toEqual(['audiorista.config.ts', ...(nodeModules ? ['node_modules'] : [])])
    }
  })

  it('is not kept in a cache folder that others may write (0777); a private one (0700) is used', () => {
    const dir = project()
    const data = tempDir('ar-cache-data-')
    mkdirSync(join(data, 'cache'))
    chmodSync(join(data, 'cache'), 0o777)
    const tmp = check(dir, { AUDIORISTA_DATA_DIR: data })
    expect(files(join(data, 'cache'))).toEqual([])
    expect(files(tmp)).toEqual([])

    chmodSync(join(data, 'cache'), 0o700)
    check(dir, { AUDIORISTA_DATA_DIR: data })
    expect(files(join(data, 'cache')).length).toBeGreaterThan(0)
  })

  it('is made 0700 in the data folder beside the config by default, its files 0600', () => {
    const dir = project()
    const tmp = check(dir, { AUDIORISTA_DATA_DIR: '' })
    const cache = join(dir, '.audiorista', 'cache')
    expect(statSync(cache).mode & 0o777).toBe(0o700)
    expect(files(cache).length).toBeGreaterThan(0)
    for (const name of files(cache)) expect({ name, mode: statSync(join(cache, name)).mode & 0o777 }).toEqual({ name, mode: 0o600 })
    expect(files(tmp)).toEqual([])
  })
})
