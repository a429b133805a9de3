import type { ResolvedConfig } from '../config/resolved.js'
import { isSecretOption } from './in-text.js'
import { isSecretEnvName, isSecretField, isSecretName } from './names.js'
import { urlSecrets } from './url.js'
import { MIN_SECRET_LENGTH, useSecretValues } from './values.js'

const MAX_DEPTH = 20
// `Bearer abc`, `token abc`: the credential after the scheme is the secret.
const SCHEME = /^(?:bearer|basic|digest|token|bot)\s+/i

/** Masks, from now on, every secret `config` resolves: call it whenever a config is loaded or reloaded. */
export function maskSecretsOf(config: ResolvedConfig, env: NodeJS.ProcessEnv = process.env): void {
  useSecretValues(secretsOf(config, env))
}

/**
 * The secret values of a config: webhook keys, the admin token, the TLS
 * private key, URL passwords, strings under secret-named fields of
 * `actions`, `vars` and steps' `with`, and the value of every secret-named
 * environment variable that one of those strings contains
 * (`Bearer ${process.env.API_TOKEN}`).
 */
export function secretsOf(config: ResolvedConfig, env: NodeJS.ProcessEnv = process.env): Set<string> {
  const found = new Set<string>()
  for (const keys of Object.values(config.auth.keys ?? {})) for (const k of keys) found.add(k)
  if (config.admin.token) found.add(config.admin.token)
  if (config.server.tls) found.add(config.server.tls.key)
  const strings: string[] = []
  if (config.store.driver === 'redis') strings.push(config.store.url)
  const visit = (value: unknown, name: string, depth: number): void => {
    if (typeof value === 'string') {
      strings.push(value)
      // A template is not a secret; what it renders from is masked when it is one.
      if (!value.includes('{{') && (isSecretField(name) || isSecretName(name))) found.add(value.replace(SCHEME, ''))
    } else if (value && typeof value === 'object' && depth < MAX_DEPTH) {
      if (Array.isArray(value)) {
        // `args: ['--password', 'hunter22']`: the value after a secret option is one.
        value.forEach((v, i) => {
          visit(v, isSecretOption(value[i - 1]) ? 'password' : name, depth + 1)
        })
      } else for (const [k, v] of Object.entries(value)) visit(v, k, depth + 1)
    }
  }
  visit(config.actions, '', 0)
  visit(config.vars, '', 0)
  for (const recipe of config.recipes) for (const step of recipe.do ?? []) visit(step.with, '', 0)
  for (const s of strings) for (const secret of urlSecrets(s)) found.add(secret)
  for (const [name, value] of Object.entries(env)) {
    if (!value || value.trim().length < MIN_SECRET_LENGTH || !isSecretEnvName(name)) continue
    if (strings.some((s) => s.includes(value))) found.add(value)
  }
  return found
}
