import { describe, expect, it } from 'vitest'
import type { ConfigIssue } from '../../src/errors.js'
import { buildContext } from '../../src/render/context.js'
import { createRenderer } from '../../src/render/renderer.js'
import type { EventInfo, Payload } from '../../src/types.js'

const renderer = createRenderer({ templatesDir: '/nonexistent' })
const event: EventInfo = { id: 'evt_1', type: 'title-ready', receivedAt: '2026-11-20T10:00:00.000Z' }

/** Renders one template string without escaping, failing on any load-time issue. */
function r(source: string, payload: Payload = {}, vars: Record<string, unknown> = {}): string {
  const issues: ConfigIssue[] = []
  const compiled = renderer.compileString(source, 't', issues)
  expect(issues).toEqual([])
  return renderer.renderString(compiled, buildContext({ payload, event, vars, recipe: { name: 'r' } }))
}

describe('json', () => {
  it('stringifies values, with an optional indent', () => {
    expect(r('{{json tags}}', { tags: [{ name: 'A' }] })).toBe('[{"name":"A"}]')
    expect(r('{{json share 2}}', { share: { url: 'u' } })).toBe('{\n  "url": "u"\n}')
    expect(r('{{json n}}', { n: null })).toBe('null')
    expect(r('[{{json missing}}]')).toBe('[]')
  })
})

describe('default', () => {
  it('falls back on null, undefined and empty strings only', () => {
    expect(r('{{default nick "anon"}}', { nick: null })).toBe('anon')
    expect(r('{{default nick "anon"}}', { nick: '' })).toBe('anon')
    expect(r('{{default nick "anon"}}')).toBe('anon')
    expect(r('{{default n "anon"}}', { n: 0 })).toBe('0')
    expect(r('{{default nick "anon"}}', { nick: 'Tom' })).toBe('Tom')
    expect(r('{{default a b "c"}}', { a: null, b: 'B' })).toBe('B')
    expect(r('[{{default}}]')).toBe('[]')
  })
})

describe('eq, ne, and, or, not', () => {
  it('compare strictly', () => {
    expect(r('{{#if (eq type 1)}}yes{{else}}no{{/if}}', { type: 1 })).toBe('yes')
    expect(r('{{#if (eq id "4211")}}yes{{else}}no{{/if}}', { id: 4211 })).toBe('no')
    expect(r('{{eq a a a}}', { a: 'x' })).toBe('true')
    expect(r('{{eq}}')).toBe('false')
    expect(r('{{ne a "x"}}', { a: 'y' })).toBe('true')
    expect(r('{{ne a "x"}}', { a: 'x' })).toBe('false')
  })

  it('combine with #if truthiness (an empty list is false)', () => {
    expect(r('{{#if (and share.url (not is_paid))}}free{{/if}}', { share: { url: 'u' }, is_paid: false })).toBe('free')
    expect(r('{{#if (and a tags)}}x{{else}}y{{/if}}', { a: 1, tags: [] })).toBe('y')
    expect(r('{{#if (or a b)}}x{{else}}y{{/if}}', { a: 0, b: [] })).toBe('y')
    expect(r('{{#if (not tags)}}none{{/if}}', { tags: [] })).toBe('none')
    expect(r('{{#if (and missing 1)}}x{{else}}y{{/if}}')).toBe('y')
    expect(r('{{and}}')).toBe('false')
  })

  it('or returns the first truthy value, so it can pick a field', () => {
    expect(r('{{or nickname name}}', { nickname: '', name: 'Tom' })).toBe('Tom')
    expect(r('[{{or a b}}]', { a: null, b: null })).toBe('[]')
  })
})

