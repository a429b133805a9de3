import { describe, expect, it } from 'vitest'
import { createLocalSchedule } from '../../src/store/local-schedule.js'
import { startTestRunner } from '../helpers/runner.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

describe('local schedule (the SQLite backend schedule in memory)', () => {
  it('hands out work in due order; a moved item follows its new time, a removed one never comes', () => {
    const s = createLocalSchedule()
    const now = Date.now()
    for (const [id, at] of [
      ['c', 60],
      ['a', 20],
      ['b', 40],
      ['gone', 30],
      ['moved', 10],
    ] as const)
      s.put('step', id, now + at)
    s.put('step', 'moved', now + 80)
    s.remove('gone')
    expect(s.stats(now).scheduled).toBe(4)
    expect(s.take('w', 10, 1000, now + 50).map((w) => w.id)).toEqual(['a', 'b'])
    expect(s.take('w', 10, 1000, now + 100).map((w) => w.id)).toEqual(['c', 'moved'])
  })

  it('a lease keeps work from others until it runs out; extend keeps it, release gives it back', () => {
    const s = createLocalSchedule()
    const now = Date.now()
    s.put('match', 'e1', now)
    const [w] = s.take('a', 1, 100, now)
    expect(w).toMatchObject({ kind: 'match', id: 'e1' })
    expect(s.take('b', 1, 100, now + 50)).toEqual([])
    expect(s.extend([w!], 100, now + 90)).toEqual([])
    expect(s.take('b', 1, 100, now + 150)).toEqual([])
    const [taken] = s.take('b', 1, 100, now + 200)
    expect(taken?.id).toBe('e1')
    // A's lease is gone: extending it says so.
    expect(s.extend([w!], 100, now + 200)).toEqual([w])
    s.release([taken!])
    expect(s.take('c', 1, 100).map((x) => x.id)).toEqual(['e1'])
  })

  it('a waiting take wakes when work is put, with one timer however much is scheduled', async () => {
    const s = createLocalSchedule()
    const before = activeTimers()
    for (let i = 0; i < 5000; i++) s.put('step', `r${i}`, Date.now() + 3_600_000)
    const waiting = s.wait(5_000)
    expect(activeTimers() - before).toBe(1)
    const started = Date.now()
    setTimeout(() => s.put('step', 'now', Date.now()), 30)
    await waiting
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(s.take('w', 10, 1000).map((w) => w.id)).toEqual(['now'])
  })

  it('holds thousands of debounced runs of a real runner with one timer, not one each', { timeout: 60_000 }, async () => {
    const t = await startTestRunner({
      auth: { allowUnauthenticated: true },
      recipes: [{ name: 'sync', on: 'title-updated', debounce: '1h', do: [{ action: 'log', with: { message: '{{id}}' } }] }],
    })
    try {
      const before = activeTimers()
      const titles = 2000
      for (let i = 0; i < titles; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => t.post('title-updated', { id: `t${i + j}`, name: `Title ${i + j}` })))
      }
      const waiting = async () => {
        const { scheduled, due, leased } = await t.runner.store.stats()
        return scheduled - due - leased
      }
      for (let i = 0; i < 200 && (await waiting()) < titles; i++) await sleep(50)
      expect(await waiting()).toBe(titles)
      // The server's own timers (keep-alive, header checks) come and go; a timer per run would add 2,000.
      expect(activeTimers() - before).toBeLessThan(20)
    } finally {
      await t.close()
    }
  })
})
