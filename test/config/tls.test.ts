import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config/resolve.js'
import { applicable, compareConfigs, describeChange } from '../../src/reload/compare.js'
import { selfSigned } from '../helpers/certificates.js'
import { tempDir } from '../helpers/runner.js'
import { configProblems } from '../helpers/config-problems.js'

let dir: string
let one: { cert: string; key: string }
let two: { cert: string; key: string }

beforeAll(() => {
  dir = tempDir('ar-tls-')
  one = selfSigned(dir, 'one')
  two = selfSigned(dir, 'two')
})

const resolve = (tls: unknown) => resolveConfig({ server: { tls } }, { rootDir: dir, env: {} })

const problems = (tls: unknown) => configProblems({ server: { tls } }, { rootDir: dir })

/** The base64 body of a PEM file: what must never be in a message. */
const body = (file: string) => readFileSync(file, 'utf8').split('\n')[1]!

describe('server.tls', () => {
  it('reads both files, relative to the config folder, and keeps their text', () => {
    const tls = resolve({ cert: 'one.crt', key: './one.key' }).server.tls
    expect(tls).toEqual({ certFile: one.cert, keyFile: one.key, cert: readFileSync(one.cert, 'utf8'), key: readFileSync(one.key, 'utf8') })
    expect(resolve(undefined).server.tls).toBeUndefined()
  })

  it('names the file that is missing, unreadable, a folder, or not PEM of its kind', () => {
    mkdirSync(join(dir, 'folder'), { recursive: true })
    writeFileSync(join(dir, 'empty.pem'), '')
    expect(problems({ cert: 'missing.crt', key: 'folder' })).toEqual([
      `server.tls.cert: cannot read ${join(dir, 'missing.crt')}: no such file`,
      `server.tls.key: cannot read ${join(dir, 'folder')}: it is a folder, not a file`,
    ])
    expect(problems({ cert: 'empty.pem', key: one.cert })).toEqual([
      `server.tls.cert: ${join(dir, 'empty.pem')} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`,
      `server.tls.key: ${one.cert} is not a PEM private key (it holds a certificate: are cert and key swapped?)`,
    ])
    expect(problems({ cert: 'one.key', key: 'one.crt' })[0]).toBe(
      `server.tls.cert: ${one.key} is not a PEM certificate (it holds a private key: are cert and key swapped?)`,
    )
    expect(problems({ cert: 'one.crt' })).toEqual(['server.tls.key: required'])
    expect(problems('one.crt')).toEqual(['server.tls: must be an object ({ cert, key }: paths of PEM files)'])
  })

  it('refuses a key that is not the certificate’s, or is encrypted, and never quotes the key', () => {
    expect(problems({ cert: one.cert, key: two.key })).toEqual([
      `server.tls.key: ${two.key} is not the key of the certificate in ${one.cert}`,
    ])
    const encrypted = join(dir, 'encrypted.key')
    writeFileSync(encrypted, '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n')
    expect(problems({ cert: one.cert, key: encrypted })).toEqual([
      `server.tls.key: ${encrypted} is encrypted; give the runner an unencrypted key (openssl pkey -in encrypted.pem -out key.pem)`,
    ])
    const broken = join(dir, 'broken.key')
    writeFileSync(broken, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')
    const [message] = problems({ cert: one.cert, key: broken })
    expect(message).toMatch(new RegExp(`^server\\.tls\\.key: ${broken} is not a valid PEM private key: error:`))
    const all = JSON.stringify([problems({ cert: one.cert, key: two.key }), problems({ cert: two.key, key: one.key })])
    expect(all).not.toContain(body(two.key))
    expect(all).not.toContain(body(one.key))
  })
})

describe('server.tls on reload', () => {
  const config = (tls?: { cert: string; key: string }) => resolveConfig({ server: tls ? { tls } : {} }, { rootDir: dir, env: {} })

  it('applies other files, or the same files rewritten, at once', () => {
    expect(compareConfigs(config(one), config(one)).applied).toEqual([])
    const change = compareConfigs(config(one), config(two))
    expect(change).toMatchObject({ applied: ['server.tls'], restart: [] })
    expect(applicable(config(one), config(two)).server.tls?.certFile).toBe(two.cert)
    const renewed = tempDir('ar-tls-renew-')
    const files = selfSigned(renewed, 'live')
    const before = config(files)
    selfSigned(renewed, 'live')
    expect(compareConfigs(before, config(files)).applied).toEqual(['server.tls'])
  })

  it('needs a restart to turn it on or off, and keeps what runs until then', () => {
    expect(describeChange(compareConfigs(config(), config(one)))).toBe(
      'recipes: +0 ~0 -0; keys: unchanged; needs a restart (not applied): server.tls',
    )
    expect(applicable(config(), config(one)).server.tls).toBeUndefined()
    expect(compareConfigs(config(one), config()).restart).toEqual(['server.tls'])
    expect(applicable(config(one), config()).server.tls?.certFile).toBe(one.cert)
  })
})
