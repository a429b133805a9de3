/**
 * The `tag` sugar: holds when some tag of the payload has a slug or name equal
 * to one of the given names, case-insensitively.
 */
import type { ConfigIssue } from '../errors.js'
import type { TemplateContext } from '../types.js'
import { type Budget, charge, UNLIMITED } from './budget.js'
import { bare, isPlainObject, show, showList } from './values.js'

/** Each tag is a visit and its labels' characters are scanned, charged to `budget` (throws BudgetExhausted). */
export function tagHolds(wanted: unknown, ctx: TemplateContext, budget: Budget = UNLIMITED): boolean {
  const tags = tagsOf(ctx)
  if (!Array.isArray(tags)) return false
  const names = new Set((Array.isArray(wanted) ? wanted : [wanted]).filter((n) => typeof n === 'string').map((n) => n.toLowerCase()))
  if (names.size === 0) return false
  // Lower-casing never shortens a string, so a label longer than every name cannot equal one: no need to fold it.
  const longest = Math.max(...[...names].map((n) => n.length))
  charge(budget, 'visits', tags.length)
  // Plain string tags too: the Asset transcoded body is undocumented, so stay lenient.
  for (const tag of tags) {
    const labels = typeof tag === 'string' ? [tag] : [ownString(tag, 'slug'), ownString(tag, 'name')]
    for (const label of labels) {
      if (label === undefined || label.length > longest) continue
      charge(budget, 'scanChars', label.length)
      if (names.has(label.toLowerCase())) return true
    }
  }
  return false
}

/** The reason for a failed `tag`: `tag: no tag is "podcast" (tags: "Sci-Fi")`. */
export function tagReason(wanted: unknown, ctx: TemplateContext): { reason: string; actual: unknown } {
  const tags = tagsOf(ctx)
  const names = (Array.isArray(wanted) ? wanted : [wanted]).map(show).join(' or ')
  // Only the first tags are shown; labelling them all would be work in the payload's size.
  const labels = Array.isArray(tags) ? tags.slice(0, 10).map((t: unknown) => ownString(t, 'name') ?? ownString(t, 'slug') ?? t) : []
  const more = Array.isArray(tags) && tags.length > 10 ? `, … ${tags.length - 10} more` : ''
  const have = labels.length
    ? `tags: ${showList(labels)}${more}`
    : tags === undefined || Array.isArray(tags)
      ? 'no tags'
      : `tags: ${show(tags)}`
  return { reason: names ? `tag: no tag is ${names} (${have})` : 'tag: no tag names given', actual: tags }
}

export function describeTag(wanted: unknown): string {
  if (!Array.isArray(wanted)) return `tag = ${bare(wanted)}`
  return wanted.length === 1 ? `tag = ${bare(wanted[0])}` : `tag in (${showList(wanted, bare)})`
}

export function checkTag(wanted: unknown, path: string, issues: ConfigIssue[]): void {
  if (typeof wanted === 'string') {
    if (!wanted.trim()) issues.push({ path, message: 'must be a tag slug or name, got an empty string' })
    return
  }
  if (!Array.isArray(wanted)) {
    issues.push({ path, message: `must be a tag slug or name, or a list of them; got ${show(wanted)}` })
    return
  }
  if (wanted.length === 0) issues.push({ path, message: 'must list at least one tag (an empty list never matches)' })
  wanted.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || !name.trim()) {
      issues.push({ path: `${path}[${i}]`, message: `must be a tag slug or name, got ${show(name)}` })
    }
  })
}

function tagsOf(ctx: TemplateContext): unknown {
  return Object.hasOwn(ctx, 'tags') ? ctx.tags : undefined
}

function ownString(value: unknown, key: string): string | undefined {
  if (!isPlainObject(value) || !Object.hasOwn(value, key)) return undefined
  const field = value[key]
  return typeof field === 'string' ? field : undefined
}
