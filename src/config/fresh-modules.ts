/**
 * Node keeps every ES module it has evaluated, by URL, for the life of the
 * process, and jiti hands `.mjs`, `.cjs` and `.js` in a `"type": "module"`
 * package to Node as they are. A reload would get the module it already has:
 * the old keys, the old recipes, "config reloaded" and nothing applied. So a
 * resolve hook (`module.register`) gives each of the user's files a URL of
 * the load in progress (`?audiorista-load=N`): each load evaluates them
 * afresh, and the hook says which files they were, for the watcher.
 * Each reload keeps one more copy of those modules in memory; they are small.
 */
import { register } from 'node:module'
import { MessageChannel, type MessagePort } from 'node:worker_threads'

/** Runs in Node's hooks thread: the user's `file:` URLs get the load's number; the rest is untouched. */
const HOOKS = `
let load, root, port
export function initialize(data) {
  ;({ load, root, port } = data)
  port.on('message', (m) => port.postMessage(m))
}
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  const n = Atomics.load(load, 0)
  if (n === 0 || !result.url.startsWith('file:') || result.url.includes('?')) return result
  const path = decodeURIComponent(new URL(result.url).pathname)
  if (path.includes('/node_modules/') || path.startsWith(root)) return result
  port.postMessage({ file: path })
  return { ...result, url: result.url + '?audiorista-load=' + n }
}
`

interface Hooks {
  load: Int32Array
  port: MessagePort
  seen: Set<string>
}

let hooks: Hooks | undefined | false

/** Installs the hook once; `false` where Node has no `module.register` (before 20.6). */
function install(root: string): Hooks | false {
  if (hooks !== undefined) return hooks
  if (typeof register !== 'function') {
    hooks = false
    return hooks
  }
  const load = new Int32Array(new SharedArrayBuffer(4))
  const { port1, port2 } = new MessageChannel()
  const seen = new Set<string>()
  port1.on('message', (m: { file?: string }) => {
    if (m.file) seen.add(m.file)
  })
  port1.unref()
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, {
    data: { load, root, port: port2 },
    transferList: [port2],
  })
  hooks = { load, port: port1, seen }
  return hooks
}

let loads = 0

/**
 * Runs `importer` as a new load: the user's ES modules it imports are
 * evaluated afresh. `onFiles` gets the user's files Node loaded natively on
 * the way, whether the load worked or not (jiti's own are in its cache).
 * `root` is this package's own code, which is never reloaded. `again`: the
 * file was loaded before and Node may hold it (`.mjs`, `.cjs`, `.js`).
 * `hook`: this load needs the hook (a reload, or an ES module Node evaluates
 * itself, whose imports only the hook sees); once installed it stays.
 */
export async function freshLoad<T>(
  root: string,
  importer: () => Promise<T>,
  onFiles: (files: string[]) => void,
  again = false,
  hook = again,
): Promise<T> {
  // The hook costs some 80 ms to install and slows every later import: only once a load needs it.
  const h = hooks !== undefined || hook ? install(root) : undefined
  if (h === undefined) return importer()
  if (!h && again)
    throw new Error(
      `Node ${process.version} cannot evaluate an ES module again (Node 20.6 or newer can): restart the runner to apply the change`,
    )
  if (!h) return importer()
  h.seen.clear()
  Atomics.store(h.load, 0, ++loads)
  try {
    return await importer()
  } finally {
    await flush(h.port)
    onFiles([...h.seen])
  }
}

/** Every file the hook reported before now has arrived: one message there and back on the same port. */
function flush(port: MessagePort): Promise<void> {
  port.ref()
  return new Promise((resolve) => {
    const done = (m: { flushed?: true }) => {
      if (!m.flushed) return
      port.off('message', done)
      port.unref()
      resolve()
    }
    port.on('message', done)
    port.postMessage({ flushed: true })
  })
}
