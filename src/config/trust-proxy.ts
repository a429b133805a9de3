import proxyaddr from 'proxy-addr'
import type { TrustProxy } from './resolved.js'
import { at, type Validator } from './validate.js'

const PATH = 'server.trustProxy'
const HINT = 'e.g. "10.0.0.0/8", "::1", or loopback, linklocal, uniquelocal'

/**
 * `server.trustProxy`, with express's `trust proxy` meaning: `false` (the
 * socket's address is the client), `true` (the left-most `X-Forwarded-For`
 * address), a hop count, or the proxies' addresses and CIDRs (a list, or a
 * string separated by commas). Every entry is compiled here, so a typo is a
 * config error rather than a proxy that is silently not trusted.
 */
export function resolveTrustProxy(v: Validator, value: unknown): TrustProxy {
  if (value == null || value === false) return { kind: 'none' }
  if (value === true) return { kind: 'all' }
  if (typeof value === 'number') {
    const hops = v.integer(value, PATH, 0, 64)
    return hops ? { kind: 'hops', hops } : { kind: 'none' }
  }
  const listed = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : Array.isArray(value) ? value : undefined
  if (!listed) {
    v.fail(PATH, `must be false, true, a number of proxies in front, or a list of their addresses or CIDRs (${HINT})`)
    return { kind: 'none' }
  }
  const entries = listed.flatMap((entry, i) => {
    const path = typeof value === 'string' ? PATH : at(PATH, i)
    return checkEntry(v, entry, path) ? [entry as string] : []
  })
  if (listed.length === 0) v.fail(PATH, `is an empty list: use false to trust no proxy, or list their addresses (${HINT})`)
  return entries.length === listed.length && entries.length > 0 ? { kind: 'list', entries } : { kind: 'none' }
}

function checkEntry(v: Validator, entry: unknown, path: string): boolean {
  if (typeof entry !== 'string' || entry === '') {
    v.fail(path, `must be an address or CIDR (${HINT})`)
    return false
  }
  try {
    proxyaddr.compile(entry)
    return true
  } catch {
    v.fail(path, `${JSON.stringify(entry.slice(0, 100))} is not an address or CIDR (${HINT})`)
    return false
  }
}
