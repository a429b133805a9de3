import { randomFillSync } from 'node:crypto'

/** Crockford's base32, as ULIDs use it: sortable as text. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const RANDOM_CHARS = 16

// Random bytes are drawn 4 KB at a time: one call into the OS per 256 ids, not one per id.
const pool = Buffer.alloc(4096)
let poolAt = pool.length
function randomChars(into: number[]): void {
  if (poolAt + RANDOM_CHARS > pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  for (let i = 0; i < RANDOM_CHARS; i++) into[i] = pool[poolAt++]! & 31
}

let lastMs = -1
let lastTime = ''
const random: number[] = new Array(RANDOM_CHARS).fill(0)

/**
 * A ULID (26 characters: 48 bits of milliseconds, 80 random bits), monotonic
 * within this process: ids made in the same millisecond count up from a
 * random start, so they sort in the order they were made.
 */
export function ulid(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now
    let t = now
    let time = ''
    for (let i = 0; i < 10; i++) {
      time = ALPHABET[t % 32] + time
      t = Math.floor(t / 32)
    }
    lastTime = time
    randomChars(random)
  } else {
    // Same millisecond (or the clock went back): the random part counts up by one.
    let i = RANDOM_CHARS - 1
    while (i >= 0 && random[i] === 31) random[i--] = 0
    if (i < 0) throw new Error('more than 2^80 ids in one millisecond')
    random[i]!++
  }
  let out = lastTime
  for (let i = 0; i < RANDOM_CHARS; i++) out += ALPHABET[random[i]!]
  return out
}

/** Sortable, unique ids: `evt_01J…`, `run_01J…`. Time-ordered, so listings sort by id. */
export function newId(prefix: 'evt' | 'run'): string {
  return `${prefix}_${ulid()}`
}
