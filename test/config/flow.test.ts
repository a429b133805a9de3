import { describe, expect, it } from 'vitest'
import { resolveDebounce, resolveOnce, resolveRetry } from '../../src/config/flow.js'

describe('flow options in ms', () => {
  const base = { attempts: 5, delay: 2000, factor: 2, maxDelay: 900_000 }

  it('lays a step retry over the queue default', () => {
    expect(resolveRetry(undefined, base)).toEqual(base)
    expect(resolveRetry({ attempts: 2, delay: '500ms' }, base)).toEqual({ attempts: 2, delay: 500, factor: 2, maxDelay: 900_000 })
    expect(resolveRetry({ maxDelay: '1h', factor: 3 }, base)).toEqual({ attempts: 5, delay: 2000, factor: 3, maxDelay: 3_600_000 })
  })

  it('gives once a key (default {{id}}) and a window when set', () => {
    expect(resolveOnce(undefined)).toBeUndefined()
    expect(resolveOnce(false)).toBeUndefined()
    expect(resolveOnce(true)).toEqual({ key: '{{id}}' })
    expect(resolveOnce('{{creator}}')).toEqual({ key: '{{creator}}' })
    expect(resolveOnce({ window: '30d' })).toEqual({ key: '{{id}}', window: 30 * 86_400_000 })
    expect(resolveOnce({ key: 'k' })).toEqual({ key: 'k' })
  })

  it('gives debounce a wait, and a key and maxWait only when set', () => {
    expect(resolveDebounce(undefined)).toBeUndefined()
    expect(resolveDebounce('2m')).toEqual({ wait: 120_000 })
    expect(resolveDebounce(1500)).toEqual({ wait: 1500 })
    expect(resolveDebounce({ wait: '30s', key: '{{id}}', maxWait: '5m' })).toEqual({ wait: 30_000, key: '{{id}}', maxWait: 300_000 })
  })
})
