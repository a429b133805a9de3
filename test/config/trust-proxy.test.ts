import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config/resolve.js'
import { compareConfigs, describeChange } from '../../src/reload/compare.js'
import { configProblems } from '../helpers/config-problems.js'

const rootDir = '/srv/runner'
const resolve = (trustProxy: unknown) => resolveConfig({ server: { trustProxy } }, { rootDir, env: {} })

const problems = (trustProxy: unknown) => configProblems({ server: { trustProxy } }, { rootDir })

describe('server.trustProxy', () => {
  it("takes express's trust proxy values: false, true, a hop count, addresses and CIDRs", () => {
    const trust = (value: unknown) => resolve(value).server.trustProxy
    expect(trust(undefined)).toEqual({ kind: 'none' })
    expect(trust(false)).toEqual({ kind: 'none' })
    expect(trust(0)).toEqual({ kind: 'none' })
    expect(trust(true)).toEqual({ kind: 'all' })
    expect(trust(2)).toEqual({ kind: 'hops', hops: 2 })
    expect(trust('loopback, 10.0.0.0/8')).toEqual({ kind: 'list', entries: ['loopback', '10.0.0.0/8'] })
    expect(trust(['::1', '172.16.0.0/12', '192.168.0.0/255.255.0.0', 'uniquelocal'])).toEqual({
      kind: 'list',
      entries: ['::1', '172.16.0.0/12', '192.168.0.0/255.255.0.0', 'uniquelocal'],
    })
  })

  it('refuses what is not an address or CIDR, naming the entry', () => {
    const hint = '(e.g. "10.0.0.0/8", "::1", or loopback, linklocal, uniquelocal)'
    expect(problems('10.0.0.0/33')).toEqual([`server.trustProxy: "10.0.0.0/33" is not an address or CIDR ${hint}`])
    expect(problems(['10.0.0.1', 'nginx', 7])).toEqual([
      `server.trustProxy[1]: "nginx" is not an address or CIDR ${hint}`,
      `server.trustProxy[2]: must be an address or CIDR ${hint}`,
    ])
    expect(problems(-1)).toEqual(['server.trustProxy: must be an integer from 0 to 64'])
    expect(problems(1.5)).toEqual(['server.trustProxy: must be an integer from 0 to 64'])
    expect(problems([])).toEqual([`server.trustProxy: is an empty list: use false to trust no proxy, or list their addresses ${hint}`])
    expect(problems({ from: 'nginx' })[0]).toMatch(/^server\.trustProxy: must be false, true, a number of proxies in front, or a list/)
  })

  it('needs a restart: a reload leaves the running value and says so', () => {
    const change = compareConfigs(resolve(false), resolve('loopback'))
    expect(describeChange(change)).toBe('recipes: +0 ~0 -0; keys: unchanged; needs a restart (not applied): server.trustProxy')
  })
})
