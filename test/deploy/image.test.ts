/**
 * The real image: built with podman from the Dockerfile as committed, run,
 * and checked from outside, as a user would run it (README "Run in a
 * container"). Docker Hub is out of reach here, so the bases are made by
 * scripts/make-base-images.sh (Debian bookworm from debootstrap plus this
 * machine's Node 20) and passed as NODE_IMAGE and NODE_BUILD_IMAGE; it
 * reuses them when they exist. Needs root and podman; under CI (which
 * installs podman, runc, catatonit and debootstrap) it never skips.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { selfSigned } from '../helpers/certificates.js'
import { freePort } from '../helpers/free-port.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { tempDir } from '../helpers/runner.js'

const REPO = resolve(import.meta.dirname, '../..')
const IMAGE = 'localhost/audiorista-runner:test'
/** What the image may add above its runtime base. */
const MAX_ADDED_MB = 60
const canRun = Boolean(process.env.CI) || (process.getuid?.() === 0 && spawnSync('podman', ['--version']).status === 0)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * This sandbox's adjustments, given to podman as a containers.conf rather
 * than as flags, so the commands below are the README's: runc (crun refuses
 * hybrid cgroups) and ulimits a container may set here (podman's default
 * asks for more open files than the host's hard limit).
 */
function containersConf(dir: string): string {
  const limits = readFileSync('/proc/self/limits', 'utf8')
  const hard = (name: string) => {
    const value = new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, 'm').exec(limits)?.[1] ?? 'unlimited'
    return value === 'unlimited' ? 1_048_576 : Math.min(Number(value), 1_048_576)
  }
  // Enough for the runner and below what a container may set here (more processes than 4096 were refused).
  const [files, procs] = [Math.min(hard('Max open files'), 65_536), Math.min(hard('Max processes'), 4096)]
  const runtime = spawnSync('runc', ['--version']).status === 0 ? 'runtime = "runc"' : ''
  const file = join(dir, 'containers.conf')
  writeFileSync(file, `[containers]\ndefault_ulimits = ["nofile=${files}:${files}", "nproc=${procs}:${procs}"]\n[engine]\n${runtime}\n`)
  return file
}

let env: NodeJS.ProcessEnv = process.env

