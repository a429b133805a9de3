/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, or `npm run bench --
 * --profile`, which writes bench/.results/profiles/*.cpuprofile): the
 * functions with the most self time, and the packages/files they are in.
 *
 *   node bench/profile-top.mjs [FILE.cpuprofile] [--top N]
 * Without FILE: the newest profile in bench/.results/profiles.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { RESULTS, ROOT } from './lib/runner.mjs'

const args = process.argv.slice(2)
const topIndex = args.indexOf('--top')
const top = topIndex === -1 ? 30 : Number(args[topIndex + 1])
let file = args.find((a, i) => !a.startsWith('--') && i !== topIndex + 1 && args[i - 1] !== '--callers')
if (!file) {
  const dir = join(RESULTS, 'profiles')
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
  file = files.sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs)[0]
  if (!file) throw new Error(`no .cpuprofile in ${dir}`)
}

const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map()
// timeDeltas[i] is the time before samples[i]: charge it to that sample's node.
profile.samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
})
const total = [...self.values()].reduce((a, b) => a + b, 0)

const where = (url) => {
  if (!url) return '(native)'
  const path = url.replace(/^file:\/\//, '')
  const nm = path.lastIndexOf('node_modules/')
  if (nm !== -1)
    return path
      .slice(nm + 13)
      .split('/')
      .slice(0, path.slice(nm + 13).startsWith('@') ? 2 : 1)
      .join('/')
  if (path.startsWith('node:')) return path
  return relative(ROOT, path)
}

const fns = new Map()
const files = new Map()
for (const [id, us] of self) {
  const { callFrame: f } = byId.get(id)
  const key = `${f.functionName || '(anonymous)'}  ${where(f.url)}${f.url && !f.url.includes('node_modules') ? `:${f.lineNumber + 1}` : ''}`
  fns.set(key, (fns.get(key) ?? 0) + us)
  const w = where(f.url)
  files.set(w, (files.get(w) ?? 0) + us)
}
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`
const show = (title, map, n) => {
  console.log(`\n${title}`)
  for (const [k, us] of [...map].sort((x, y) => y[1] - x[1]).slice(0, n))
    console.log(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
}
console.log(`${relative(process.cwd(), file)}: ${(total / 1e6).toFixed(2)} s sampled`)
show('self time by function', fns, top)
show('self time by package / file', files, 15)

// --callers NAME: the call stacks (deepest 8 frames) that lead to a function, by self time.
const callersIndex = args.indexOf('--callers')
if (callersIndex !== -1) {
  const name = args[callersIndex + 1]
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const stacks = new Map()
  for (const [id, us] of self) {
    if (byId.get(id).callFrame.functionName !== name) continue
    const frames = []
    for (let p = id; p !== undefined && frames.length < 8; p = parent.get(p)) {
      const f = byId.get(p).callFrame
      frames.push(`${f.functionName || '(anonymous)'} ${where(f.url)}:${f.lineNumber + 1}`)
    }
    const key = frames.join('\n      <- ')
    stacks.set(key, (stacks.get(key) ?? 0) + us)
  }
  show(`stacks into ${name}`, stacks, 8)
}
