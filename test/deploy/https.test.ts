/**
 * On the internet over HTTPS, both ways the README gives: the runner's own
 * `server.tls` (a running `audiorista-runner start`, its certificate renewed
 * in place and reloaded with SIGHUP), and Debian's caddy in front with
 * `server.trustProxy`, the sender on another loopback address than caddy's.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ChildRunner, runCli, runCliAsync, startChild, writeConfig } from '../helpers/child.js'
import { fingerprintOf, selfSigned, servedFingerprint } from '../helpers/certificates.js'
import { haveCaddy, startCaddy, type TestCaddy } from '../helpers/caddy.js'
import { startTestRunner, type TestRunner, tempDir } from '../helpers/runner.js'
import { reloadLine } from '../reload/helpers.js'

const KEY = 'https-test-key-0123456789'
const TOKEN = 'https-test-admin-token-0123456789'
const open: Array<{ close(): Promise<unknown> }> = []

afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close()
})

interface Post {
  /** `https://host:port` to connect to (or `http://`, straight to a runner). */
  url: string
  /** The CA file the client trusts, over HTTPS. */
  ca?: string
  /** The client's own address (another loopback address than the proxy's). */
  localAddress?: string
  headers?: Record<string, string>
}

/** A delivery as Audiorista makes one (with `ca`, over HTTPS to `localhost`'s certificate); resolves with the status and body. */
function post({ url, ca, localAddress, headers = {} }: Post): Promise<{ status: number; body: { id?: string } }> {
  const { protocol, hostname, port } = new URL(url)
  const body = JSON.stringify({ id: Math.random(), name: 'Episode 1' })
  const request = protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path: '/webhooks/title-ready',
        method: 'POST',
        ...(ca ? { ca: readFileSync(ca), servername: 'localhost' } : {}),
        ...(localAddress ? { localAddress } : {}),
        // The name the certificate (and caddy's site) is for, on a connection to the address.
        headers: { host: `localhost:${port}`, 'content-type': 'application/json', 'x-audiorista-key': KEY, ...headers },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function start(dir: string): Promise<ChildRunner> {
  const child = await startChild(dir, { env: { AUDIORISTA_ADMIN_TOKEN: TOKEN } })
  open.push({
    close: () => {
      child.proc.kill('SIGKILL')
      return child.exited
    },
  })
  return child
}

describe('server.tls: the runner serves HTTPS itself', () => {
  it('accepts a delivery over HTTPS, serves a renewed certificate after SIGHUP, and refuses a key that does not match', async () => {
    const dir = tempDir('ar-https-')
    const files = selfSigned(dir, 'server')
    writeConfig(dir, { server: { tls: { cert: 'server.crt', key: 'server.key' } }, auth: { keys: [KEY] } })
    const child = await start(dir)
    expect(child.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const port = Number(new URL(child.url).port)
    expect((await post({ url: child.url, ca: files.cert })).status).toBe(202)
    const first = fingerprintOf(files.cert)
    expect(await servedFingerprint(port)).toBe(first)
    // `send`, as the README shows it: a private CA is Node's to trust.
    writeFileSync(join(dir, 'title.json'), '{"id":1,"name":"Episode 1"}')
    const send = (env: Record<string, string>) =>
      runCliAsync(['send', 'title-ready', 'title.json', '--url', `${child.url}/webhooks/title-ready`], {
        cwd: dir,
        env: { AUDIORISTA_KEY: KEY, ...env },
      })
    expect((await send({ NODE_EXTRA_CA_CERTS: files.cert })).stdout).toMatch(/^202 Accepted\n/)
    expect((await send({})).stderr).toContain(
      `cannot reach ${child.url}/webhooks/title-ready: DEPTH_ZERO_SELF_SIGNED_CERT (its certificate is not trusted for this address: use --url https://<a name it is for>:8787/webhooks/title-ready, and NODE_EXTRA_CA_CERTS=<the CA file> for a private CA)`,
    )

    // certbot renew: new files at the same paths, the config untouched; then the deploy hook's SIGHUP.
    const keys = [readFileSync(files.key, 'utf8')]
    selfSigned(dir, 'server')
    keys.push(readFileSync(files.key, 'utf8'))
    const renewed = fingerprintOf(files.cert)
    expect(renewed).not.toBe(first)
    child.proc.kill('SIGHUP')
    expect((await reloadLine(child, 1)).msg).toBe('config reloaded: recipes: +0 ~0 -0; keys: unchanged; settings: server.tls')
    expect(await servedFingerprint(port)).toBe(renewed)
    expect((await post({ url: child.url, ca: files.cert })).status).toBe(202)

    // A key from another certificate: refused, and the renewed certificate keeps being served.
    const other = selfSigned(dir, 'other')
    keys.push(readFileSync(other.key, 'utf8'))
    copyFileSync(other.key, files.key)
    child.proc.kill('SIGHUP')
    expect((await reloadLine(child, 2)).msg).toBe(
      `config reload refused: server.tls.key: ${files.key} is not the key of the certificate in ${files.cert}; the last good config keeps running`,
    )
    expect(await servedFingerprint(port)).toBe(renewed)
    expect((await post({ url: child.url, ca: files.cert })).status).toBe(202)
    // No key, nor any line of one, was ever written out.
    for (const key of keys) for (const line of key.split('\n').slice(1, -2)) expect(child.output()).not.toContain(line)
  })

  it('does not start, and check fails, on a missing file or a key that is not the certificate’s', () => {
    const dir = tempDir('ar-https-bad-')
    const one = selfSigned(dir, 'one')
    const two = selfSigned(dir, 'two')
    const config = writeConfig(dir, { server: { tls: { cert: 'one.crt', key: 'missing.key' } } })
    for (const command of ['check', 'start']) {
      const { status, stderr } = runCli([command, '--config', config], { cwd: dir })
      expect(status).toBe(1)
      expect(stderr).toContain(`server.tls.key: cannot read ${join(dir, 'missing.key')}: no such file`)
    }
    writeConfig(dir, { server: { tls: { cert: 'one.crt', key: 'two.key' } } })
    const { status, stderr } = runCli(['check', '--config', config], { cwd: dir })
    expect(status).toBe(1)
    expect(stderr).toContain(`server.tls.key: ${two.key} is not the key of the certificate in ${one.cert}`)
    expect(stderr).not.toContain(readFileSync(two.key, 'utf8').split('\n')[1])
  })
})

describe.skipIf(!haveCaddy())('caddy in front', () => {
  it('delivers over HTTPS through caddy, and the runner logs the sender’s address, not caddy’s', async () => {
    const runner: TestRunner = await startTestRunner({ server: { trustProxy: '127.0.0.1' }, auth: { keys: [KEY] } })
    open.push(runner)
    const caddy: TestCaddy = await startCaddy(new URL(runner.url).host)
    open.push(caddy)

    const res = await post({ url: `https://127.0.0.1:${caddy.port}`, ca: caddy.ca, localAddress: '127.0.0.5' })
    expect(res.status).toBe(202)
    const accepted = runner.lines().find((l) => l.msg === 'delivery accepted' && l.eventId === res.body.id)
    expect(accepted?.client).toBe('127.0.0.5')

    // Straight to the runner, a forged X-Forwarded-For is not believed: only caddy's address is a trusted proxy.
    const forged = { 'x-forwarded-for': '203.0.113.9' }
    const direct = await post({ url: runner.url, localAddress: '127.0.0.5', headers: forged })
    expect(direct.status).toBe(202)
    expect(runner.lines().find((l) => l.msg === 'delivery accepted' && l.eventId === direct.body.id)?.client).toBe('127.0.0.5')
  })
})
