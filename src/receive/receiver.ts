import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError, RunnerError } from '../errors.js'
import type { Backend } from '../store/backend.js'
import { EVENT_TYPES, type EventType, type Logger } from '../types.js'
import type { ResolvedConfig } from '../config/resolved.js'
import { createKeyCheck } from './auth.js'
import { checkContentType, parseObject, readAlready, readBody } from './body.js'
import { clientAddress } from './client-address.js'
import { bodyHash } from './canonical.js'
import { scanLarge, startScanner } from './body-scanner.js'
import { chargeFor, createInflightBudget, roomWait } from './inflight.js'
import { sendJson } from './respond.js'
import type { SlicePlan } from './slice-plan.js'
import { noTelemetry, type Telemetry } from '../telemetry.js'

export interface ReceiverOptions {
  config: Pick<ResolvedConfig, 'server' | 'auth' | 'dedupe'>
  store: Pick<Backend, 'accept' | 'isReady'>
  log: Logger
  /** Called after a new (not duplicate) delivery is durably stored, with its parsed body, so it is parsed once. */
  onAccepted?: (event: AcceptedEvent) => void
  /** Where each answer and store write is reported (metrics, the console's live view). */
  telemetry?: Telemetry
}

export interface AcceptedEvent {
  id: string
  type: EventType
  /** The parsed body and the text it came from (to weigh it). */
  payload?: Record<string, unknown>
  text?: string
  /** For a large body, not parsed here: where to cut the text to parse it a slice at a time. */
  plan?: SlicePlan
  receivedAt?: number
}

export interface Receiver {
  /** Serves `POST {basePath}/{event}`; returns false for paths it does not own. */
  handle(req: IncomingMessage, res: ServerResponse): boolean
  /** Serves a delivery for the event named `name` (unknown names get 404), wherever it was routed from (embedding). */
  deliver(req: IncomingMessage, res: ServerResponse, name: string): void
  /** The keys, body limit and dedupe window from now on (a reload); the routes stay. */
  update(config: Pick<ResolvedConfig, 'server' | 'auth' | 'dedupe'>): void
  /** Stop or resume accepting; while stopped, deliveries get 503 with Retry-After. */
  setAccepting(accepting: boolean): void
  readonly accepting: boolean
}

const EVENTS = new Set<string>(EVENT_TYPES)
const RETRY_AFTER = '5'
// A busy receiver frees room within seconds; a sender that waits a little spreads the burst out.
const BUSY_RETRY_AFTER = '2'

/**
 * The webhook hot path: verify, read, parse, store, answer. It runs on the
 * bare `node:http` request (no router) because this is the only route under
 * load; `server.ts` answers the rest.
 */
