import { HttpError } from '../errors.js'
import { MAX_DEPTH } from './canonical.js'
import { createSlicing, SLICE, type SlicePlan } from './slice-plan.js'

/** What the receiver needs of a large body, read without building its objects. */
export interface ScannedBody {
  /** Exactly `canonicalJson(JSON.parse(text))`. */
  canonical: string
  /** The top-level `name` when it is a string (titles have one). */
  name?: string
  /** Where to cut the text so that no one JSON.parse reads more than `SLICE` characters (large bodies). */
  plan?: SlicePlan
}

const WS = /[ \t\n\r]*/y
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y

/** Not valid JSON (or not what this scanner reads): the caller lets JSON.parse say why. */
class Unreadable extends Error {}

/**
 * The canonical JSON of a body whose top level is an object, read straight
 * from the text. A body of a million `{}` parses to some 20 MB of objects;
 * the receiver only needs its hash and title, so for large bodies it reads
 * them this way and leaves parsing to the engine, which does it within its
 * memory budget. Strings go through JSON.parse and JSON.stringify one by one,
 * numbers through Number and JSON.stringify, keys are sorted like
 * `Object.keys(…).sort()` and the last duplicate wins: the same rules as
 * `canonicalJson(JSON.parse(text))`, which the tests check on random JSON.
 * Returns undefined when the text is not a JSON object this reads.
 */
export function scanCanonical(text: string): ScannedBody | undefined {
  const scanner: Scanner = { text, at: 0, name: undefined, plan: undefined }
  try {
    skip(scanner)
    if (text[scanner.at] !== '{') return undefined
    const canonical = value(scanner, 0, true)
    skip(scanner)
    if (scanner.at !== text.length) return undefined
    const plan = scanner.plan
    return { canonical, ...(scanner.name === undefined ? {} : { name: scanner.name }), ...(plan ? { plan } : {}) }
  } catch (err) {
    if (err instanceof Unreadable || err instanceof SyntaxError) return undefined
    throw err
  }
}

interface Scanner {
  text: string
  at: number
  name: string | undefined
  /** The slice plan of the value just read, when it is a container larger than `SLICE`. */
  plan: SlicePlan | undefined
}

function skip(s: Scanner): void {
  WS.lastIndex = s.at
  WS.exec(s.text)
  s.at = WS.lastIndex
}

function value(s: Scanner, depth: number, top = false): string {
  if (depth > MAX_DEPTH) throw new HttpError(400, 'too_deep', `the JSON body is nested more than ${MAX_DEPTH} levels deep`)
  const c = s.text[s.at]
  s.plan = undefined
  if (c === '{') return object(s, depth, top)
  if (c === '[') return array(s, depth)
  if (c === '"') return JSON.stringify(JSON.parse(stringToken(s)))
  for (const literal of ['true', 'false', 'null']) {
    if (s.text.startsWith(literal, s.at)) {
      s.at += literal.length
      return literal
    }
  }
  NUMBER.lastIndex = s.at
  const m = NUMBER.exec(s.text)
  if (!m) throw new Unreadable()
  s.at = NUMBER.lastIndex
  return JSON.stringify(Number(m[0]))
}

/** The raw text of a string token, quotes included; JSON.parse then checks its escapes and characters. */
function stringToken(s: Scanner): string {
  const start = s.at
  let i = start + 1
  for (;;) {
    const q = s.text.indexOf('"', i)
    if (q === -1) throw new Unreadable()
    let slashes = 0
    for (let j = q - 1; j > start && s.text.charCodeAt(j) === 92; j--) slashes++
    i = q + 1
    if (slashes % 2 === 0) break
  }
  s.at = i
  return s.text.slice(start, i)
}

function object(s: Scanner, depth: number, top: boolean): string {
  const opening = s.at
  s.at++
  const members = new Map<string, string>()
  skip(s)
  if (s.text[s.at] === '}') {
    s.at++
    return '{}'
  }
  const slicing = createSlicing('object', opening)
  for (;;) {
    skip(s)
    if (s.text[s.at] !== '"') throw new Unreadable()
    const from = s.at
    const key = JSON.parse(stringToken(s)) as string
    skip(s)
    if (s.text[s.at++] !== ':') throw new Unreadable()
    skip(s)
    const start = s.at
    const text = value(s, depth + 1)
    if (top && key === 'name') s.name = s.text[start] === '"' ? (JSON.parse(text) as string) : undefined
    // A later duplicate wins, as in JSON.parse; sorting makes the first position irrelevant.
    members.set(key, text)
    slicing.member(from, s.at, s.at - start > SLICE ? { key, start, plan: s.plan } : undefined)
    skip(s)
    const next = s.text[s.at++]
    if (next === '}') break
    if (next !== ',') throw new Unreadable()
  }
  s.plan = slicing.end(s.at)
  const keys = [...members.keys()].sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${members.get(k)}`).join(',')}}`
}

function array(s: Scanner, depth: number): string {
  const opening = s.at
  s.at++
  const items: string[] = []
  skip(s)
  if (s.text[s.at] === ']') {
    s.at++
    return '[]'
  }
  const slicing = createSlicing('array', opening)
  for (;;) {
    skip(s)
    const from = s.at
    items.push(value(s, depth + 1))
    slicing.member(from, s.at, s.at - from > SLICE ? { start: from, plan: s.plan } : undefined)
    skip(s)
    const next = s.text[s.at++]
    if (next === ']') break
    if (next !== ',') throw new Unreadable()
  }
  s.plan = slicing.end(s.at)
  return `[${items.join(',')}]`
}
