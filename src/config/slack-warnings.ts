/**
 * `check` warnings about Slack links whose URL a payload picks:
 * `<{{share.url}}|Listen>` links to whatever the value says (`javascript:`, a
 * lookalike host). Escaping keeps the value inside the link, not the link
 * safe; `{{safeUrl …}}` or the config's own `https://host/` in front does.
 */
import type { ConfigIssue } from '../errors.js'
import { isPlainObject } from '../match/values.js'

/** The first expression a link's URL starts with, when it is not `safeUrl`. */
function rawLinkUrl(link: string): string | undefined {
  const url = link.split('|', 1)[0]!.trim()
  if (!url.startsWith('{{')) return undefined
  const end = url.startsWith('{{{') ? '}}}' : '}}'
  const close = url.indexOf(end)
  const expression = url.slice(0, close === -1 ? url.length : close + end.length)
  return /^\{\{~?\s*safeUrl\s/.test(expression) ? undefined : expression
}

/** Every `<…>` of a template whose URL starts with a raw value. One pass. */
function rawLinks(text: string): string[] {
  const found: string[] = []
  let open = text.indexOf('<')
  while (open !== -1) {
    const close = text.indexOf('>', open + 1)
    if (close === -1) break
    const expression = rawLinkUrl(text.slice(open + 1, close))
    if (expression) found.push(expression)
    open = text.indexOf('<', close + 1)
  }
  return found
}

function walk(value: unknown, path: string, out: ConfigIssue[]): void {
  if (typeof value === 'string') {
    for (const expression of rawLinks(value)) {
      out.push({
        path,
        message:
          `a Slack link takes its URL from ${expression}, so a payload picks where it goes (javascript:, any host); ` +
          `use <{{safeUrl …}}|…> or start the link with your own https://host/`,
      })
    }
  } else if (Array.isArray(value)) for (const [i, item] of value.entries()) walk(item, `${path}[${i}]`, out)
  else if (isPlainObject(value)) for (const [key, child] of Object.entries(value)) walk(child, `${path}.${key}`, out)
}

/** Warnings for each Slack step's `text` and `blocks`. */
export function slackLinkWarnings(recipes: readonly unknown[]): ConfigIssue[] {
  const warnings: ConfigIssue[] = []
  for (const [i, recipe] of recipes.entries()) {
    if (!isPlainObject(recipe) || !Array.isArray(recipe.do)) continue
    for (const [j, step] of recipe.do.entries()) {
      if (!isPlainObject(step) || step.action !== 'slack' || !isPlainObject(step.with)) continue
      const at = `recipes[${i}].do[${j}].with`
      walk(step.with.text, `${at}.text`, warnings)
      walk(step.with.blocks, `${at}.blocks`, warnings)
    }
  }
  return warnings
}
