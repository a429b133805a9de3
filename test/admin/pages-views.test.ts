import { describe, expect, it } from 'vitest'
import type { Bucket } from '../../src/admin/activity.js'
import { safeNext } from '../../src/admin/page-login.js'
import { createViews } from '../../src/admin/page-render.js'
import { chart } from '../../src/admin/view-chart.js'
import { duration } from '../../src/admin/view-format.js'
import { jsonTree } from '../../src/admin/view-json.js'

/** The pages' view models and views on their own: the payload tree, chart geometry, redirects, escaping. */

const bucket = (at: number, deliveries: number, done = 0, dead = 0): Bucket => ({
  at,
  deliveries,
  outcomes: { done, dead, skipped: 0, previewed: 0 },
})

describe('payload tree', () => {
  it('cuts a huge payload at the node budget and says how much is left out', () => {
    const payload = { items: Array.from({ length: 5_000 }, (_, i) => ({ i })) }
    const tree = jsonTree(payload, 2_000)
    const items = tree.children?.[0]
    expect(items?.summary).toBe('[5000 items]')
    expect(items?.more).toBeGreaterThan(0)
    expect((items?.children?.length ?? 0) + (items?.more ?? 0)).toBe(5_000)
    let nodes = 0
    const walk = (n: { children?: unknown[] }) => {
      nodes++
      for (const c of (n.children ?? []) as Array<{ children?: unknown[] }>) walk(c)
    }
    walk(tree)
    expect(nodes).toBeLessThanOrEqual(2_000)
  })

  it('renders keys and values escaped, in collapsible details', () => {
    const views = createViews()
    const html = views.fragment('json-node', jsonTree({ '<b>k</b>': '<img src=x onerror=alert(1)>', n: [1, null, true] }))
    expect(html).toContain('<details open><summary>')
    expect(html).toContain('&lt;b&gt;k&lt;/b&gt;')
    expect(html).toContain('&quot;&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;&quot;')
    expect(html).not.toContain('<img')
    expect(html).toContain('<span class="j-null">null</span>')
  })
})

describe('charts', () => {
  it('stacks outcomes beside deliveries, on a round scale, with a title per bucket and only active buckets in the table', () => {
    const c = chart('t', 'Test', [bucket(0, 0), bucket(60_000, 4, 3, 1), bucket(120_000, 0)], 60_000)
    expect(c.max).toBe(5)
    expect(c.groups[0]?.bars).toEqual([])
    const bars = c.groups[1]!.bars
    expect(bars.map((b) => b.cls)).toEqual(['bar-deliveries', 'bar-done', 'bar-dead'])
    // Stacked: dead sits on top of done, both on the baseline.
    const [, done, dead] = bars
    expect(done!.y + done!.h).toBeCloseTo(c.baseline)
    expect(dead!.y + dead!.h).toBeCloseTo(done!.y)
    expect(c.groups[1]?.title).toBe('00:01–00:02 UTC: 4 deliveries; 3 done, 1 dead')
    expect(c.rows).toHaveLength(1)
    expect(chart('e', 'Empty', [bucket(0, 0)], 60_000).empty).toBe(true)
  })
})

describe('after signing in', () => {
  it('goes only to a console page on this server', () => {
    expect(safeNext('/admin/events?status=dead', '/admin')).toBe('/admin/events?status=dead')
    expect(safeNext('/admin', '/admin')).toBe('/admin')
    for (const bad of [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example/admin',
      '/admin/../x',
      '/admin/%2e%2e/x',
      '/adminx',
      '/admin/login',
      '/admin/api/stream',
      42,
      undefined,
    ])
      expect(safeNext(bad, '/admin')).toBe('/admin')
  })
})

describe('durations', () => {
  it('reads like a person would say it', () => {
    expect([duration(850), duration(4_200), duration(184_000), duration(7_500_000)]).toEqual(['850 ms', '4.2 s', '3 min 4 s', '2 h 5 min'])
  })
})