describe('join', () => {
  it('joins lists with ", " by default or a separator', () => {
    expect(r('{{join list}}', { list: ['a', 'b', 'c'] })).toBe('a, b, c')
    expect(r('{{join list " | "}}', { list: ['a', 'b'] })).toBe('a | b')
  })

  it('skips empty values in a list of plain values, and keeps numbers and false', () => {
    expect(r('{{join list}}', { list: ['a', '', null, 'b', 0, false] })).toBe('a, b, 0, false')
    expect(r('{{join list "-"}}', { list: [1, 2, 3] })).toBe('1-2-3')
  })

  it('joins a key of each object, skipping empty ones', () => {
    const tags = [{ name: 'Podcast' }, { name: 'Sci-Fi' }, { slug: 'x' }]
    expect(r('{{join tags "name"}}', { tags })).toBe('Podcast, Sci-Fi')
    expect(r('{{join tags "name" " / "}}', { tags })).toBe('Podcast / Sci-Fi')
    expect(r('{{join tags key="name" sep="+"}}', { tags })).toBe('Podcast+Sci-Fi')
    expect(r('[{{join tags "constructor"}}]', { tags })).toBe('[]')
  })

  it('is total on non-lists', () => {
    expect(r('[{{join missing}}]')).toBe('[]')
    expect(r('{{join s}}', { s: 'one' })).toBe('one')
  })
})

describe('truncate', () => {
  it('keeps the result within the length, suffix included', () => {
    expect(r('{{truncate s 8}}', { s: 'Episode 42: The Long Night' })).toBe('Episode…')
    expect(r('{{truncate s 10 "..."}}', { s: 'Episode 42: The Long Night' })).toBe('Episode...')
    expect(r('{{truncate s 100}}', { s: 'short' })).toBe('short')
    expect(r('{{truncate s 3 ""}}', { s: 'abcdef' })).toBe('abc')
  })

  it('cuts a suffix as long as the length or longer, whatever the text', () => {
    expect(r('{{truncate s 3 "-->"}}', { s: 'abcdef' })).toBe('-->')
    expect(r('{{truncate s 2 "🎧🎧🎧"}}', { s: 'abcdef' })).toBe('🎧🎧')
    expect(r('{{truncate s 4 t}}', { s: 'abcdef', t: '🎧'.repeat(100_000) })).toBe('🎧🎧🎧🎧')
    expect(r('{{truncate s 4 "…!"}}', { s: 'abcdef' })).toBe('ab…!')
  })

  it('never splits an emoji and is total', () => {
    expect(r('{{truncate s 3}}', { s: '🎧🎧🎧🎧' })).toBe('🎧🎧…')
    expect(r('{{truncate s}}', { s: 'abc' })).toBe('abc')
    expect(r('[{{truncate missing 3}}]')).toBe('[]')
  })
})

describe('lower, upper, urlencode', () => {
  it('transform text and accept missing values', () => {
    expect(r('{{lower s}} {{upper s}}', { s: 'Sci-Fi' })).toBe('sci-fi SCI-FI')
    expect(r('[{{upper missing}}]')).toBe('[]')
    expect(r('{{urlencode s}}', { s: 'Tom & Jerry/?' })).toBe('Tom%20%26%20Jerry%2F%3F')
    expect(r('{{urlencode s}}', { s: 'a\uD800b' })).toBe('a%EF%BF%BDb')
  })
})

describe('duration', () => {
  it('formats milliseconds as a clock', () => {
    expect(r('{{duration ms}}', { ms: 1834000 })).toBe('30:34')
    expect(r('{{duration ms}}', { ms: 3723000 })).toBe('1:02:03')
    expect(r('{{duration ms}}', { ms: '1834000' })).toBe('30:34')
    expect(r('[{{duration ms}}]', { ms: 'soon' })).toBe('[]')
  })
})

describe('bytes', () => {
  it('formats 1024-based sizes, one decimal below 10', () => {
    expect(r('{{bytes n}}', { n: 29345000 })).toBe('28 MB')
    expect(r('{{bytes n}}', { n: 512 })).toBe('512 B')
    expect(r('{{bytes n}}', { n: 1024 })).toBe('1 KB')
    expect(r('{{bytes n}}', { n: 1536 })).toBe('1.5 KB')
    expect(r('{{bytes n}}', { n: 1024 * 1024 - 100 })).toBe('1 MB')
    expect(r('{{bytes n}}', { n: 5.25 * 1024 ** 3 })).toBe('5.3 GB')
    expect(r('[{{bytes n}}]', { n: -1 })).toBe('[]')
    expect(r('[{{bytes n}}]')).toBe('[]')
  })
})

