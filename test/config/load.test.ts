import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'

const fixtures = resolve(import.meta.dirname, '../fixtures/configs')
const fixture = (name: string) => join(fixtures, name)

async function loadError(options: Parameters<typeof loadConfig>[0]): Promise<ConfigError> {
  const error = await loadConfig(options).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ConfigError)
  return error as ConfigError
}

const temps: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'audiorista-config-'))
  temps.push(dir)
  return dir
}
afterEach(async () => {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('loadConfig', () => {
  it('loads a TypeScript config that imports defineConfig from the package', async () => {
    const { config, filepath, rootDir } = await loadConfig({ cwd: fixture('valid') })
    expect(filepath).toBe(join(fixture('valid'), 'audiorista.config.ts'))
    expect(rootDir).toBe(fixture('valid'))
    expect(config).toMatchObject({ server: { port: 9000 }, recipes: [{ name: 'podcast-ready' }, { name: 'email-creator' }] })
  })

  it('calls a config that exports a function with the environment', async () => {
    const { config } = await loadConfig({ cwd: fixture('function-export'), env: { FIXTURE_PORT: '7001', FIXTURE_KEY: 'k' } })
    expect(config).toEqual({ server: { port: 7001 }, auth: { keys: { 'title-ready': 'k' } } })
  })

  it('loads audiorista.config.json', async () => {
    const { config, filepath } = await loadConfig({ cwd: fixture('json') })
    expect(filepath).toBe(join(fixture('json'), 'audiorista.config.json'))
    expect(config).toMatchObject({ server: { port: 9100, bodyLimit: '512kb' } })
  })

  it('loads .audioristarc.yaml', async () => {
    const { config, filepath } = await loadConfig({ cwd: fixture('yaml') })
    expect(filepath).toBe(join(fixture('yaml'), '.audioristarc.yaml'))
    expect(config).toMatchObject({ auth: { keys: { 'asset-transcoded': 'yaml-key-3' } } })
  })

  it('loads the audiorista key of package.json', async () => {
    const { config, filepath } = await loadConfig({ cwd: fixture('package-json') })
    expect(filepath).toBe(join(fixture('package-json'), 'package.json'))
    expect(config).toEqual({ server: { port: 9300 }, recipes: [{ name: 'from-package', on: 'title-updated', do: [{ action: 'log' }] }] })
  })

  it('loads an explicit file relative to cwd, or searches an explicit folder', async () => {
    const byFile = await loadConfig({ cwd: fixtures, configFile: 'json/audiorista.config.json' })
    expect(byFile.rootDir).toBe(fixture('json'))
    const byDir = await loadConfig({ cwd: fixtures, configFile: 'yaml' })
    expect(byDir.filepath).toBe(join(fixture('yaml'), '.audioristarc.yaml'))
  })

  it('works without any config: an empty config rooted at cwd', async () => {
    const dir = await tempDir()
    expect(await loadConfig({ cwd: dir })).toEqual({ config: {}, rootDir: dir })
  })

  it('names the file and the syntax error, without a stack', async () => {
    const error = await loadError({ cwd: fixture('syntax-error') })
    expect(error.filepath).toBe(join(fixture('syntax-error'), 'audiorista.config.mjs'))
    expect(error.issues).toEqual([
      { path: '', message: 'cannot load audiorista.config.mjs: syntax error: Missing semicolon. (line 4, column 25)' },
    ])
    expect(error.message).not.toMatch(/\n\s+at /)
  })

  it('names the line of a TypeScript syntax error', async () => {
    // Written here rather than kept as a fixture: a broken .ts would break the project's type check.
    const dir = await tempDir()
    await writeFile(join(dir, 'audiorista.config.ts'), 'const port: number =\nexport default { server: { port } }\n')
    const error = await loadError({ cwd: dir })
    expect(error.issues[0]?.message).toBe('cannot load audiorista.config.ts: syntax error: Unexpected token (line 2, column 0)')
  })

  it('reports an error thrown by the config with its message and line', async () => {
    const error = await loadError({ cwd: fixture('throws') })
    expect(error.issues).toEqual([{ path: '', message: 'cannot load audiorista.config.ts: FIXTURE_UNSET_SLACK_TOKEN is not set (line 3)' }])
    expect(error.cause).toBeInstanceOf(Error)
  })

  it('names the module a config imports when that is where it fails', async () => {
    const dir = await tempDir()
    await mkdir(join(dir, 'recipes'))
    await writeFile(join(dir, 'recipes', 'podcast.ts'), 'const creator: any = undefined\nexport default { name: creator.name }\n')
    await writeFile(
      join(dir, 'audiorista.config.ts'),
      "import podcast from './recipes/podcast.js'\nexport default { recipes: [podcast] }\n",
    )
    const error = await loadError({ cwd: dir })
    expect(error.issues[0]?.message).toBe(
      "cannot load audiorista.config.ts: TypeError: Cannot read properties of undefined (reading 'name') (recipes/podcast.ts line 2)",
    )
    await writeFile(join(dir, 'audiorista.config.ts'), "import gone from './recipes/gone.js'\nexport default { recipes: [gone] }\n")
    expect((await loadError({ cwd: dir })).issues[0]?.message).toBe(
      "cannot load audiorista.config.ts: Cannot find module './recipes/gone.js' (line 1)",
    )
  })

  it('reports invalid JSON and YAML in one line', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'audiorista.config.json'), '{ "server": { "port": 1, } }')
    await writeFile(join(dir, 'broken.yaml'), 'server:\n  port: 1\n   host: x\n')
    const json = await loadError({ cwd: dir })
    expect(json.issues[0]?.message).toMatch(/^cannot load audiorista\.config\.json: invalid JSON: .+$/)
    const yaml = await loadError({ cwd: dir, configFile: 'broken.yaml' })
    expect(yaml.issues[0]?.message).toBe('cannot load broken.yaml: invalid YAML: bad indentation of a mapping entry (3:8)')
  })

  it('reports a missing or unsupported --config file', async () => {
    const dir = await tempDir()
    expect((await loadError({ cwd: dir, configFile: 'nope.ts' })).issues[0]?.message).toBe('cannot load nope.ts: file not found')
    await writeFile(join(dir, 'runner.toml'), 'a = 1\n')
    expect((await loadError({ cwd: dir, configFile: 'runner.toml' })).issues[0]?.message).toBe(
      'cannot load runner.toml: unsupported file type .toml; use .ts, .mts, .js, .mjs, .cjs, .json, .yaml or .yml',
    )
  })

  it('keeps its transpile cache away from the config folder', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'audiorista.config.ts'), 'const port: number = 1234\nexport default { server: { port } }\n')
    expect((await loadConfig({ cwd: dir })).config).toEqual({ server: { port: 1234 } })
    expect(await readdir(dir)).toEqual(['audiorista.config.ts'])
  })

  it('sees edits when loaded again', async () => {
    const dir = await tempDir()
    const file = join(dir, 'audiorista.config.ts')
    await writeFile(file, 'export default { server: { port: 1 } }\n')
    await loadConfig({ cwd: dir })
    await writeFile(file, 'export default { server: { port: 2 } }\n')
    expect((await loadConfig({ cwd: dir })).config).toEqual({ server: { port: 2 } })
  })
})
