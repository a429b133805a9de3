/**
 * "Did you mean …?" for unknown option names: the closest known name within
 * a small edit distance, or a known synonym (`steps` → `do`).
 */
export function suggest(name: string, known: readonly string[], synonyms: Record<string, string> = {}): string | undefined {
  const lower = name.toLowerCase()
  const synonym = synonyms[lower]
  if (synonym) return synonym
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const d = distance(lower, candidate.toLowerCase())
    if (d < bestDistance) [best, bestDistance] = [candidate, d]
  }
  // Short names are one typo away from everything; allow fewer edits there.
  const allowed = lower.length <= 4 ? 1 : 2
  return bestDistance <= allowed ? best : undefined
}

/** Optimal string alignment distance: a swap of two letters counts as one edit. */
function distance(a: string, b: string): number {
  const rows: number[][] = []
  for (let i = 0; i <= a.length; i++) rows.push([i])
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i]!
    const prev = rows[i - 1]!
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      row[j] = d
    }
  }
  return rows[a.length]![b.length]!
}
