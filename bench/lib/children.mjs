/**
 * Child processes for the benchmarks: the server under test never shares the
 * load generator's event loop. Every child is tracked and killed when the
 * bench exits, also on a crash or Ctrl-C.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request, createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'

const live = new Set()

function killAll() {
  for (const child of live) {
    try {
      child.kill('SIGKILL')
    } catch {}
  }
  live.clear()
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

/** `command ...args` as a tracked child (killed when the bench exits). */
export function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, options)
  live.add(child)
  // A command that cannot be spawned emits 'error' and no 'exit': it has exited all the same.
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
    child.once('error', (error) => resolve({ code: null, signal: null, error }))
  })
  void child.exited.then(() => live.delete(child))
  return child
}

/** `node ...args` as a tracked child. */
export function spawnNode(args, options = {}) {
  return spawnTracked(process.execPath, args, options)
}

/**
 * Stops a child: `signal` first, SIGKILL after `graceMs`. SIGTERM lets the
 * runner exit cleanly (needed for --cpu-prof to write its profile).
 */
export async function stopChild(child, { signal = 'SIGKILL', graceMs = 5_000 } = {}) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await child.exited
  clearTimeout(timer)
}

/** A loopback port free right now (the child binds it a moment later). */
export async function freePort() {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

function get(url) {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 1_000 }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode))
    })
    req.on('error', () => resolve(0))
    req.on('timeout', () => req.destroy())
    req.end()
  })
}

/**
 * Polls `GET url` every `intervalMs` until it answers 200; resolves with the
 * time of that answer (performance.now()). Fails after `timeoutMs` or when
 * the child exits first.
 */
export async function waitFor200(url, { child, timeoutMs = 15_000, intervalMs = 2 } = {}) {
  const deadline = performance.now() + timeoutMs
  let exited = false
  void child?.exited.then(() => (exited = true))
  while (performance.now() < deadline) {
    if (exited) throw new Error(`the child exited before ${url} answered 200`)
    if ((await get(url)) === 200) return performance.now()
    await new Promise((r) => setTimeout(r, intervalMs))
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`)
}

/** Peak resident set size (VmHWM) of a live process in MB, or undefined off Linux. */
export function peakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1]
    return kb === undefined ? undefined : Number(kb) / 1024
  } catch {
    return undefined
  }
}

/**
 * Waits until `child` answers 200 at `url` + `readyPath`; stops it (and runs
 * `cleanup`) if it exits or never does. `stop()` does the same later.
 */
async function serving(child, url, readyPath, cleanup = () => {}) {
  const stop = async () => {
    await stopChild(child)
    cleanup()
  }
  try {
    await waitFor200(`${url}${readyPath}`, { child })
  } catch (err) {
    await stop()
    throw err
  }
  return { child, url, stop }
}

/**
 * Starts bench/servers/baseline.mjs in a child: the bare node:http baseline,
 * or with `mode` (store, step or both) one of the floors, its SQLite file in
 * a temp folder. Resolves once it answers.
 */
export async function startBaseline({ mode, sinkUrl } = {}) {
  const port = await freePort()
  const dir = mode ? mkdtempSync(join(tmpdir(), 'ar-bench-floor-')) : undefined
  const args = [new URL('../servers/baseline.mjs', import.meta.url).pathname, String(port)]
  if (mode) args.push(mode, sinkUrl, join(dir, 'floor.db'))
  const child = spawnNode(args, { stdio: ['ignore', 'ignore', 'inherit'] })
  return serving(child, `http://127.0.0.1:${port}`, '/readyz', () => dir && rmSync(dir, { recursive: true, force: true }))
}

/**
 * Starts the loopback HTTP sink (test/helpers/http-sink.ts) in a child.
 * `stats()` asks it how many requests and distinct Idempotency-Keys it saw.
 */
export async function startSink() {
  const child = spawnNode([new URL('../servers/sink.mjs', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const [message] = await Promise.race([
    once(child, 'message'),
    child.exited.then(({ code }) => {
      throw new Error(`the sink exited with ${code} before it was ready`)
    }),
  ])
  let asked = 0
  const stats = () =>
    new Promise((resolve, reject) => {
      const id = ++asked
      const onMessage = (m) => {
        if (m.id !== id) return
        child.off('message', onMessage)
        resolve(m)
      }
      child.on('message', onMessage)
      if (!child.connected) return reject(new Error('the sink is gone'))
      child.send({ id, type: 'stats' })
    })
  return { child, url: message.url, stats }
}

/**
 * The competitor: adnanh/webhook (Debian's `webhook`) with one hook at
 * `POST /webhooks/title-ready` whose rule checks the X-Audiorista-Key header
 * and whose command is /bin/true, answered as soon as the command is started
 * (its default). It parses the JSON body (its rules may look into it) but
 * keeps nothing: no store, no retry, no dedupe.
 */
export async function startCompetitor(key) {
  const dir = mkdtempSync(join(tmpdir(), 'ar-bench-webhook-'))
  const hooks = join(dir, 'hooks.json')
  writeFileSync(
    hooks,
    JSON.stringify([
      {
        id: 'title-ready',
        'execute-command': '/bin/true',
        'response-message': 'accepted',
        'http-methods': ['POST'],
        'trigger-rule': { match: { type: 'value', value: key, parameter: { source: 'header', name: 'X-Audiorista-Key' } } },
      },
    ]),
  )
  const port = await freePort()
  const child = spawnTracked('webhook', ['-hooks', hooks, '-ip', '127.0.0.1', '-port', String(port), '-urlprefix', 'webhooks'], {
    stdio: ['ignore', 'ignore', 'ignore'],
  })
  return serving(child, `http://127.0.0.1:${port}`, '/', () => rmSync(dir, { recursive: true, force: true }))
}
