import { readFileSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'
import { EVENT_STATUSES } from '../queue/rules.js'
import { EVENT_TYPES } from '../types.js'
import { checkCommand } from './check.js'
import { eventsCommand, replayCommand, retryCommand, showEventCommand } from './events.js'
import { initCommand } from './init.js'
import { sendCommand } from './send.js'
import { simulateCommand } from './simulate.js'
import { startCommand } from './start.js'

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

const program = new Command('audiorista-runner')
  .description('Run declarative recipes when Audiorista webhooks arrive.')
  .version(version, '-v, --version')
  // Options after a subcommand are its own (`events show ID --json` is show's --json, not events').
  .enablePositionalOptions()
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText(
    'after',
    `\nEvents: ${EVENT_TYPES.join(', ')}\nDocs: README.md. Config: audiorista.config.ts in the current folder, or --config FILE.`,
  )

const port = (value: string) => {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535')
  return n
}
const positive = (value: string) => {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('must be a positive whole number')
  return n
}

program
  .command('init')
  .description('scaffold a project: a typed audiorista.config.ts, templates, an example plugin and tests')
  .option(
    '--force',
    'overwrite files that exist, replacing a linked file (never its target); without it, init writes nothing if any would be overwritten',
  )
  .option('-d, --dir <dir>', 'folder to scaffold (default: the current folder; created when missing)')
  .addHelpText(
    'after',
    '\nWrites audiorista.config.ts, recipes/templates/creator-ready{,.text}.hbs, plugins/example.ts,\n' +
      'test/recipes.test.ts and test/example-plugin.test.ts, and adds .audiorista/ (the store, the\n' +
      'generated key) to .gitignore. All or nothing, and never through a symbolic link (a linked folder is refused).\n' +
      'Then: npx audiorista-runner check, npx audiorista-runner start, npx vitest.',
  )
  .action(initCommand)

program
  .command('start')
  .description('start the webhook receiver and run recipes (default port 8787, PORT overrides)')
  .option('-c, --config <file>', 'config file (default: audiorista.config.* in the current folder)')
  .option('-p, --port <n>', 'port to listen on', port)
  .option('-H, --host <host>', 'interface to listen on (default 0.0.0.0)')
  .addHelpText(
    'after',
    '\nThe config reloads while it runs: on a change to the config file, a file it imports, a template or a plugin,\n' +
      "and on SIGHUP; each reload reads server.tls's certificate and key again (send SIGHUP after renewing them).\n" +
      'A config with problems is refused (the last good one keeps running); port, host, store, admin,\n' +
      'queue.concurrency and turning server.tls on or off need a restart. SIGTERM or SIGINT: finish running steps\n' +
      '(up to 10 s), then exit.',
  )
  .action(startCommand)

program
  .command('check')
  .description('load and validate the config; list the recipes, or every problem with its path')
  .option('-c, --config <file>', 'config file')
  .option('--strict', 'also fail on actions that would run in preview mode (missing credentials) and on warnings')
  .addHelpText(
    'after',
    '\nWarnings (printed; exit 0 unless --strict) point at conditions that can never hold for the documented\n' +
      "payload, such as when: { tags: 'sci-fi' } (a list of tag objects is never a string), and at\n" +
      'near-misses of documented field names (creater: did you mean creator?).',
  )
  .action(checkCommand)

program
  .command('simulate')
  .description("dry-run one payload: which recipes match, why others do not, and each step's rendered input")
  .argument('<event>', `event type (${EVENT_TYPES.join(', ')})`)
  .argument('<file>', 'JSON payload file, or - for standard input')
  .option('-c, --config <file>', 'config file')
  .option('--run', 'execute the actions for real (in a throw-away store)')
  .option('--json', 'print the dry run as JSON')
  .action(simulateCommand)

program
  .command('send')
  .description('POST a payload to a runner the way Audiorista does')
  .argument('<event>', `event type (${EVENT_TYPES.join(', ')})`)
  .argument('<file>', 'JSON payload file, or - for standard input')
  .option('-c, --config <file>', 'config file (for the default URL)')
  .option('-u, --url <url>', "webhook URL (default: this config's local URL for the event)")
  .option('-k, --key <key>', 'X-Audiorista-Key (other users can see it in ps: prefer $AUDIORISTA_KEY or --key-file)')
  .option('--key-file <file>', 'read X-Audiorista-Key from this file')
  .addHelpText(
    'after',
    '\nThe key is the first of: --key, --key-file, $AUDIORISTA_KEY, the generated .audiorista/key beside the config (or in $AUDIORISTA_DATA_DIR).',
  )
  .action(sendCommand)

const events = program
  .command('events')
  .description('list recent events with their status; `events show ID` for one event')
  .enablePositionalOptions()
  .option('-c, --config <file>', 'config file')
  .option('-s, --status <status>', `only events with this status: ${EVENT_STATUSES.join(', ')}`)
  .option('-n, --limit <n>', 'how many (default 20)', positive)
  .option('--json', 'print JSON')
  .addHelpText(
    'after',
    '\nStatus: running while a step is open; else dead if a step failed for good; else previewed if a step only\n' +
      'logged what it would send (missing credentials: retry its run once they are set); else done.',
  )
  .action(eventsCommand)

events
  .command('show')
  .description("one event: its payload, and each run's state, attempts, masked input, result and error")
  .argument('<event-id>')
  .option('-c, --config <file>', 'config file')
  .option('--json', 'print JSON (what the console API answers for GET /admin/api/events/:id)')
  .action(showEventCommand)

program
  .command('replay')
  .description('match an event against the recipes again and run what matches (a person decided)')
  .argument('<event-id>')
  .option('-c, --config <file>', 'config file')
  .action(replayCommand)

program
  .command('retry')
  .description('run a dead, skipped or previewed step again (for real), and the skipped or previewed steps right after it')
  .argument('<run-id>')
  .option('-c, --config <file>', 'config file')
  .action(retryCommand)

await program.parseAsync(process.argv)
// One-shot commands end here, even if a client library keeps a pooled socket open.
if (program.args[0] !== 'start' || process.exitCode) process.exit()
