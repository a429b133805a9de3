/**
 * JSON.parse of a large body, a slice at a time, following the plan the
 * scanner thread made (slice-plan.ts): no one JSON.parse reads more than
 * `SLICE` characters, and the event loop gets a turn every few
 * milliseconds. The result is what JSON.parse of the whole text gives: the
 * same values, the same key order, the last duplicate key winning, and
 * `__proto__` an own key like any other.
 */
import { collectYoung } from '../queue/reclaim.js'
import { scanLarge } from './body-scanner.js'
import { SLICE, type SlicePlan } from './slice-plan.js'
import { setImmediate as nextTurn } from 'node:timers/promises'

/** Work between two turns of the event loop. */
const TURN_MS = 8

/** A stored body, parsed without holding the event loop: small ones at once, large ones in slices. */
export async function parseBody(text: string): Promise<unknown> {
  if (text.length <= SLICE) return JSON.parse(text)
  const scanned = await scanLarge(text)
  return scanned?.plan ? parseInSlices(text, scanned.plan) : JSON.parse(text)
}

export async function parseInSlices(text: string, plan: SlicePlan): Promise<unknown> {
  let since = performance.now()
  const turn = async () => {
    if (performance.now() - since < TURN_MS) return
    await nextTurn()
    collectYoung()
    since = performance.now()
  }
  const build = async (plan: SlicePlan): Promise<unknown> => {
    const isArray = plan.kind === 'array'
    const out: unknown[] | Record<string, unknown> = isArray ? [] : {}
    for (const part of plan.parts) {
      await turn()
      const slice = text.slice(part.start, part.end)
      if (part.kind === 'child') {
        const value = part.plan ? await build(part.plan) : JSON.parse(slice)
        if (isArray) (out as unknown[]).push(value)
        else setOwn(out as Record<string, unknown>, part.key ?? '', value)
      } else if (isArray) {
        for (const value of JSON.parse(`[${slice}]`) as unknown[]) (out as unknown[]).push(value)
      } else {
        const members = JSON.parse(`{${slice}}`) as Record<string, unknown>
        for (const key of Object.keys(members)) setOwn(out as Record<string, unknown>, key, members[key])
      }
    }
    return out
  }
  return build(plan)
}

/** `target[key] = value`, except that `__proto__` becomes an own key, as JSON.parse makes it. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
  else target[key] = value
}
