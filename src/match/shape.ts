/**
 * The documented payload shapes as data, and where a condition's dot-path
 * lands in them, so `check` can tell a condition that can never hold. The
 * same shape is written as types in payload.ts (TitlePayload); a type test
 * (test/types.test.ts) keeps the two in step.
 */
import type { EventType } from '../types.js'
import { splitPath } from './path.js'

/**
 * What is known of a value. `nullable` marks what the documentation shows as
 * `null | …` (for the types; the checker lets any field be null or missing).
 * Objects say what other fields there may be: `documented` (any, but a
 * near-miss of a documented name is worth a question), `free` (any), `closed`
 * (the runner's own objects: none).
 */
export type Shape =
  | { readonly kind: 'string' | 'number' | 'boolean' | 'unknown'; readonly nullable?: true }
  | { readonly kind: 'list'; readonly of: Shape; readonly nullable?: true }
  | {
      readonly kind: 'object'
      readonly noun: string
      readonly fields: Readonly<Record<string, Shape>>
      readonly others: Others
      readonly nullable?: true
    }

export type Others = 'documented' | 'free' | 'closed'

const string = { kind: 'string' } as const
const number = { kind: 'number' } as const
const boolean = { kind: 'boolean' } as const
const unknown = { kind: 'unknown' } as const
const list = <const S extends Shape>(of: S) => ({ kind: 'list', of }) as const
const nullable = <const S extends Shape>(shape: S) => ({ ...shape, nullable: true }) as const
const object = <const F extends Record<string, Shape>>(noun: string, fields: F) =>
  ({ kind: 'object', noun, fields, others: 'documented' }) as const

/** An Audiorista Title, as the webhook documentation shows it. */
export const TITLE_SHAPE = object('title', {
  id: number,
  external_id: string,
  uri: string,
  name: string,
  description: string,
  rich_description: string,
  share: nullable(object('share', { url: string, background_image: string })),
  thumbnail: string,
  tall_thumbnail: string,
  creator_thumbnail: string,
  banner: string,
  background_image: nullable(string),
  video_snippet: nullable(string),
  creator: string,
  is_paid: boolean,
  created: string,
  extra: list(unknown),
  assets: list(
    object('asset', {
      type: number,
      order: number,
      id: number,
      name: string,
      content_type: string,
      media_type: string,
      storage_media_type: string,
      duration_ms: number,
      pages: number,
      fixed_layout: boolean,
      filesize_bytes: number,
      download_type: string,
      chapters: list(unknown),
    }),
  ),
  tags: list(object('tag', { name: string, slug: string })),
  rating: string,
})

/** The documented body of each event; undefined where Audiorista documents none. */
export const PAYLOAD_SHAPES: Readonly<Record<EventType, Shape | undefined>> = {
  'title-updated': TITLE_SHAPE,
  'title-ready': TITLE_SHAPE,
  'asset-transcoded': undefined,
}

const closed = (noun: string, fields: Record<string, Shape>): Shape => ({ kind: 'object', noun, fields, others: 'closed' })

/**
 * The template context's shape for a recipe's events: the payload's fields at
 * the root, and the runner's own names, which win (as in render/context.ts).
 * A payload is known only when every event documents the same one.
 */
export function contextShape(events: readonly EventType[]): Shape {
  const shapes = new Set(events.map((e) => PAYLOAD_SHAPES[e]))
  const payload = shapes.size === 1 ? [...shapes][0] : undefined
  const own = {
    event: closed('event', { id: string, type: string, receivedAt: string }),
    payload: payload ?? unknown,
    vars: unknown,
    recipe: closed('recipe', { name: string }),
    steps: unknown,
  }
  if (payload?.kind !== 'object') return { kind: 'object', noun: 'context', fields: own, others: 'free' }
  return { kind: 'object', noun: 'context', fields: { ...payload.fields, ...own }, others: payload.others }
}

/** Where a path lands: a documented value, beyond the documentation, nothing at all, or an undocumented field of a documented object. */
export type Landing =
  | { kind: 'value'; shape: Shape }
  | { kind: 'unknown' }
  | { kind: 'nothing'; prefix: string; shape: Shape; field?: string }
  | { kind: 'undocumented'; segment: number; noun: string; known: readonly string[] }

const INDEX = /^(?:0|[1-9]\d*)$/

/**
 * Walks `path` through `root` the way getPath (path.ts) walks a value: a list
 * met before the last segment fans out (any element) unless the segment is an
 * index, and the value at the end is kept as is, lists included.
 */
export function land(root: Shape, path: string): Landing {
  const segments = splitPath(path)
  if (!segments) return { kind: 'unknown' }
  let shape = root
  let i = 0
  while (i < segments.length) {
    const segment = segments[i]!
    if (shape.kind === 'list') {
      shape = shape.of
      if (INDEX.test(segment)) i++
      continue
    }
    if (shape.kind === 'unknown') return { kind: 'unknown' }
    const prefix = segments.slice(0, i).join('.')
    if (shape.kind !== 'object') return { kind: 'nothing', prefix, shape }
    if (!Object.hasOwn(shape.fields, segment)) {
      if (shape.others === 'closed') return { kind: 'nothing', prefix, shape, field: segment }
      if (shape.others === 'free') return { kind: 'unknown' }
      return { kind: 'undocumented', segment: i, noun: shape.noun, known: Object.keys(shape.fields) }
    }
    shape = shape.fields[segment]!
    i++
  }
  return { kind: 'value', shape }
}
