import { describe, expect, it } from 'vitest'
import { createTimerQueue } from '../../src/queue/timer-queue.js'
import { startTestRunner } from '../helpers/runner.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

describe('timer queue', () => {
  it('runs work in due order behind one timer; a key set again moves, a deleted one never runs', async () => {
    const q = createTimerQueue()
    const ran: string[] = []
    const before = activeTimers()
    const now = Date.now()
    for (const [key, at] of [
      ['c', 60],
      ['a', 20],
      ['b', 40],
      ['gone', 30],
      ['moved', 10],
    ] as const)
      q.set(key, now + at, () => ran.push(key))
    q.set('moved', now + 80, () => ran.push('moved'))
    q.delete('gone')
    expect(activeTimers() - before).toBe(1)
    expect(q.size).toBe(4)
    await sleep(150)
    expect(ran).toEqual(['a', 'b', 'c', 'moved'])
    expect(q.size).toBe(0)
    expect(activeTimers()).toBeLessThanOrEqual(before)
  })

  it('clear forgets everything', async () => {
    const q = createTimerQueue()
    const ran: string[] = []
    q.set('x', Date.now() + 10, () => ran.push('x'))
    q.clear()
    await sleep(40)
    expect(ran).toEqual([])
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
      const waiting = async () => t.runner.engine.stats().waiting
      for (let i = 0; i < 200 && (await waiting()) < titles; i++) await sleep(50)
      expect(await waiting()).toBe(titles)
      // The server's own timers (keep-alive, header checks) come and go; a timer per run would add 2,000.
      expect(activeTimers() - before).toBeLessThan(20)
    } finally {
      await t.close()
    }
  })
})
