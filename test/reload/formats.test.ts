/**
 * A key rotated in every config format the loader accepts, through the
 * watcher and through SIGHUP, on a real `audiorista-runner start`: the old
 * key must get 401 and the new one 202 each time. Module configs take their
 * keys from a helper file of their own (`recipes/keys.*`), so an edit there
 * must reach the runner too (Node keeps ES modules it has evaluated).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type ChildRunner, startChild } from '../helpers/child.js'
import { tempDir } from '../helpers/runner.js'
import { deliver, inFolder, limit, logLines, reloadLine } from './helpers.js'

const [A, B, C] = ['format-key-aaaaaaaaaa', 'format-key-bbbbbbbbbb', 'format-key-cccccccccc']
const children: ChildRunner[] = []

afterAll(async () => {
  for (const c of children.splice(0)) {
    c.proc.kill('SIGKILL')
    await c.exited
  }
})

interface Format {
  /** The config file's name. */
  file: string
  /** Writes the config (and its helper); later calls write only what holds the keys. */
  write(dir: string, key: string, first: boolean): void
  /** The file a rotation edits, for the watcher's `trigger`. */
  edited: string
  /** `--config`, for a name the search does not look for. */
  args?: string[]
}

const esm = (helper: string) => `import { keys } from './recipes/${helper}'\nexport default { auth: { keys }, recipes: [] }\n`
const cjs = (helper: string) => `const { keys } = require('./recipes/${helper}')\nmodule.exports = { auth: { keys }, recipes: [] }\n`

/** A module config that imports its keys from `recipes/keys.<ext>`. */
function moduleFormat(
  file: string,
  ext: string,
  { commonjs = false, packageType }: { commonjs?: boolean; packageType?: string } = {},
): Format {
  const helper = `keys.${ext}`
  return {
    file,
    edited: `recipes/${helper}`,
    write(dir, key, first) {
      if (first) {
        mkdirSync(join(dir, 'recipes'), { recursive: true })
        if (packageType) writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: packageType }))
        writeFileSync(join(dir, file), commonjs ? cjs(helper) : esm(helper))
      }
      const keys = JSON.stringify([key])
      writeFileSync(join(dir, 'recipes', helper), commonjs ? `module.exports = { keys: ${keys} }\n` : `export const keys = ${keys}\n`)
    },
  }
}

/** A JSON or YAML config (the YAML is written as JSON, which YAML reads); `package.json` holds it under `audiorista`. */
function dataFormat(file: string): Format {
  return {
    file,
    edited: file,
    write(dir, key) {
      const config = { auth: { keys: [key] }, recipes: [] }
      writeFileSync(join(dir, file), JSON.stringify(file === 'package.json' ? { name: 'x', audiorista: config } : config))
    },
  }
}

const FORMATS: Array<[string, Format]> = [
  ['.ts', moduleFormat('audiorista.config.ts', 'ts')],
  ['.mts', moduleFormat('audiorista.config.mts', 'mts')],
  ['.cts', { ...moduleFormat('audiorista.config.cts', 'cts'), args: ['--config', 'audiorista.config.cts'] }],
  ['.js', moduleFormat('audiorista.config.js', 'js')],
  ['.js in a "type": "module" package', moduleFormat('audiorista.config.js', 'js', { packageType: 'module' })],
  ['.mjs', moduleFormat('audiorista.config.mjs', 'mjs')],
  ['.cjs', moduleFormat('audiorista.config.cjs', 'cjs', { commonjs: true })],
  ['.json', dataFormat('audiorista.config.json')],
  ['.yaml', dataFormat('audiorista.config.yaml')],
  ['.yml', dataFormat('audiorista.config.yml')],
  ['.audioristarc', dataFormat('.audioristarc')],
  ['.audioristarc.json', dataFormat('.audioristarc.json')],
  ['.audioristarc.yaml', dataFormat('.audioristarc.yaml')],
  ['.audioristarc.yml', dataFormat('.audioristarc.yml')],
  ['.audioristarc.js', moduleFormat('.audioristarc.js', 'js')],
  ['.audioristarc.mjs', moduleFormat('.audioristarc.mjs', 'mjs')],
  ['.audioristarc.cjs', moduleFormat('.audioristarc.cjs', 'cjs', { commonjs: true })],
  ['.audioristarc.ts', moduleFormat('.audioristarc.ts', 'ts')],
  ['package.json#audiorista', dataFormat('package.json')],
]

/** At most this many runners at once: the machine has two cores. */
const slots = limit(3)

describe.concurrent('a key rotated in every config format: the old key gets 401, the new one 202', () => {
  it.each(FORMATS)(
    '%s, through the watcher and through SIGHUP',
    async (_name, format) => {
      await slots(async () => {
        const dir = tempDir('ar-format-')
        format.write(dir, A, true)
        const child = await startChild(dir, { args: format.args ?? [] })
        children.push(child)
        expect(await deliver(child, A)).toBe(202)
        expect(await deliver(child, B)).toBe(401)

        format.write(dir, B, false)
        const watched = await reloadLine(child, 1)
        expect(watched).toMatchObject({ trigger: format.edited, msg: 'config reloaded: recipes: +0 ~0 -0; keys: rotated' })
        expect(await deliver(child, A)).toBe(401)
        expect(await deliver(child, B)).toBe(202)

        // Once the watcher is quiet, SIGHUP right after the write: its reload starts before the watcher's
        // (which waits for 150 ms of quiet), so it is the one that rotates.
        const before = await quiet(child, dir)
        format.write(dir, C, false)
        child.proc.kill('SIGHUP')
        const hup = await reloadLine(child, before + 1)
        expect(hup).toMatchObject({ trigger: 'SIGHUP', msg: 'config reloaded: recipes: +0 ~0 -0; keys: rotated' })
        expect(await deliver(child, B)).toBe(401)
        expect(await deliver(child, C)).toBe(202)
        child.proc.kill('SIGKILL')
      })
    },
    90_000,
  )
})

/**
 * Resolves with the number of reloads logged, once none has been for 600 ms and no reload's check
 * (a process working in `dir` beside the runner) is running.
 */
async function quiet(child: ChildRunner, dir: string): Promise<number> {
  const count = () => logLines(child).filter((l) => String(l.msg).startsWith('config reload')).length
  for (let seen = count(); ; ) {
    await new Promise((r) => setTimeout(r, 600))
    const checking = inFolder(dir).some((pid) => pid !== child.proc.pid)
    if (!checking && count() === seen) return seen
    seen = count()
  }
}
