/**
 * A payload as a collapsible tree (`<details>` per object and array, no
 * script needed), built as plain data for the `json-node` partial, which
 * prints every key and value escaped. A huge payload is cut at `budget`
 * nodes, with "… N more" where it was cut, so one page never holds
 * megabytes of markup.
 */

export interface JsonNode {
  /** The property name or array index it sits under; absent at the root. */
  key?: string
  /** An object or array (with `children`), or a single value (with `text`). */
  container: boolean
  /** `{3 keys}`, `[12 items]`: shown when closed. */
  summary?: string
  children?: JsonNode[]
  /** Children left out (the node budget ran out, or too deep). */
  more?: number
  open?: boolean
  /** The value as JSON (`"text"`, `42`, `true`, `null`). */
  text?: string
  /** `string`, `number`, `boolean` or `null`: a class for its color. */
  kind?: 'string' | 'number' | 'boolean' | 'null'
}

const MAX_DEPTH = 32
/** Values longer than this are cut in the tree (the raw JSON view has them whole). */
const MAX_TEXT = 2_000

export function jsonTree(value: unknown, budget = 2_000): JsonNode {
  let left = budget
  const walk = (v: unknown, depth: number, key?: string): JsonNode => {
    left--
    const base = key === undefined ? {} : { key: key === '' ? '""' : key }
    if (v === null || typeof v !== 'object') return { ...base, container: false, ...scalar(v) }
    const entries: Array<[string, unknown]> = Array.isArray(v) ? v.map((item, i) => [String(i), item]) : Object.entries(v)
    const summary = Array.isArray(v) ? `[${count(entries.length, 'item')}]` : `{${count(entries.length, 'key')}}`
    const children: JsonNode[] = []
    for (const [k, item] of entries) {
      if (left <= 0 || depth >= MAX_DEPTH) break
      children.push(walk(item, depth + 1, k))
    }
    const more = entries.length - children.length
    return { ...base, container: true, summary, children, open: depth < 2, ...(more > 0 ? { more } : {}) }
  }
  return walk(value, 0)
}

function scalar(v: unknown): Pick<JsonNode, 'text' | 'kind'> {
  if (v === null || v === undefined) return { text: 'null', kind: 'null' }
  if (typeof v === 'string') {
    const text = JSON.stringify(v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v)
    return { text, kind: 'string' }
  }
  if (typeof v === 'number') return { text: String(v), kind: 'number' }
  if (typeof v === 'boolean') return { text: String(v), kind: 'boolean' }
  return { text: JSON.stringify(String(v)), kind: 'string' }
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** Pretty JSON for a `<pre>`, cut at `max` characters; a string is shown as it is. */
export function prettyJson(value: unknown, max = 20_000): string | undefined {
  if (value === undefined) return undefined
  const text = typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? String(value))
  return text.length > max ? `${text.slice(0, max)}\n… ${text.length - max} more characters` : text
}
