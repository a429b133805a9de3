import { describe, expect, it } from 'vitest'
import { newId, ulid } from '../../src/store/ids.js'

describe('ids', () => {
  it('are ULIDs: 10 characters of milliseconds, 16 random ones, in Crockford base32', () => {
    const at = Date.UTC(2025, 0, 1)
    const id = ulid(at)
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
    const ms = [...id.slice(0, 10)].reduce((n, c) => n * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(c), 0)
    expect(ms).toBe(at)
  })

  it('sort in the order they were made, within a millisecond and across them, and never repeat', () => {
    const ids = Array.from({ length: 20_000 }, () => newId('run'))
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    expect(ids[0]).toMatch(/^run_/)
  })

  it('count up from the last id when the clock goes back', () => {
    const a = ulid(Date.now() + 60_000)
    const b = ulid(Date.now())
    expect(b > a).toBe(true)
  })
})