export function createReceiver({ config, store, log, onAccepted, telemetry = noTelemetry }: ReceiverOptions): Receiver {
  const prefix = `${config.server.basePath}/`
  let checkKey = createKeyCheck(config.auth)
  let { bodyLimit } = config.server
  let dedupeWindow = config.dedupe.window
  let accepting = false
  const clientOf = clientAddress(config.server.trustProxy)
  const budget = createInflightBudget(config.server.inflightBytes)
  const wait = roomWait(config.server.requestTimeout)
  startScanner()

  async function receive(req: IncomingMessage, res: ServerResponse, type: EventType): Promise<void> {
    if (!accepting || !store.isReady())
      throw new HttpError(503, 'not_ready', 'the runner is not accepting deliveries right now; retry later', { 'retry-after': RETRY_AFTER })
    checkKey(type, req.headers['x-audiorista-key'])
    const charset = checkContentType(req.headers['content-type'])
    checkEncoding(req.headers['content-encoding'])
    // Room before the first byte is read: until then the body stays in the kernel's socket buffer.
    const release = await budget.reserve(chargeFor(req, bodyLimit), wait)
    if (!release)
      throw new HttpError(503, 'busy', 'the runner is receiving its limit of bodies (server.inflightBytes); retry later', {
        'retry-after': BUSY_RETRY_AFTER,
      })
    try {
      await readAndStore(req, res, type, charset)
    } finally {
      release()
    }
  }

  async function readAndStore(req: IncomingMessage, res: ServerResponse, type: EventType, charset: string): Promise<void> {
    // Now, while the socket is surely open: a peer gone by the answer has no address to read.
    const client = clientOf(req)
    const text = readAlready(req, bodyLimit) ?? (await readBody(req, bodyLimit, charset))
    // The sender is done; from here any wait is ours (large bodies take turns), and the idle
    // timeout for slow clients would cut it off without an answer. Node sets it again after the answer.
    req.socket.setTimeout(0)
    const { hash, title, payload, plan } = text.length > LARGE_BODY ? await inspectLarge(text) : inspect(text)
    const receivedAt = Date.now()
    const started = performance.now()
    const { id, duplicate } = await store.accept({
      type,
      body: text,
      hash,
      receivedAt,
      dedupeWindow,
      ...(title === undefined ? {} : { title }),
    })
    telemetry.emit({ kind: 'stored', ms: performance.now() - started })
    sendJson(res, duplicate ? 200 : 202, { accepted: true, duplicate, id })
    telemetry.emit({ kind: 'delivery', event: type, outcome: duplicate ? 'duplicate' : 'accepted', status: duplicate ? 200 : 202, id })
    log.info({ eventId: id, event: type, duplicate, bytes: text.length, client }, duplicate ? 'duplicate delivery' : 'delivery accepted')
    if (!duplicate) onAccepted?.({ id, type, text, receivedAt, ...(payload ? { payload } : {}), ...(plan ? { plan } : {}) })
  }

  function fail(req: IncomingMessage, res: ServerResponse, err: unknown, type?: string): void {
    const known = err instanceof HttpError
    const httpErr = known
      ? err
      : new HttpError(503, 'store_unavailable', 'the delivery could not be stored; retry later', { 'retry-after': RETRY_AFTER })
    if (!known) {
      const status = err instanceof RunnerError && err.status ? err.status : 503
      if (status !== 503) log.error({ err }, 'unexpected receiver error')
      else log.error({ err: describe(err) }, 'store unavailable, delivery refused with 503')
    }
    if (res.headersSent) return void res.destroy()
    const headers: Record<string, string> = { ...httpErr.headers }
    if (!req.readableEnded) {
      // A body we did not read: answer, close the connection, and read off what is still in flight
      // (a bounded amount), so the client sees our answer rather than a reset.
      headers.connection = 'close'
      drain(req, bodyLimit)
    }
    sendJson(res, httpErr.status ?? 500, { error: { code: httpErr.code, message: httpErr.message } }, headers)
    telemetry.emit({
      kind: 'delivery',
      event: EVENTS.has(type ?? '') ? (type as EventType) : undefined,
      outcome: 'rejected',
      status: httpErr.status ?? 500,
    })
    // Never the query string: a sender may put a key there.
    log.warn(
      {
        status: httpErr.status,
        code: httpErr.code,
        event: type,
        path: (req.url ?? '').split('?')[0]!.slice(0, 200),
        client: clientOf(req),
      },
      'delivery rejected',
    )
  }

  function deliver(req: IncomingMessage, res: ServerResponse, path: string): void {
    const name = path.endsWith('/') ? path.slice(0, -1) : path
    if (!EVENTS.has(name)) {
      const valid = EVENT_TYPES.map((e) => `${config.server.basePath}/${e}`).join(', ')
      fail(req, res, new HttpError(404, 'unknown_event', `unknown event "${name.slice(0, 60)}"; use one of ${valid}`), name)
    } else if (req.method !== 'POST') {
      fail(req, res, new HttpError(405, 'method_not_allowed', `use POST to deliver ${name} webhooks`, { allow: 'POST' }), name)
    } else {
      receive(req, res, name as EventType).catch((err) => fail(req, res, err, name))
    }
  }

  return {
    handle(req, res) {
      let url = req.url ?? '/'
      // Absolute-form targets (`POST http://host/webhooks/...`) are valid HTTP too.
      if (url.charCodeAt(0) !== 47) url = absolutePath(url)
      if (!url.startsWith(prefix)) return false
      let name = url.slice(prefix.length)
      const q = name.indexOf('?')
      if (q !== -1) name = name.slice(0, q)
      deliver(req, res, name)
      return true
    },
    deliver,
    update(next) {
      checkKey = createKeyCheck(next.auth)
      bodyLimit = next.server.bodyLimit
      dedupeWindow = next.dedupe.window
      budget.setLimit(next.server.inflightBytes)
    },
    setAccepting(on) {
      accepting = on
    },
    get accepting() {
      return accepting
    },
  }
}

function checkEncoding(encoding: string | undefined): void {
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    throw new HttpError(
      415,
      'unsupported_encoding',
      `Content-Encoding ${encoding.slice(0, 40)} is not supported; send the JSON uncompressed`,
    )
}

// Above this, a body's objects cost more to build than the engine saves by reusing them (see inspect).
const LARGE_BODY = 64 * 1024

type Inspected = { hash: string; title?: string; payload?: Record<string, unknown>; plan?: SlicePlan }

/** The hash, title and parsed form of a small body. */
function inspect(text: string): Inspected {
  const payload = parseObject(text)
  const hash = bodyHash(payload)
  return typeof payload.name === 'string' ? { hash, title: payload.name.slice(0, 200), payload } : { hash, payload }
}

/**
 * A large body is read without building its objects (a megabyte of `{}` is
 * 20 MB of them), on the scanner thread: the engine parses it when its turn
 * comes, within its memory budget. What the scanner cannot read, JSON.parse
 * decides (and names the error).
 */
async function inspectLarge(text: string): Promise<Inspected> {
  const scanned = await scanLarge(text)
  if (!scanned) return inspect(text)
  const { hash, name, plan } = scanned
  return { hash, ...(name === undefined ? {} : { title: name.slice(0, 200) }), ...(plan ? { plan } : {}) }
}

/** Reads off (and drops) up to twice the body limit, then gives up on the connection. */
function drain(req: IncomingMessage, limit: number): void {
  let seen = 0
  // Long enough for a sender told 503 while a burst is in flight to finish its body and read the answer.
  const timer = setTimeout(() => req.destroy(), 10_000)
  timer.unref()
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length
    if (seen > 2 * limit) req.destroy()
  })
  req.once('end', () => clearTimeout(timer))
  req.once('close', () => clearTimeout(timer))
  req.resume()
}

function absolutePath(url: string): string {
  try {
    const parsed = new URL(url)
    return parsed.pathname + parsed.search
  } catch {
    return url
  }
}

function describe(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : ''
  return err instanceof Error ? `${err.message}${cause}` : String(err)
}