/** Runs a command; throws with its output unless it exits 0 (or `allowFail`). */
function sh(cmd: string, args: string[], { allowFail = false, timeout = 120_000 } = {}): SpawnSyncReturns<string> {
  const res = spawnSync(cmd, args, { cwd: REPO, env, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 })
  if (!allowFail && res.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${res.status ?? res.signal}:\n${res.stdout}\n${res.stderr}`.slice(-8000))
  return res
}
const podman = (...args: string[]) => sh('podman', args).stdout.trim()

const KEY = randomBytes(24).toString('hex')
const TOKEN = randomBytes(24).toString('hex')
const started: string[] = []
const volumes: string[] = []

interface Container {
  name: string
  url: string
}

/** `podman run -d` with the key and token set, published on a free loopback port (or on the host's network). */
async function run(
  name: string,
  { args = [], command = [], hostNetwork = false }: { args?: string[]; command?: string[]; hostNetwork?: boolean } = {},
): Promise<Container> {
  const port = await freePort()
  const network = hostNetwork ? ['--network', 'host', '-e', `PORT=${port}`] : ['-p', `127.0.0.1:${port}:8787`]
  started.push(name)
  podman(
    'run',
    '-d',
    '--name',
    name,
    '-e',
    `AUDIORISTA_KEY=${KEY}`,
    '-e',
    `AUDIORISTA_ADMIN_TOKEN=${TOKEN}`,
    ...network,
    ...args,
    IMAGE,
    ...command,
  )
  return { name, url: `http://127.0.0.1:${port}` }
}

/** Waits until /readyz answers 200; fails after `limit` ms with the container's log. */
async function ready(c: Container, limit = 5_000): Promise<void> {
  const t0 = Date.now()
  for (;;) {
    const ok = await fetch(`${c.url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    )
    if (ok) return
    if (Date.now() - t0 > limit) throw new Error(`${c.name}: /readyz not 200 after ${limit} ms:\n${logs(c.name)}`)
    await sleep(50)
  }
}
const logs = (name: string) => {
  const res = sh('podman', ['logs', name], { allowFail: true })
  return `${res.stdout}${res.stderr}`
}

function deliver(c: Container, body: object = { id: 4211, name: 'Episode 42' }) {
  return fetch(`${c.url}/webhooks/title-ready`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-audiorista-key': KEY },
    body: JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as { id: string; duplicate?: boolean } }))
}

/** The console API's answer to GET `path`, once the console has started (it answers 503 until then, after /readyz). */
async function admin(c: Container, path: string): Promise<any> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const res = await fetch(`${c.url}/admin/api${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    if (res.status === 200) return res.json()
    if (res.status !== 503 || Date.now() > deadline) throw new Error(`GET ${path}: ${res.status} ${await res.text()}\n${logs(c.name)}`)
    await sleep(100)
  }
}

/** The console API's view of an event, polled until its runs end. */
async function settled(c: Container, id: string): Promise<any> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const shown = await admin(c, `/events/${id}`)
    if (shown.runs?.length && shown.runs.every((r: { state: string }) => ['done', 'dead', 'failed'].includes(r.state))) return shown
    if (Date.now() > deadline) throw new Error(`event ${id} not settled: ${JSON.stringify(shown)}\n${logs(c.name)}`)
    await sleep(100)
  }
}

describe.skipIf(!canRun)(
  'the image, built with podman and run (needs root and podman; never skipped under CI)',
  { timeout: 120_000 },
  () => {
    let scratch: string
    let sizes: { base: number; image: number }

    beforeAll(async () => {
      if (process.getuid?.() !== 0) throw new Error('building and running the image here needs root (CI runs as root)')
      scratch = tempDir('ar-image-')
      chmodSync(scratch, 0o755)
      env = { ...process.env, CONTAINERS_CONF: containersConf(scratch) }
      // The bases, made once per machine and Node version (minutes the first time).
      const bases = sh(join(REPO, 'scripts/make-base-images.sh'), [], { timeout: 15 * 60_000 })
      process.stdout.write(bases.stderr)
      const buildArgs = bases.stdout.trim().split(/\s+/)
      const baseImage = buildArgs.find((a) => a.startsWith('NODE_IMAGE='))!.slice('NODE_IMAGE='.length)
      // Behind this machine's TLS-inspecting proxy npm needs its bundle: the build secret `ca` (the README's way).
      const bundle = [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find((f) => f && existsSync(f))
      const ca = bundle ? ['--secret', `id=ca,src=${bundle}`] : []
      const t0 = Date.now()
      sh('podman', ['build', '--format', 'docker', ...buildArgs, ...ca, '-t', IMAGE, '.'], { timeout: 25 * 60_000 })
      const size = (image: string) => Number(podman('image', 'inspect', '--format', '{{.Size}}', image))
      sizes = { base: size(baseImage), image: size(IMAGE) }
      const mb = (n: number) => (n / 1e6).toFixed(1)
      console.log(
        `image built in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${mb(sizes.image)} MB, base ${mb(sizes.base)} MB, added ${mb(sizes.image - sizes.base)} MB`,
      )
    }, 40 * 60_000)

    afterAll(() => {
      for (const name of started) sh('podman', ['rm', '-f', '-v', '-t', '0', name], { allowFail: true })
      for (const name of volumes) sh('podman', ['volume', 'rm', '-f', name], { allowFail: true })
      if (scratch) rmSync(scratch, { recursive: true, force: true })
    }, 120_000)

    const volume = (name: string) => {
      volumes.push(name)
      return name
    }
    const unique = (what: string) => `ar-test-${what}-${randomBytes(4).toString('hex')}`

    it(`adds at most ${MAX_ADDED_MB} MB above its base: no typescript, no sources, better-sqlite3's addon alone`, () => {
      expect((sizes.image - sizes.base) / 1e6).toBeLessThanOrEqual(MAX_ADDED_MB)
      const ls = (path: string) => podman('run', '--rm', '--entrypoint', 'ls', IMAGE, path).split('\n')
      expect(ls('/app').sort()).toEqual(['audiorista.config.ts', 'dist', 'node_modules', 'package.json', 'plugins', 'recipes', 'scaffold'])
      expect(ls('node_modules')).not.toContain('typescript')
      expect(ls('node_modules/better-sqlite3')).not.toContain('deps')
      expect(ls('node_modules/better-sqlite3')).not.toContain('src')
      expect(ls('node_modules/better-sqlite3/build/Release')).toEqual(['better_sqlite3.node'])
    })

    it('is ready within 5 s, healthy, runs as uid 1000, keeps /data private and writes nothing outside it', async () => {
      const name = unique('first')
      const c = await run(name, { args: ['--init', '-v', `${volume(name)}:/data`] })
      await ready(c)
      expect(sh('podman', ['healthcheck', 'run', name], { allowFail: true }).status).toBe(0)
      expect(podman('exec', name, 'id', '-u')).toBe('1000')
      // The runner itself, not only exec's default user (the image's `node` is uid 1000).
      expect(podman('top', name, 'user', 'args')).toMatch(/^node\s+node dist\/cli\/main\.js start\s*$/m)
      const { status } = await deliver(c)
      expect(status).toBe(202)
      const modes = podman('exec', name, 'find', '/data', '-printf', '%m %U %y %p\\n').split('\n').sort()
      expect(modes).toEqual(expect.arrayContaining(['700 1000 d /data', '600 1000 f /data/runner.db']))
      for (const line of modes) expect(line).toMatch(/^(700 1000 d|600 1000 f) \/data/)
      // The same changes as in a container of the image that runs nothing: what podman itself makes (/etc's hosts, resolv.conf).
      const idle = `${name}-idle`
      started.push(idle)
      podman('run', '-d', '--name', idle, '--entrypoint', 'sleep', IMAGE, '60')
      expect(JSON.parse(podman('diff', '--format', 'json', name))).toEqual(JSON.parse(podman('diff', '--format', 'json', idle)))
    })

    it('takes a delivery, runs its step, and after `podman restart` the same delivery is a duplicate with the same id', async () => {
      const name = unique('restart')
      const c = await run(name, { args: ['--init', '-v', `${volume(name)}:/data`] })
      await ready(c)
      const first = await deliver(c)
      expect(first.status).toBe(202)
      expect(await settled(c, first.body.id)).toMatchObject({ runs: [{ recipe: 'log-every-event', state: 'done' }] })
      podman('restart', '-t', '20', name)
      await ready(c)
      expect(await deliver(c)).toEqual({ status: 200, body: { accepted: true, duplicate: true, id: first.body.id } })
    })

    it.each([
      ['with --init', ['--init']],
      ['without --init (node as PID 1)', []],
    ])('`podman stop` ends it with exit 0 inside the grace period, %s', async (_, init) => {
      const name = unique('stop')
      const c = await run(name, { args: [...init, '-v', `${volume(name)}:/data`] })
      await ready(c)
      expect((await deliver(c)).status).toBe(202)
      podman('stop', '-t', '20', name)
      expect(podman('inspect', '--format', '{{.State.ExitCode}}', name)).toBe('0')
      // Signalled at once after /readyz, which may come before start-up is all done: either way steps finish.
      expect(logs(name)).toMatch(
        /"signal":"SIGTERM","msg":"(shutting down: finishing running steps|stopping during start-up: running steps finish)/,
      )
    })

    it('runs with a read-only root filesystem, /data a volume and /tmp a tmpfs', async () => {
      const name = unique('readonly')
      const c = await run(name, { args: ['--init', '--read-only', '--tmpfs', '/tmp', '-v', `${volume(name)}:/data`] })
      await ready(c)
      const first = await deliver(c)
      expect(first.status).toBe(202)
      expect(await settled(c, first.body.id)).toMatchObject({ runs: [{ state: 'done' }] })
    })

    it("loads a mounted config folder with its own TypeScript plugin (the README's layout)", async () => {
      const folder = join(scratch, 'runner-config')
      mkdirSync(join(folder, 'plugins'), { recursive: true })
      writeFileSync(
        join(folder, 'audiorista.config.ts'),
        `import { defineConfig } from 'audiorista-runner'

export default defineConfig({
  auth: { keys: [process.env.AUDIORISTA_KEY] },
  plugins: ['./plugins'],
  recipes: [{ name: 'stamp-it', on: 'title-ready', do: [{ action: 'stamp', with: { name: '{{name}}' } }] }],
})
`,
      )
      writeFileSync(
        join(folder, 'plugins/stamp.ts'),
        `import { definePlugin, z } from 'audiorista-runner'

interface Stamped { stamped: string }

export default definePlugin({
  name: 'stamp',
  input: z.object({ name: z.string() }),
  async run(input): Promise<Stamped> {
    return { stamped: input.name.toUpperCase() }
  },
})
`,
      )
      const name = unique('mounted')
      const c = await run(name, {
        args: ['--init', '-v', `${volume(name)}:/data`, '-v', `${folder}:/config:ro`],
        command: ['start', '--config', '/config/audiorista.config.ts'],
      })
      await ready(c)
      const first = await deliver(c)
      expect(first.status).toBe(202)
      const shown = await settled(c, first.body.id)
      expect(shown).toMatchObject({ runs: [{ recipe: 'stamp-it', state: 'done' }] })
      expect(JSON.stringify(shown)).toContain('EPISODE 42')
    })

    it('serves HTTPS itself with server.tls (certificate files in a mounted folder), and its health check follows', async () => {
      const folder = join(scratch, 'tls-config')
      mkdirSync(folder)
      const { cert, key } = selfSigned(folder)
      // Readable by the runner's uid 1000; a real deployment gives the key to that user or its group alone.
      chmodSync(key, 0o644)
      writeFileSync(
        join(folder, 'audiorista.config.ts'),
        `export default { auth: { keys: [process.env.AUDIORISTA_KEY] }, server: { tls: { cert: 'server.crt', key: 'server.key' } },
  recipes: [{ name: 'log-it', on: 'title-ready', do: [{ action: 'log', with: { message: '{{name}}' } }] }] }
`,
      )
      const c = await run(unique('tls'), {
        args: ['--init', '-v', `${volume(unique('tls'))}:/data`, '-v', `${folder}:/config:ro`],
        command: ['start', '--config', '/config/audiorista.config.ts'],
      })
      const { name } = c
      const port = Number(new URL(c.url).port)
      const ca = readFileSync(cert)
      const post = () =>
        new Promise<number>((done, fail) => {
          const req = httpsRequest(
            { host: '127.0.0.1', port, path: '/webhooks/title-ready', method: 'POST', ca, servername: 'localhost' },
            (res) => {
              res.resume()
              done(res.statusCode ?? 0)
            },
          )
          req.setHeader('content-type', 'application/json')
          req.setHeader('x-audiorista-key', KEY)
          req.on('error', fail)
          req.end(JSON.stringify({ id: 7, name: 'Over TLS' }))
        })
      const deadline = Date.now() + 10_000
      let status = 0
      while (status !== 202 && Date.now() < deadline) {
        status = await post().catch(() => 0)
        if (status !== 202) await sleep(100)
      }
      expect(status, logs(name)).toBe(202)
      expect(sh('podman', ['healthcheck', 'run', name], { allowFail: true }).status).toBe(0)
      expect(logs(name)).toContain(`"url":"https://`)
    })

    it('refuses a second container on the same /data with the lock message', async () => {
      const name = unique('locked')
      const data = volume(name)
      const c = await run(name, { args: ['--init', '-v', `${data}:/data`] })
      await ready(c)
      const second = `${name}-2`
      started.push(second)
      const res = sh('podman', ['run', '--name', second, '--init', '-e', `AUDIORISTA_KEY=${KEY}`, '-v', `${data}:/data`, IMAGE], {
        allowFail: true,
        timeout: 60_000,
      })
      expect(res.status).toBe(1)
      expect(`${res.stdout}${res.stderr}`).toMatch(/another runner \(pid \d+[^)]*\) is using \/data\/runner\.db; stop it first/)
      expect((await fetch(`${c.url}/readyz`)).status).toBe(200)
    })

    it('says how to fix a bind-mounted /data it may not write (a folder owned by root)', () => {
      const folder = join(scratch, 'root-owned')
      mkdirSync(folder, { mode: 0o755 })
      const name = unique('root-owned')
      started.push(name)
      const res = sh('podman', ['run', '--name', name, '--init', '-v', `${folder}:/data`, IMAGE], { allowFail: true, timeout: 60_000 })
      expect(res.status).toBe(1)
      expect(`${res.stdout}${res.stderr}`).toContain(
        'cannot write /data/key: permission denied. The runner keeps its data there (store, key, admin token): make /data writable by this user (uid 1000), or set AUDIORISTA_DATA_DIR',
      )
    })

    describe('two containers on one Redis (on the host, --network host)', () => {
      let redis: TestRedis
      beforeAll(async () => {
        redis = await startRedis()
      })
      afterAll(async () => {
        await redis?.close()
      })

      it('stores a delivery sent to both once', async () => {
        const containers = await Promise.all(
          ['a', 'b'].map((replica) =>
            run(unique(`redis-${replica}`), {
              hostNetwork: true,
              args: ['--init', '-e', `AUDIORISTA_REDIS_URL=${redis.url}`, '-v', `${volume(unique('redis-data'))}:/data`],
            }),
          ),
        )
        for (const c of containers) await ready(c, 10_000)
        const body = { id: 5150, name: 'Shared' }
        const [a, b] = [await deliver(containers[0]!, body), await deliver(containers[1]!, body)]
        expect(a.status).toBe(202)
        expect(b).toEqual({ status: 200, body: { accepted: true, duplicate: true, id: a.body.id } })
        const listed = (await admin(containers[1]!, '/events?limit=50')) as { events: { id: string }[] }
        expect(listed.events.map((e) => e.id)).toEqual([a.body.id])
      })
    })

    it('is the image compose.yaml runs: same name, volume and health check, with init', () => {
      const compose = parse(readFileSync(join(REPO, 'compose.yaml'), 'utf8'), { merge: true }) as any
      const inspect = (field: string) => JSON.parse(podman('image', 'inspect', '--format', `{{json .Config.${field}}}`, IMAGE))
      const [volumes, health] = [inspect('Volumes'), inspect('Healthcheck')]
      // The tag every build command of the README gives is the image compose names.
      const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
      const tags = [...readme.matchAll(/^(?:docker|podman) build .*-t (\S+)/gm)].map((m) => m[1])
      expect(tags.length).toBeGreaterThan(0)
      const seconds = (ns: number) => `${ns / 1e9}s`
      for (const name of ['runner', 'replica-1', 'replica-2']) {
        const service = compose.services[name]
        expect({ name, image: service.image, tags: [...new Set(tags)] }).toEqual({
          name,
          image: 'audiorista-runner',
          tags: ['audiorista-runner'],
        })
        expect(service.init).toBe(true)
        expect(service.volumes.map((v: string) => v.split(':')[1])).toContain(Object.keys(volumes)[0])
        expect(service.healthcheck).toEqual({
          test: health.Test,
          interval: seconds(health.Interval),
          timeout: seconds(health.Timeout),
          start_period: seconds(health.StartPeriod),
          retries: health.Retries,
        })
      }
      expect(compose.services.runner.volumes[0]).toBe('runner-data:/data')
      // The https profile: Caddy with deploy/Caddyfile in front of the runner service.
      const caddy = compose.services.caddy
      expect(caddy.profiles).toEqual(['https'])
      expect(caddy.volumes).toEqual(
        expect.arrayContaining([expect.stringMatching(/^\.\/deploy\/Caddyfile:\/etc\/caddy\/Caddyfile(:ro)?$/)]),
      )
      expect(caddy.environment.UPSTREAM).toBe('runner:8787')
      expect(compose.services.runner.environment).toHaveProperty('AUDIORISTA_TRUST_PROXY')
      // The scale profile's Redis: every acknowledged delivery on disk before the 2xx.
      const redis = compose.services.redis
      expect(redis.profiles).toEqual(['scale'])
      expect(redis.command).toMatch(/--appendonly yes\b/)
      expect(redis.command).toMatch(/--appendfsync always\b/)
    })
  },
)
