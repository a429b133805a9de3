import type { SendMailOptions, Transporter } from 'nodemailer'
import { z } from '../zod.js'
import { PermanentError, RetryableError, RunnerError } from '../errors.js'
import { definePlugin } from '../plugin.js'
import type { ActionContext } from '../types.js'
import { raceAbort } from './abort.js'
import { refuseUnsafeLinks } from './email-links.js'
import { htmlToText } from './html-to-text.js'

const IDLE_CLOSE_MS = 60_000

const settings = z.object({
  transport: z
    .union([z.string().regex(/^smtps?:\/\//i, 'an smtp:// or smtps:// URL'), z.literal(''), z.record(z.string(), z.unknown())])
    .optional()
    .describe('SMTP URL (smtp://user:pass@host:587) or nodemailer SMTP options, e.g. process.env.SMTP_URL.'),
  from: z.string().optional().describe("Sender, e.g. 'Releases <releases@example.com>'."),
})

const addresses = z.union([z.string(), z.array(z.string())])

const input = z
  .object({
    to: addresses.optional().describe('Recipient(s): an address or a list; a templated value must render to exactly one address.'),
    cc: addresses.optional().describe('Copy recipient(s).'),
    bcc: addresses.optional().describe('Blind copy recipient(s).'),
    subject: z.string().optional().describe('Subject line (not escaped).'),
    text: z.string().optional().describe('Plain-text body (not escaped).'),
    html: z.string().optional().describe('HTML body (payload values HTML-escaped).'),
    template: z.string().optional().describe('recipes/templates/NAME.hbs as the HTML body; NAME.text.hbs, when present, as the text body.'),
    from: z.string().optional().describe('Sender for this step (default: settings from).'),
  })
  .refine((v) => Boolean(v.text || v.html || v.template), { path: ['text'], message: 'text, html or template is required' })

type Transport = string | Record<string, unknown>
type Settings = z.output<typeof settings>
type Input = z.output<typeof input>

/**
 * An address field as a list, blanks dropped. Strings are not split here:
 * nodemailer parses each (a rendered `"Doe, Jane" <jane@example.com>` is one
 * address), and a templated one was checked to be exactly one when it rendered.
 */
function list(value: string | string[] | undefined): string[] {
  const all = Array.isArray(value) ? value : [value ?? '']
  return all.map((a) => a.trim()).filter(Boolean)
}

interface Pooled {
  key: string
  mailer: Promise<Transporter>
  busy: number
  timer?: NodeJS.Timeout
}

// One pooled transport per distinct settings: connections are reused across runs.
const pools = new Map<string, Pooled>()

/** The pool for these settings, counted busy until `release`. */
function acquire(transport: Transport): Pooled {
  const key = typeof transport === 'string' ? transport : JSON.stringify(transport)
  let pool = pools.get(key)
  if (!pool) {
    // Loaded on first use, so start-up does not pay for nodemailer.
    const mailer = import('nodemailer').then(({ createTransport }) => {
      // maxRequeues 1: a stale pooled connection gets one more try; the runner does the real retrying.
      if (typeof transport !== 'string') return createTransport({ ...transport, pool: true, maxRequeues: 1 } as never)
      let url: URL
      try {
        url = new URL(transport)
      } catch {
        throw new PermanentError('actions.email.transport is not a valid SMTP URL', { code: 'transport_invalid' })
      }
      url.searchParams.set('pool', 'true')
      url.searchParams.set('maxRequeues', '1')
      return createTransport(url.href)
    })
    pool = { key, mailer, busy: 0 }
    mailer.catch(() => pools.delete(key))
    pools.set(key, pool)
  }
  clearTimeout(pool.timer)
  pool.busy++
  return pool
}

/** Close a pool nobody used for a while, so idle SMTP connections do not hold the process. */
function release(pool: Pooled): void {
  pool.busy--
  if (pool.busy > 0) return
  pool.timer = setTimeout(() => {
    if (pool.busy > 0) return
    pools.delete(pool.key)
    void pool.mailer.then((m) => m.close())
  }, IDLE_CLOSE_MS)
  pool.timer.unref()
}

function password(transport: Transport): string | undefined {
  if (typeof transport !== 'string') return (transport.auth as { pass?: string } | undefined)?.pass
  const pass = URL.canParse(transport) ? new URL(transport).password : ''
  try {
    return decodeURIComponent(pass) || undefined
  } catch {
    return pass
  }
}

/** SMTP 4xx and lost connections may pass; 5xx and refused logins will not. */
function smtpError(err: unknown, secret: string | undefined): RunnerError {
  if (err instanceof RunnerError) return err
  const e = (err ?? {}) as { code?: string; responseCode?: number; response?: string; message?: string }
  let detail = e.response ?? e.message ?? String(err)
  if (secret) detail = detail.split(secret).join('[password]')
  // No cause attached: nodemailer errors can carry the connection options.
  const rc = e.responseCode ?? 0
  const temporary = rc >= 400 && rc < 500
  if (e.code === 'EAUTH') {
    const message = `email: SMTP login failed (${detail}); check the user and password in actions.email.transport`
    return temporary ? new RetryableError(message, { code: 'smtp_auth' }) : new PermanentError(message, { code: 'smtp_auth' })
  }
  if (temporary) return new RetryableError(`email: the SMTP server answered ${detail}`, { code: `smtp_${rc}` })
  if (rc >= 500) return new PermanentError(`email: the SMTP server refused: ${detail}`, { code: `smtp_${rc}` })
  if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE')
    return new PermanentError(`email: ${detail}`, { code: `smtp_${e.code.toLowerCase()}` })
  return new RetryableError(`email: ${detail}`, { code: e.code === undefined ? 'smtp_error' : `smtp_${e.code.toLowerCase()}` })
}

/** A named template, or undefined when `optional` and absent. Failures are for good: a retry renders the same. */
function render(ctx: ActionContext<Settings>, name: string, mode: 'html' | 'none', optional = false): string | undefined {
  try {
    return ctx.renderTemplate(name, mode)
  } catch (err) {
    if (optional && (err as { code?: unknown }).code === 'template_not_found') return undefined
    throw new PermanentError(`email: template "${name}": ${err instanceof Error ? err.message : String(err)}`, {
      code: 'template_failed',
      cause: err,
    })
  }
}

/** The message, with bodies rendered from `template` where the step gives none. */
function compose(input: Input, ctx: ActionContext<Settings>): SendMailOptions & { to: string[] } {
  let html = input.html
  let text = input.text
  if (input.template) {
    html ??= render(ctx, input.template, 'html')
    text ??= render(ctx, `${input.template}.text`, 'none', true)
  }
  if (text === undefined && html !== undefined) text = htmlToText(html)
  const from = input.from || ctx.settings.from
  const cc = list(input.cc)
  const bcc = list(input.bcc)
  return {
    to: list(input.to),
    subject: input.subject ?? '',
    ...(from ? { from } : {}),
    ...(cc.length ? { cc } : {}),
    ...(bcc.length ? { bcc } : {}),
    ...(text === undefined ? {} : { text }),
    ...(html === undefined ? {} : { html }),
  }
}

export default definePlugin<Input, Settings>({
  name: 'email',
  description: 'Send an email through SMTP (nodemailer, pooled connections).',
  settings,
  input,
  // A templated recipient renders to exactly one address: a value cannot add recipients.
  escape: { html: 'html', to: 'address', cc: 'address', bcc: 'address', from: 'address', '*': 'none' },
  missingCredentials(s) {
    if (!s.transport) return 'actions.email.transport is not set; set SMTP_URL'
    if (!s.from) return "actions.email.from is not set, e.g. 'Releases <releases@example.com>'"
    return undefined
  },
  async run(input, ctx) {
    const message = compose(input, ctx)
    if (!message.to.length) throw new PermanentError("'to' rendered empty", { code: 'to_empty' })
    const { transport } = ctx.settings
    if (!transport) throw new PermanentError('actions.email.transport is not set; set SMTP_URL', { code: 'credentials_missing' })
    if (!message.from) throw new PermanentError('actions.email.from is not set (or give the step a from)', { code: 'from_missing' })
    if (typeof message.html === 'string') await refuseUnsafeLinks(message.html)
    const pool = acquire(transport)
    try {
      const mailer = await pool.mailer
      const info = await raceAbort<{ messageId: string; accepted: unknown[]; rejected: unknown[] }>(
        mailer.sendMail(message),
        ctx.signal,
        'email',
      )
      const address = (a: unknown) => (typeof a === 'string' ? a : String((a as { address?: string }).address))
      return { messageId: info.messageId, accepted: info.accepted.map(address), rejected: info.rejected.map(address) }
    } catch (err) {
      throw smtpError(err, password(transport))
    } finally {
      release(pool)
    }
  },
  async close() {
    const open = [...pools.values()]
    pools.clear()
    for (const pool of open) clearTimeout(pool.timer)
    await Promise.all(open.map((pool) => pool.mailer.then((m) => m.close()).catch(() => {})))
  },
  preview(input, ctx) {
    const { html, ...rest } = compose(input, ctx)
    return { ...rest, ...(typeof html === 'string' ? { html: html.length > 2000 ? `${html.slice(0, 2000)}…` : html } : {}) }
  },
})
