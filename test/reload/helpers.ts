/** What the reload tests read from a runner child: its JSON log lines, its reloads, a delivery's status. */
import { readdirSync, readlinkSync } from 'node:fs'
import type { ChildRunner } from '../helpers/child.js'

export const logLines = (child: ChildRunner) =>
  child
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The nth line (1-based) that reports a reload, applied or refused, once it is there. */
export const reloadLine = (child: ChildRunner, n: number, ms?: number) =>
  until(`reload ${n}`, () => logLines(child).filter((l) => String(l.msg).startsWith('config reload'))[n - 1], ms)

/** POSTs a title-ready delivery with `key`; resolves with the status. */
export async function deliver(child: ChildRunner, key: string): Promise<number> {
  const res = await fetch(`${child.url}/webhooks/title-ready`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-audiorista-key': key },
    body: JSON.stringify({ id: Math.random(), name: 'x' }),
  })
  await res.arrayBuffer()
  return res.status
}

/** Runs at most `n` tasks at once (runners started by concurrent tests: the machine has two cores). */
export function limit(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: Array<() => void> = []
  return async (task) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve))
    active++
    try {
      return await task()
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}

/** The pids of processes whose working folder is `dir`. */
export function inFolder(dir: string): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (readlinkSync(`/proc/${name}/cwd`) === dir) pids.push(Number(name))
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids
}
