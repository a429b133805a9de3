import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startChild, writeConfig } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'

const body = readFileSync(new URL('../fixtures/title-ready.json', import.meta.url), 'utf8')

describe('durability: kill -9 right after the 202', () => {
  it('keeps the delivery: after a restart on the same store, the same delivery is a duplicate with the first id', async () => {
    const dir = tempDir()
    writeConfig(dir, { auth: { keys: ['crash-test-key'] }, store: { path: join(dir, 'runner.db') } })
    const post = (url: string) =>
      fetch(`${url}/webhooks/title-ready`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-audiorista-key': 'crash-test-key' },
        body,
      })

    const first = await startChild(dir)
    const res = await post(first.url)
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as { id: string }
    first.proc.kill('SIGKILL')
    expect(await first.exited).toBeNull()

    const second = await startChild(dir)
    try {
      const again = await post(second.url)
      expect(again.status).toBe(200)
      expect(await again.json()).toEqual({ accepted: true, duplicate: true, id })
    } finally {
      second.proc.kill('SIGKILL')
      await second.exited
    }
  })

  it('starts in a fresh folder with a configured key and the default store path', async () => {
    const dir = tempDir()
    writeConfig(dir, { auth: { keys: ['configured-key'] } })
    const child = await startChild(dir)
    try {
      const res = await fetch(`${child.url}/webhooks/title-ready`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-audiorista-key': 'configured-key' },
        body,
      })
      expect(res.status).toBe(202)
    } finally {
      child.proc.kill('SIGKILL')
      await child.exited
    }
  })
})
