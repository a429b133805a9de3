/**
 * `check` warnings about conditions and the documented payload: an entry that
 * can never hold (`when: { tags: 'sci-fi' }` compares a list of tag objects
 * with a string), a path into a plain value (`'name.first'`), a near-miss of a
 * documented field (`creater`). Warnings, not errors: Audiorista may send more
 * than it documents, and a config that loads runs as written.
 */
import type { ConfigIssue } from '../errors.js'
import { whyNever } from '../match/never.js'
import { joinConfigPath, splitPath } from '../match/path.js'
import { contextShape, type Landing, land, type Shape } from '../match/shape.js'
import { matches } from '../match/matcher.js'
import { isPlainObject } from '../match/values.js'
import { EVENT_TYPES, type EventType } from '../types.js'
import { describeShape, hintFor, js, neverReason } from './shape-messages.js'
import { suggest } from './suggest.js'

// Names people reach for, for fields of a Title.
const TITLE_SYNONYMS = { title: 'name', author: 'creator', url: 'share.url', tag_slug: 'tags.slug' }

/** Every warning in the recipes' `when` and steps' `if` objects, each at its config path. */
export function shapeWarnings(recipes: readonly unknown[]): ConfigIssue[] {
  const warnings: ConfigIssue[] = []
  for (const [i, recipe] of recipes.entries()) {
    if (!isPlainObject(recipe)) continue
    const events = eventsOf(recipe.on)
    // Shapes already reported as config errors are skipped, not guessed at.
    if (events.length === 0) continue
    const root = contextShape(events)
    walk(recipe.when, root, `recipes[${i}].when`, warnings)
    if (!Array.isArray(recipe.do)) continue
    for (const [j, step] of recipe.do.entries()) if (isPlainObject(step)) walk(step.if, root, `recipes[${i}].do[${j}].if`, warnings)
  }
  return warnings
}

function eventsOf(on: unknown): EventType[] {
  const names: unknown[] = Array.isArray(on) ? on : [on]
  return names.filter((name): name is EventType => (EVENT_TYPES as readonly unknown[]).includes(name))
}

/** How an entry's outcome reads, inside a `not` or not. */
function verdict(holds: boolean, negated: boolean): string {
  if (negated) return holds ? 'the `not` around it never holds' : 'the `not` around it always holds'
  return holds ? 'this entry always holds' : 'it never matches'
}

function walk(cond: unknown, root: Shape, path: string, out: ConfigIssue[], negated = false): void {
  // A function decides for itself; only objects can be read here.
  if (!isPlainObject(cond)) return
  for (const [key, value] of Object.entries(cond)) {
    if (value === undefined || key === 'tag') continue
    const at = joinConfigPath(path, key)
    if (key === 'all' || key === 'any') {
      if (Array.isArray(value)) for (const [k, c] of value.entries()) walk(c, root, `${at}[${k}]`, out, negated)
    } else if (key === 'not') walk(value, root, at, out, !negated)
    else {
      const message = entryWarning(key, value, land(root, key), negated)
      if (message) out.push({ path: at, message })
    }
  }
}

function entryWarning(key: string, matcher: unknown, landing: Landing, negated: boolean): string | undefined {
  switch (landing.kind) {
    case 'value': {
      const never = whyNever(matcher, landing.shape)
      return never && `${neverReason(never, landing.shape)}; ${verdict(false, negated)}.${hintFor(key, matcher, never, landing.shape)}`
    }
    case 'nothing':
      return reachesNothing(key, matcher, landing, negated)
    case 'undocumented':
      return nearMiss(key, matcher, landing)
    default:
      return undefined
  }
}

function reachesNothing(
  key: string,
  matcher: unknown,
  { prefix, shape, field }: Extract<Landing, { kind: 'nothing' }>,
  negated: boolean,
): string {
  const fields = shape.kind === 'object' ? Object.keys(shape.fields) : []
  const where =
    field === undefined ? `${prefix} is ${describeShape(shape)}` : `${prefix} has no field "${field}" (it has ${fields.join(', ')})`
  // Nothing reached reads as a missing value: { exists: false } holds, a literal never does.
  const outcome = verdict(matches(matcher, undefined), negated)
  const near = field === undefined ? undefined : suggest(field, fields)
  return `${where}, so ${js(key)} reaches nothing; ${outcome}.${near ? ` Did you mean ${js(`${prefix}.${near}`)}?` : ''}`
}

function nearMiss(key: string, matcher: unknown, { segment, noun, known }: Extract<Landing, { kind: 'undocumented' }>): string | undefined {
  const segments = splitPath(key)!
  const name = segments[segment]!
  const titleLevel = noun === 'title' || noun === 'context'
  const near = suggest(name, known, titleLevel ? TITLE_SYNONYMS : {})
  if (near === undefined) return undefined
  const fixed = [...segments.slice(0, segment), near, ...segments.slice(segment + 1)].join('.')
  const sugar = name === 'tag' && segment === 0 && isTagNames(matcher) ? ` (or tag: ${js(matcher)}, which matches a slug or a name)` : ''
  return `"${name}" is not a documented field; did you mean ${js(fixed)}?${sugar}`
}

const isTagNames = (value: unknown) =>
  typeof value === 'string' || (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string'))
