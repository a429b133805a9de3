/**
 * Redirects and the step's secrets, through a real runner: two loopback
 * servers on different ports are two origins, so a 307 from one to the other
 * is the cross-host redirect an attacker (or a moved API) would send.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createSqliteBackend } from '../../src/store/sqlite.js'
import { startChild, writeConfig } from '../helpers/child.js'
import { createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { startTestRunner, tempDir, type TestRunner } from '../helpers/runner.js'

const headers = { cookie: 'sid=c00kie', 'x-api-key': 'k3y-s3cr3t', 'x-custom-token': 't0ken', authorization: 'Bearer b3arer' }
const secrets = Object.values(headers)

let a: HttpSink | undefined
let b: HttpSink | undefined
let t: TestRunner | undefined
afterEach(async () => {
  await t?.close()
  await Promise.all([a?.close(), b?.close()])
  a = b = t = undefined
})

const body = { name: '{{name}}' }

async function redirectRun(withExtra: Record<string, unknown>, location: (b: HttpSink) => string) {
  a = await createHttpSink()
  b = await createHttpSink()
  const target = location(b)
  a.reply((r) => (r.path === '/hook' ? { status: 307, headers: { location: target } } : { status: 200, body: 'landed on a' }))
  b.reply({ status: 200, body: 'landed on b' })
  t = await startTestRunner({
    auth: { allowUnauthenticated: true },
    recipes: [
      { name: 'rebuild', on: 'title-ready', do: [{ action: 'http', with: { url: `${a.url}/hook`, headers, body, ...withExtra } }] },
    ],
  })
  const [run] = await t.deliver('title-ready', { id: 4211, name: 'Episode 42' })
  return run!
}

describe('http redirects through the runner', () => {
  it('refuses a cross-origin redirect by default: the run is dead, the error names both origins, the other host gets nothing', async () => {
    const run = await redirectRun({}, (b) => `${b.url}/landing?sig=abc`)
    expect(run.state).toBe('dead')
    expect(run.attempt).toBe(1)
    expect(run.error).toContain(`redirected to another origin (307 from ${a!.url} to ${b!.url})`)
    expect(run.error).toContain("followRedirects: 'any'")
    expect(run.error).not.toContain('sig=abc')
    expect(a!.requests).toHaveLength(1)
    expect(b!.requests).toHaveLength(0)
  })

  it("with followRedirects: 'any', follows it with the body but none of the step's headers", async () => {
    const run = await redirectRun({ followRedirects: 'any' }, (b) => `${b.url}/landing`)
    expect(run.state).toBe('done')
    expect(run.result).toEqual({ status: 200, body: 'landed on b' })
    expect(a!.requests[0]!.headers).toMatchObject({ cookie: 'sid=c00kie', 'x-api-key': 'k3y-s3cr3t', authorization: 'Bearer b3arer' })
    const [landed] = b!.requests
    expect(landed).toMatchObject({ method: 'POST', path: '/landing', body: '{"name":"Episode 42"}' })
    expect(Object.keys(landed!.headers).sort()).toEqual(['connection', 'content-length', 'content-type', 'host', 'user-agent'])
    expect(landed!.headers['user-agent']).toBe('audiorista-runner')
    for (const secret of secrets) expect(JSON.stringify(landed!.headers)).not.toContain(secret)
  })

  it('follows a same-origin redirect with its headers and body', async () => {
    const run = await redirectRun({}, () => '/moved')
    expect(run.state).toBe('done')
    expect(run.result).toEqual({ status: 200, body: 'landed on a' })
    expect(a!.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/hook', '{"name":"Episode 42"}'],
      ['POST', '/moved', '{"name":"Episode 42"}'],
    ])
    expect(a!.requests[1]!.headers).toMatchObject({ ...headers, 'idempotency-key': run.id })
  })

  it("with followRedirects: 'none', the 307 is the answer: dead unless expect lists it", async () => {
    const dead = await redirectRun({ followRedirects: 'none' }, (b) => `${b.url}/landing`)
    expect(dead.state).toBe('dead')
    expect(dead.error).toMatch(/answered 307 \(a redirect, not followed with followRedirects: 'none'; list 307 in expect/)
    expect(b!.requests).toHaveLength(0)
    await t!.close()
    await Promise.all([a!.close(), b!.close()])
    t = undefined
    const ok = await redirectRun({ followRedirects: 'none', expect: [307] }, () => '/moved')
    expect(ok.state).toBe('done')
    expect(ok.result).toMatchObject({ status: 307 })
    expect(a!.requests.map((r) => r.path)).toEqual(['/hook'])
  })

  it('fails for good, without sending anything, when a rendered header value would add a header', async () => {
    a = await createHttpSink()
    const titled = { 'x-title': '{{name}}' }
    t = await startTestRunner({
      auth: { allowUnauthenticated: true },
      recipes: [{ name: 'api', on: 'title-ready', do: [{ action: 'http', with: { url: `${a.url}/hook`, headers: titled } }] }],
    })
    const [run] = await t.deliver('title-ready', { id: 1, name: 'Episode\r\nx-admin: true' })
    expect(run!.state).toBe('dead')
    expect(run!.attempt).toBeLessThanOrEqual(1)
    expect(run!.error).toContain('x-title')
    expect(run!.error).toMatch(/line break/)
    expect(a.requests).toHaveLength(0)
  })
})

describe('https → http', () => {
  let https: Server | undefined
  afterEach(async () => {
    await new Promise((r) => (https ? https.close(r) : r(undefined)))
    https = undefined
  })

  // The runner must trust the test's self-signed certificate: NODE_EXTRA_CA_CERTS is read at process start, so this runner is a child.
  it("never follows a redirect from https to http, even with followRedirects: 'any'", async () => {
    const dir = tempDir()
    const key = join(dir, 'key.pem')
    const cert = join(dir, 'cert.pem')
    const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1']
    execFileSync('openssl', [...args, '-keyout', key, '-out', cert, '-days', '1'], { stdio: 'ignore' })
    b = await createHttpSink()
    const plain = b.url
    const seen: string[] = []
    https = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-api-key']}`)
      req.resume().on('end', () => res.writeHead(307, { location: `${plain}/landing` }).end())
    })
    await new Promise<void>((r) => https!.listen(0, '127.0.0.1', r))
    const origin = `https://127.0.0.1:${(https.address() as AddressInfo).port}`
    const db = join(dir, 'r.db')
    const step = { url: `${origin}/hook`, headers, followRedirects: 'any' }
    writeConfig(dir, {
      auth: { allowUnauthenticated: true },
      store: { path: db },
      recipes: [{ name: 'rebuild', on: 'title-ready', do: [{ action: 'http', with: step }] }],
    })
    const child = await startChild(dir, { env: { NODE_EXTRA_CA_CERTS: cert } })
    try {
      const body = '{"id":1}'
      await fetch(`${child.url}/webhooks/title-ready`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      await expect.poll(() => child.output(), { timeout: 10_000 }).toMatch(/failed for good|done/)
    } finally {
      child.proc.kill('SIGTERM')
      await child.exited
    }
    expect(seen).toEqual(['POST /hook k3y-s3cr3t'])
    expect(b.requests).toHaveLength(0)
    const store = createSqliteBackend({ path: db, lock: false })
    const [event] = await store.listEvents({ limit: 1 })
    const [run] = await store.runsForEvent(event!.id)
    await store.close()
    expect(run!.state).toBe('dead')
    expect(run!.error).toContain(`refused a redirect from https to http (307 from ${origin} to ${plain})`)
  })
})
