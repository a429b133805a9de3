import type { IncomingMessage } from 'node:http'
import { TextDecoder } from 'node:util'
import contentType from 'content-type'
import getRawBody from 'raw-body'
import { HttpError } from '../errors.js'

/** `application/json`, or any `+json` type. A missing header is allowed: the body must still be JSON. */
export function checkContentType(header: string | undefined): string {
  if (header === undefined || header.trim() === '') return 'utf-8'
  let parsed: contentType.ParsedMediaType
  try {
    parsed = contentType.parse(header)
  } catch {
    throw new HttpError(415, 'unsupported_media_type', `Content-Type "${header.slice(0, 100)}" is not valid; send application/json`)
  }
  if (parsed.type !== 'application/json' && !parsed.type.endsWith('+json')) {
    throw new HttpError(415, 'unsupported_media_type', `Content-Type ${parsed.type} is not JSON; send application/json`)
  }
  return parsed.parameters.charset ?? 'utf-8'
}

/** Reads the whole body within `limit` bytes and decodes it strictly: bad bytes are a 400, not a U+FFFD. */
export async function readBody(req: IncomingMessage, limit: number, charset: string): Promise<string> {
  let decoder: TextDecoder
  try {
    decoder = new TextDecoder(charset, { fatal: true, ignoreBOM: false })
  } catch {
    throw new HttpError(415, 'unsupported_charset', `charset "${charset.slice(0, 40)}" is not supported; send UTF-8`)
  }
  const length = req.headers['content-length']
  let raw: Buffer
  try {
    raw = await getRawBody(req, { limit, length: req.headers['transfer-encoding'] ? undefined : length })
  } catch (err) {
    throw bodyError(err, limit)
  }
  try {
    return decoder.decode(raw)
  } catch {
    throw new HttpError(400, 'invalid_encoding', `the body is not valid ${charset}`)
  }
}

/**
 * The body when a framework's parser has read the stream already (an
 * express app with `express.json()` or `express.text()` before the
 * runner): the text again, within the limit. Undefined when the stream is
 * still ours to read.
 */
export function readAlready(req: IncomingMessage, limit: number): string | undefined {
  const parsed = req as IncomingMessage & { body?: unknown; _body?: boolean }
  if (!parsed._body && !req.readableEnded) return undefined
  const { body } = parsed
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : JSON.stringify(body ?? null)
  if (Buffer.byteLength(text) > limit) throw tooLarge(limit)
  return text
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `the body is larger than the limit of ${limit} bytes`)
}

function bodyError(err: unknown, limit: number): HttpError {
  const type = (err as { type?: string }).type
  if (type === 'entity.too.large') return tooLarge(limit)
  if (type === 'request.size.invalid') return new HttpError(400, 'invalid_body', 'the body length does not match Content-Length')
  if (type === 'request.aborted') return new HttpError(400, 'aborted', 'the request was aborted before the body was complete')
  return new HttpError(400, 'invalid_body', 'the body could not be read')
}

/** Parses a JSON object body; anything else is a 400 saying what was wrong. */
export function parseObject(text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const detail = err instanceof SyntaxError ? `: ${err.message.slice(0, 200)}` : ''
    throw new HttpError(400, 'invalid_json', `the body is not valid JSON${detail}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
    throw new HttpError(400, 'not_an_object', `the body must be a JSON object, got ${kind}`)
  }
  return value as Record<string, unknown>
}
