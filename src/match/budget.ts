/**
 * A bound on the condition work one delivery can cause, across every array
 * element and every recipe's `when`: a payload value is data, never unbounded
 * work. Each recipe's evaluation draws from the delivery's budget; when what it
 * needs is no longer there, its condition does not hold (judge in condition.ts
 * says so, and the engine logs a warning naming the recipe).
 */

/**
 * The limits, sized so that the most expensive delivery stays far under 100 ms
 * of event-loop time (measured in test/reliability/worst-case-conditions.test.ts):
 * RE2 reads a character in up to ~0.1 µs; the other work is native and cheaper.
 */
export const CONDITION_LIMITS = {
  /** Characters fed to `matches`, all values and recipes together. */
  regexChars: 128 * 1024,
  /** Characters scanned natively: `contains` on strings, the `tag` sugar's case folding. */
  scanChars: 4 * 1024 * 1024,
  /** Values visited: path walking, array elements, object keys, candidates tested. */
  visits: 100_000,
} as const

export type BudgetKind = keyof typeof CONDITION_LIMITS

export type Budget = Record<BudgetKind, number>

const WHAT: Readonly<Record<BudgetKind, string>> = {
  regexChars: 'characters tested by matches',
  scanChars: 'characters scanned',
  visits: 'values visited',
}

/** A fresh budget for one delivery (or one step's `if`). */
export function conditionBudget(): Budget {
  return { ...CONDITION_LIMITS }
}

/** For callers with no payload to bound (config-time checks on literal values); charging it leaves it unlimited. */
export const UNLIMITED: Budget = {
  regexChars: Number.POSITIVE_INFINITY,
  scanChars: Number.POSITIVE_INFINITY,
  visits: Number.POSITIVE_INFINITY,
}

/** Thrown by `charge`; caught by judge, which turns it into "does not hold". Nothing else sees it. */
export class BudgetExhausted extends Error {
  /** The config path of the entry that needed more: set by the innermost entry that sees it pass. */
  path?: string
  constructor(readonly kind: BudgetKind) {
    super(`the condition budget of one delivery ran out (${grouped(CONDITION_LIMITS[kind])} ${WHAT[kind]})`)
  }
}

// Not toLocaleString: its first call loads ICU data, some 80 ms on the event loop.
const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+$)/g, ',')

/** Takes `amount` from the budget, or throws when it is not there (taking nothing, so a later, smaller condition may still fit). */
export function charge(budget: Budget, kind: BudgetKind, amount: number): void {
  if (budget[kind] < amount) throw new BudgetExhausted(kind)
  budget[kind] -= amount
}
