/**
 * Run by `checkInChild` as its own node process: loads and checks the config
 * as `start` would (`setup`), answers `{ ok }` or the problems over IPC, and
 * exits. A config that never finishes loading wedges only this process.
 */
import { ConfigError, type ConfigIssue } from '../errors.js'
import { setup, type SetupOptions } from '../setup.js'

/** The child's one answer. */
export type CheckAnswer = { started: true } | { ok: true } | { ok: false; problems: ConfigIssue[]; file?: string }

async function main(): Promise<void> {
  // Alive until it answers or the runner kills it: a load that never settles must read as one, not as an exit.
  setInterval(() => {}, 60_000)
  // The runner is gone (killed, or exited mid-check): nobody waits for the answer, so neither does this process.
  process.on('disconnect', () => process.exit(1))
  // The runner's own modules are loaded (static imports): the time limit, which is the user's config's, starts now.
  process.send?.({ started: true })
  const options = JSON.parse(process.argv[2] ?? '{}') as SetupOptions
  let answer: CheckAnswer
  try {
    const checked = await setup(options)
    await checked.registry.close()
    answer = { ok: true }
  } catch (err) {
    answer =
      err instanceof ConfigError
        ? { ok: false, problems: err.issues, ...(err.filepath ? { file: err.filepath } : {}) }
        : { ok: false, problems: [{ path: '(config)', message: err instanceof Error ? err.message : String(err) }] }
  }
  // Exits once the answer is out: a plugin's open socket or timer must not keep this process.
  process.send?.(answer, () => process.exit(0))
}

void main()
