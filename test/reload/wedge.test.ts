/**
 * A config save cannot wedge the runner: a top-level await that never
 * settles, or an endless loop, is refused after 10 s with a message saying
 * so, deliveries go on meanwhile, the next save applies, and SIGTERM ends
 * the process within its grace while such a check is pending.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type ChildRunner, startChild } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'
import { deliver, inFolder, limit, reloadLine } from './helpers.js'

const [A, B] = ['wedge-key-aaaaaaaaaa', 'wedge-key-bbbbbbbbbb']
const children: ChildRunner[] = []

afterAll(async () => {
  for (const c of children.splice(0)) {
    c.proc.kill('SIGKILL')
    await c.exited
  }
})

const config = (key: string, top = '') => `${top}\nexport default { auth: { keys: [${JSON.stringify(key)}] }, recipes: [] }\n`

/** Two runners at once: each test waits 10 s or more, and the machine has two cores. */
const slots = limit(2)

async function start(): Promise<{ dir: string; child: ChildRunner }> {
  const dir = tempDir('ar-wedge-')
  writeFileSync(join(dir, 'audiorista.config.ts'), config(A))
  const child = await startChild(dir)
  children.push(child)
  return { dir, child }
}

/** Delivers every 250 ms until `done` settles; resolves with the statuses and the slowest answer (ms). */
async function deliverWhile(child: ChildRunner, done: Promise<unknown>): Promise<{ statuses: number[]; slowest: number }> {
  let over = false
  void done.finally(() => (over = true))
  const statuses: number[] = []
  let slowest = 0
  while (!over) {
    const t = performance.now()
    statuses.push(await deliver(child, A))
    slowest = Math.max(slowest, performance.now() - t)
    await new Promise((r) => setTimeout(r, 250))
  }
  return { statuses, slowest }
}

const REFUSED =
  /^config reload refused: loading audiorista\.config\.ts did not finish within 10 s \(a top-level await that never settles, or an endless loop\?\); the last good config keeps running$/

describe.concurrent('a config that never finishes loading is refused, and the runner goes on', () => {
  it.each([
    ['a top-level await that never settles', 'await new Promise(() => {})'],
    ['an endless loop', 'for (;;) {}'],
  ])(
    '%s: refused after 10 s, deliveries answered meanwhile, the fixed file then applies',
    (_name, top) =>
      slots(async () => {
        const { dir, child } = await start()
        const started = Date.now()
        writeFileSync(join(dir, 'audiorista.config.ts'), config(A, top))
        const refusal = reloadLine(child, 1, 30_000)
        const during = await deliverWhile(child, refusal)
        const line = await refusal
        expect(line).toMatchObject({ level: 50, trigger: 'audiorista.config.ts' })
        expect(String(line.msg)).toMatch(REFUSED)
        expect(Date.now() - started).toBeGreaterThanOrEqual(10_000)
        expect(during.statuses.length).toBeGreaterThan(5)
        expect(new Set(during.statuses)).toEqual(new Set([202]))
        // Nothing froze for the length of the hang (a wide margin: on a quiet machine the slowest is tens of ms).
        expect(during.slowest).toBeLessThan(10_000)

        writeFileSync(join(dir, 'audiorista.config.ts'), config(B))
        expect(await reloadLine(child, 2)).toMatchObject({ msg: 'config reloaded: recipes: +0 ~0 -0; keys: rotated' })
        expect(await deliver(child, A)).toBe(401)
        expect(await deliver(child, B)).toBe(202)
      }),
    90_000,
  )

  it(
    'refuses a config that loads in the check but never settles in the runner (the limit there too)',
    () =>
      slots(async () => {
        const { dir, child } = await start()
        // Only the runner's own process has `start` on its command line.
        writeFileSync(join(dir, 'audiorista.config.ts'), config(B, "if (process.argv.includes('start')) await new Promise(() => {})"))
        const line = await reloadLine(child, 1, 40_000)
        expect(String(line.msg)).toMatch(REFUSED)
        expect(await deliver(child, A)).toBe(202)
        expect(await deliver(child, B)).toBe(401)
        writeFileSync(join(dir, 'audiorista.config.ts'), config(B))
        expect(await reloadLine(child, 2)).toMatchObject({ msg: 'config reloaded: recipes: +0 ~0 -0; keys: rotated' })
        expect(await deliver(child, B)).toBe(202)
      }),
    90_000,
  )

  it(
    'SIGTERM while a check is pending exits 0 at once and leaves no check behind',
    () =>
      slots(async () => {
        const { dir, child } = await start()
        writeFileSync(join(dir, 'audiorista.config.ts'), config(A, 'await new Promise(() => {})'))
        // The check has started: a process other than the runner works in the project folder.
        await waitFor(() => inFolder(dir).some((pid) => pid !== child.proc.pid))
        const t = Date.now()
        child.proc.kill('SIGTERM')
        expect(await child.exited).toBe(0)
        expect(Date.now() - t).toBeLessThan(5_000)
        await waitFor(() => inFolder(dir).length === 0)
      }),
    90_000,
  )
})

async function waitFor(probe: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!probe()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 50))
  }
}
