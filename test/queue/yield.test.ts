import { afterEach, describe, expect, it } from 'vitest'
import { type Admission, admitWork, createAdmissionControl } from '../../src/queue/yield.js'

/** A window of the control: `started` pieces of work, deliveries or not, the loop `late` ms late at worst. */
function window(control: ReturnType<typeof createAdmissionControl>, { started = 0, delivered = true, late = 0 } = {}) {
  control.started(started)
  if (delivered) control.delivered()
  control.endWindow(late)
  return control.allowance()
}

describe('admission control (acknowledgements first)', () => {
  const slow = { late: 30 }

  it('lets everything start while no delivery arrives, however late the loop', () => {
    const c = createAdmissionControl()
    for (let i = 0; i < 3; i++) expect(window(c, { started: 500, delivered: false, ...slow })).toBe(Number.POSITIVE_INFINITY)
  })

  it('is not held back by one slow window (a GC pause, one long step)', () => {
    const c = createAdmissionControl()
    expect(window(c, { started: 40, ...slow })).toBe(Number.POSITIVE_INFINITY)
    expect(window(c, { started: 40 })).toBe(Number.POSITIVE_INFINITY)
    expect(window(c, { started: 40, ...slow })).toBe(Number.POSITIVE_INFINITY)
  })

  it('while deliveries arrive and the loop stays late, halves the last window’s starts; never under `min`', () => {
    const c = createAdmissionControl({ min: 2 })
    window(c, { started: 40, ...slow })
    expect(window(c, { started: 40, ...slow })).toBe(20)
    c.started(20)
    expect(c.allowance()).toBe(0)
    expect(window(c, slow)).toBe(10)
    expect(window(c, { started: 3, ...slow })).toBe(2)
    expect(window(c, slow)).toBe(2)
  })

  it('holds after one late window, grows by a quarter while the loop keeps up, and lifts the limit above demand', () => {
    const c = createAdmissionControl({ min: 2 })
    window(c, { started: 40, ...slow })
    expect(window(c, { started: 40, ...slow })).toBe(20)
    expect(window(c, { started: 20, late: 1 })).toBe(26)
    // One late window among good ones: held, not halved.
    expect(window(c, { started: 26, ...slow })).toBe(26)
    expect(window(c, { started: 26, late: 3 })).toBe(26)
    expect(window(c, { started: 20, late: 1 })).toBe(34)
    expect(window(c, { started: 34, late: 1 })).toBe(44)
    // 44 × 1.25 + 1 = 56, over twice the 10 asked for: no limit.
    expect(window(c, { started: 10, late: 1 })).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('admitWork on a real event loop', () => {
  const opened: Admission[] = []
  afterEach(() => {
    for (const a of opened.splice(0)) a.stop()
  })

  /** Keeps the event loop from coming round for `ms`, as a long step would. */
  function block(ms: number): void {
    const end = performance.now() + ms
    while (performance.now() < end) {}
  }

  it('limits the starts once deliveries arrive and the loop stays held up, and lifts the limit when they stop', async () => {
    const a = admitWork({ every: 40 })
    opened.push(a)
    await a.next()
    for (let i = 0; i < 3; i++) {
      a.started(40)
      a.delivered()
      block(30)
      await a.next()
    }
    expect(a.allowance()).toBeLessThan(40)
    // No more deliveries: everything may start again.
    await a.next()
    expect(a.allowance()).toBe(Number.POSITIVE_INFINITY)
  })

  it('stop wakes whoever waits for the next window, and later waits end at once', async () => {
    const a = admitWork()
    opened.push(a)
    const waiting = a.next()
    a.stop()
    await expect(waiting).resolves.toBeUndefined()
    await expect(a.next()).resolves.toBeUndefined()
  })
})
