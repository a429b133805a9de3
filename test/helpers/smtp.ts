/**
 * A real SMTP server on a loopback port (the `smtp-server` package), for the
 * email action and the engine's tests. It keeps what it received, parsed just
 * enough to assert on (headers, text and HTML parts), and can be told to
 * refuse or stall at a given SMTP stage.
 */
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

export interface ReceivedMail {
  /** Envelope sender and recipients. */
  from: string
  to: string[]
  /** The whole message as sent. */
  raw: string
  /** Top-level headers, lower-case names, encoded words decoded. */
  headers: Record<string, string>
  subject: string
  text?: string
  html?: string
}

export type SmtpStage = 'connect' | 'mail' | 'rcpt' | 'data'

/** What to do the next time a stage is reached: answer with `code`, or never answer. */
export type SmtpScript = { stage: SmtpStage; code: number; message?: string } | { stage: SmtpStage; hang: true }

export interface SmtpSink {
  port: number
  /** `smtp://user:pass@127.0.0.1:PORT` (no credentials without `auth`), for `actions.email.transport`. */
  url: string
  messages: ReceivedMail[]
  /** SMTP transactions begun (MAIL FROM), accepted or not. */
  readonly attempts: number
  /** Client connections opened. */
  readonly connections: number
  /** Script the next time `stage` is reached; several calls queue up. */
  once(script: SmtpScript): void
  /** Resolves once `n` messages have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMail[]>
  reset(): void
  close(): Promise<void>
}

export interface SmtpSinkOptions {
  /** Require this login (plain-text AUTH, no TLS: loopback only). */
  auth?: { user: string; pass: string }
}

function decodeWords(value: string): string {
  // RFC 2047: white space between two adjacent encoded words is not part of the text.
  return value
    .replace(/(\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([BQ])\?([^?]*)\?=/gi, (_, _charset: string, enc: string, data: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    )
}

function decodeQuotedPrintable(text: string): string {
  const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => `%${h}`)
  try {
    return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/gi, '%25'))
  } catch {
    return bytes
  }
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = decodeWords(line.slice(i + 1).trim())
  }
  return headers
}

/** Just enough MIME for tests: nested multiparts, quoted-printable and base64. */
export function parseMail(raw: string): Pick<ReceivedMail, 'headers' | 'subject' | 'text' | 'html'> {
  const parts: Record<string, string> = {}
  const walk = (entity: string): Record<string, string> => {
    const split = entity.search(/\r?\n\r?\n/)
    const headers = parseHeaders(split < 0 ? entity : entity.slice(0, split))
    const body = split < 0 ? '' : entity.slice(split).replace(/^\r?\n\r?\n/, '')
    const type = headers['content-type'] ?? 'text/plain'
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1]
    if (type.startsWith('multipart/') && boundary) {
      for (const part of body.split(`--${boundary}`).slice(1)) if (!part.startsWith('--')) walk(part.replace(/^\r?\n/, ''))
    } else {
      const enc = (headers['content-transfer-encoding'] ?? '').toLowerCase()
      const text =
        enc === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : enc === 'quoted-printable' ? decodeQuotedPrintable(body) : body
      const kind = type.startsWith('text/html') ? 'html' : type.startsWith('text/plain') ? 'text' : undefined
      if (kind && parts[kind] === undefined) parts[kind] = text.replace(/\r\n/g, '\n').replace(/\n$/, '')
    }
    return headers
  }
  const headers = walk(raw)
  return { headers, subject: headers.subject ?? '', ...parts }
}

export async function createSmtpSink({ auth }: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = []
  let scripts: SmtpScript[] = []
  let attempts = 0
  let connections = 0
  const waiters = new Set<() => void>()

  /** Runs the scripted behaviour for a stage; returns true when it took over the callback. */
  const scripted = (stage: SmtpStage, callback: (err?: Error | null) => void): boolean => {
    const i = scripts.findIndex((s) => s.stage === stage)
    if (i < 0) return false
    const [script] = scripts.splice(i, 1)
    if (!script || 'hang' in script) return true
    callback(Object.assign(new Error(script.message ?? `scripted ${script.code}`), { responseCode: script.code }))
    return true
  }

  const server = new SMTPServer({
    logger: false,
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: !auth,
    disableReverseLookup: true,
    closeTimeout: 100,
    onAuth(a, _session, callback) {
      if (a.username === auth?.user && a.password === auth?.pass) return callback(null, { user: a.username })
      callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }))
    },
    onConnect(_session, callback) {
      connections++
      if (!scripted('connect', callback)) callback()
    },
    onMailFrom(_address, _session, callback) {
      attempts++
      if (!scripted('mail', callback)) callback()
    },
    onRcptTo: (_address, _session, callback) => void (scripted('rcpt', callback) || callback()),
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        if (scripted('data', callback)) return
        const raw = Buffer.concat(chunks).toString('utf8')
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : ''
        messages.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw, ...parseMail(raw) })
        for (const w of waiters) w()
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as AddressInfo
  const cred = auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@` : ''

  return {
    port,
    url: `smtp://${cred}127.0.0.1:${port}`,
    messages,
    get attempts() {
      return attempts
    },
    get connections() {
      return connections
    },
    once: (script) => void scripts.push(script),
    waitFor(n, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length < n) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(messages)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`expected ${n} messages, got ${messages.length}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    reset() {
      messages.length = 0
      scripts = []
      attempts = 0
      connections = 0
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
