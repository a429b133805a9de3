/**
 * The Debian packages the bench runs: `wrk` (the load generator, needed) and
 * `webhook` (adnanh/webhook, the competitor row, optional). Installed with
 * apt-get when missing and the bench runs as root (as CI does); otherwise the
 * caller says what is missing.
 */
import { spawnSync } from 'node:child_process'
import { say } from './report.mjs'

const found = (command) => !spawnSync('sh', ['-c', `command -v ${command}`]).status

let updated = false

/**
 * Makes `command` available from Debian's `pkg`; resolves undefined when it
 * is there, or with why it is not.
 */
export function ensureCommand(command, pkg = command) {
  if (found(command)) return undefined
  if (process.getuid?.() !== 0) return `${command} is not installed (Debian: sudo apt-get install ${pkg})`
  say(`${command} is missing: apt-get install ${pkg}`)
  const quiet = { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }
  if (!updated) {
    spawnSync('apt-get', ['update', '-qq'], quiet)
    updated = true
  }
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], quiet)
  if (r.error || r.status !== 0 || !found(command)) return `${command} could not be installed (apt-get install ${pkg} failed)`
  return undefined
}
