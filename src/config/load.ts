import { stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { cosmiconfig, type Loader } from 'cosmiconfig'
import { RunnerError } from '../errors.js'
import { importModule } from './import-module.js'
import { describeLoadError, loadError } from './load-error.js'

const MODULE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const

/** Where a config is looked for, in this order, in the working folder only. */
export const SEARCH_PLACES = [
  ...['ts', 'mts', 'js', 'mjs', 'cjs', 'json', 'yaml', 'yml'].map((ext) => `audiorista.config.${ext}`),
  '.audioristarc',
  ...['json', 'yaml', 'yml', 'js', 'mjs', 'cjs', 'ts'].map((ext) => `.audioristarc.${ext}`),
  'package.json',
]

/** No config file in `dir`; `fix` says what to do where the error is read (`pass --config`). */
export function configNotFound(dir: string, fix: string): RunnerError {
  const names = SEARCH_PLACES.map((n) => (n === 'package.json' ? 'package.json#audiorista' : n)).join(', ')
  return new RunnerError('config_not_found', `no config file found in ${dir} (looked for ${names}); ${fix}`)
}

export interface LoadOptions {
  /** A config file (`--config`), or a folder to look in. Relative to `cwd`. */
  configFile?: string
  /** Folder to search when no file is given. */
  cwd?: string
  /** Passed to a config that exports a function `(env) => config`. */
  env?: NodeJS.ProcessEnv
}

export interface LoadedConfig {
  /** What the file exports, unchecked: hand it to `resolveConfig`. */
  config: unknown
  filepath?: string
  /** Folder of the config file (the search folder when there is none). */
  rootDir: string
}

/**
 * Finds and loads the config. No config at all is fine: the runner works
 * with defaults. A file that cannot be loaded is a ConfigError naming the
 * file and the cause.
 */
export async function loadConfig({ configFile, cwd = process.cwd(), env = process.env }: LoadOptions = {}): Promise<LoadedConfig> {
  const load: Loader = async (filepath) => {
    const exported = await importModule(filepath)
    return typeof exported === 'function' ? await exported(env) : await exported
  }
  const explorer = cosmiconfig('audiorista', {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'none',
    loaders: Object.fromEntries(MODULE_EXTENSIONS.map((ext) => [ext, load])),
    cache: false,
  })

  let target: string | undefined
  let searchDir = cwd
  if (configFile !== undefined) {
    const file = resolve(cwd, configFile)
    const kind = await stat(file).then(
      (s) => (s.isDirectory() ? 'dir' : 'file'),
      () => undefined,
    )
    if (!kind) throw loadError(file, cwd, 'file not found')
    if (kind === 'dir') searchDir = file
    else target = file
  }

  let result: Awaited<ReturnType<typeof explorer.load>>
  try {
    result = target ? await explorer.load(target) : await explorer.search(searchDir)
  } catch (error) {
    const file = (error as { filepath?: string }).filepath ?? target ?? searchDir
    throw loadError(file, cwd, describeLoadError(error, file), error)
  }
  if (!result) return target ? { config: {}, filepath: target, rootDir: dirname(target) } : { config: {}, rootDir: searchDir }
  return { config: result.config ?? {}, filepath: result.filepath, rootDir: dirname(result.filepath) }
}
