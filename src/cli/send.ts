import { readFileSync } from 'node:fs'
import { readConfig } from '../config/read.js'
import { RunnerError } from '../errors.js'
import { readGeneratedKey } from '../first-run.js'
import { localUrl } from '../receive/server.js'
import { EVENT_TYPES } from '../types.js'
import { readInput, reportError } from './output.js'

interface SendOptions {
  config?: string
  url?: string
  key?: string
  keyFile?: string
}

/** POSTs a payload like Audiorista: JSON, with `X-Audiorista-Key` when there is one. */
export async function sendCommand(event: string, file: string, options: SendOptions): Promise<void> {
  try {
    if (!options.url && !(EVENT_TYPES as readonly string[]).includes(event))
      throw new RunnerError('unknown_event', `unknown event "${event}"; use one of ${EVENT_TYPES.join(', ')}`)
    const body = await readInput(file)
    const config = await readConfig(options.config ? { configFile: options.config } : {})
    const { host, port, basePath, tls } = config.server
    const url = options.url ?? `${localUrl(host, port, Boolean(tls))}${basePath}/${event}`
    const key = options.key || readKeyFile(options.keyFile) || process.env.AUDIORISTA_KEY || readGeneratedKey(config)
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'audiorista-runner send' }
    if (key) headers['x-audiorista-key'] = key
    let res: Response
    try {
      res = await fetch(url, { method: 'POST', headers, body })
    } catch (err) {
      const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
      // The local address is rarely a name the runner's certificate is for, and a private CA is not Node's.
      const hint = /CERT|SELF_SIGNED|ERR_TLS/.test(why)
        ? `its certificate is not trusted for this address: use --url https://<a name it is for>:${port}${basePath}/${event}, and NODE_EXTRA_CA_CERTS=<the CA file> for a private CA`
        : 'is the runner started?'
      throw new RunnerError('unreachable', `cannot reach ${url}: ${why} (${hint})`)
    }
    const text = await res.text()
    process.stdout.write(`${res.status} ${res.statusText}\n${text}\n`)
    if (!res.ok) process.exitCode = 1
  } catch (err) {
    reportError(err)
  }
}

/** `--key-file`: a key that never shows in `ps` or the shell history. */
function readKeyFile(file: string | undefined): string | undefined {
  if (file === undefined) return undefined
  let key: string
  try {
    key = readFileSync(file, 'utf8').trim()
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message
    throw new RunnerError('key_file', `cannot read the key file ${file}: ${why}`)
  }
  if (!key) throw new RunnerError('key_file', `the key file ${file} is empty`)
  return key
}
