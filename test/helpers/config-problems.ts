import { expect } from 'vitest'
import { resolveConfig } from '../../src/config/resolve.js'
import { ConfigError } from '../../src/errors.js'

/** What `check` prints for `config`: one `path: message` line per problem, none when it resolves. */
export function configProblems(config: unknown, { rootDir, env = {} }: { rootDir: string; env?: NodeJS.ProcessEnv }): string[] {
  try {
    resolveConfig(config, { rootDir, env })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
  }
  return []
}