describe('date', () => {
  it('formats ISO strings and epoch milliseconds in UTC', () => {
    expect(r('{{date created}}', { created: '2026-11-20T10:00:00Z' })).toBe('2026-11-20')
    expect(r('{{date created "YYYY-MM-DD HH:mm"}}', { created: '2026-11-20T23:05:09+02:00' })).toBe('2026-11-20 21:05')
    expect(r('{{date t "DD/MM/YYYY HH:mm:ss"}}', { t: Date.UTC(2026, 0, 2, 3, 4, 5) })).toBe('02/01/2026 03:04:05')
    expect(r('{{date t "iso"}}', { t: 0 })).toBe('1970-01-01T00:00:00.000Z')
  })

  it('reads a zoneless time as UTC and is total', () => {
    expect(r('{{date t "HH:mm"}}', { t: '2026-11-20T10:30' })).toBe('10:30')
    expect(r('[{{date t}}]', { t: 'not a date' })).toBe('[]')
    expect(r('[{{date}}]')).toBe('[]')
  })
})

describe('stripHtml', () => {
  it('removes tags, decodes basic entities and collapses whitespace', () => {
    expect(r('{{stripHtml d}}', { d: '<p>A story about <b>stars</b>.</p>' })).toBe('A story about stars.')
    expect(r('{{stripHtml d}}', { d: '<p>One</p><p>Two<br/>Three</p>\n\n' })).toBe('One Two Three')
    expect(r('{{stripHtml d}}', { d: 'Tom &amp; Jerry &lt;3 &quot;hi&quot; &#39;x&#x27; a&nbsp;b' })).toBe(`Tom & Jerry <3 "hi" 'x' a b`)
    expect(r('{{stripHtml d}}', { d: '&amp;lt;b&amp;gt; 1 < 2' })).toBe('&lt;b&gt; 1 < 2')
    expect(r('[{{stripHtml d}}]')).toBe('[]')
  })
})

describe('lookup (built in)', () => {
  it('reads a key given by another field', () => {
    expect(r('{{lookup vars.creators creator}}', { creator: 'Jane Doe' }, { creators: { 'Jane Doe': 'jane@example.com' } })).toBe(
      'jane@example.com',
    )
    expect(r('[{{lookup vars.creators creator}}]', { creator: 'Nobody' }, { creators: {} })).toBe('[]')
  })
})

describe('extra helpers', () => {
  it('can be registered per renderer, and are known at load time', () => {
    const custom = createRenderer({ templatesDir: '/nonexistent', helpers: { shout: (s: unknown) => `${String(s)}!` } })
    const issues: ConfigIssue[] = []
    const compiled = custom.compileString('{{shout name}}', 't', issues)
    expect(issues).toEqual([])
    expect(custom.renderString(compiled, buildContext({ payload: { name: 'hi' }, event, recipe: { name: 'r' } }))).toBe('hi!')
    expect(custom.helperNames).toContain('shout')
    expect(renderer.helperNames).not.toContain('shout')
  })
})

describe('output bounded by the input', () => {
  it('json prints compact when indenting would multiply a deeply nested value', () => {
    const deep = JSON.parse(`${'['.repeat(150)}1${']'.repeat(150)}`)
    expect(r('{{json v 10}}', { v: Array(50).fill(deep) })).toBe(JSON.stringify(Array(50).fill(deep)))
    expect(r('{{json v 2}}', { v: { a: [1] } })).toBe('{\n  "a": [\n    1\n  ]\n}')
  })

  it('join refuses a separator that would repeat past 16 times the input, naming the helper', () => {
    const payload = { items: Array(2000).fill('x'), sep: ','.repeat(100_000) }
    expect(() => r('{{join items sep}}', payload)).toThrow(/helper "join": a 100000-character separator between 2000 items/)
    expect(r('{{join items " | "}}', { items: ['a', '', null, 'b'] })).toBe('a | b')
  })

  it('stripHtml reads unclosed tags as text, in one pass', () => {
    expect(r('{{stripHtml d}}', { d: `${'<p'.repeat(50_000)}` })).toBe('<p'.repeat(50_000))
    expect(r('{{stripHtml d}}', { d: '<p<p>x</p> <b>y' })).toBe('x y')
  })
})
