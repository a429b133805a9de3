import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Backend } from '../../src/store/backend.js'
import { createSqliteBackend } from '../../src/store/sqlite.js'
import { describeBackendConformance } from '../../src/testing/backend-conformance.js'

const opened: Backend[] = []
const folders: string[] = []
const paths = new Map<Backend, string>()

// Awaited: whether the factory opens synchronously is the backend's business.
const open = async (path: string, lease: number): Promise<Backend> => {
  const backend: Backend = await createSqliteBackend({ path, lease })
  opened.push(backend)
  paths.set(backend, path)
  return backend
}

describeBackendConformance('sqlite', {
  async create({ lease }) {
    const folder = mkdtempSync(join(tmpdir(), 'audiorista-backend-'))
    folders.push(folder)
    return open(join(folder, 'store.db'), lease)
  },
  // No peer: one process per SQLite file. Closing forgets the leases, which live in memory only, as a killed process would.
  async reopen(of, { lease }) {
    const path = paths.get(of)
    if (!path) throw new Error('reopen of a backend this factory did not open')
    await of.close()
    return open(path, lease)
  },
  async cleanup() {
    for (const backend of opened.splice(0)) await backend.close().catch(() => {})
    paths.clear()
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
  },
})
