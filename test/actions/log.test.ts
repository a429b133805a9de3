import { describe, expect, it } from 'vitest'
import log from '../../src/actions/log.js'
import { createTestContext, describePluginConformance, type LogLine } from '../../src/testing/index.js'

// The log action's one effect is a log line; every context the kit makes writes here.
const lines: LogLine[] = []

describePluginConformance(log, {
  setup: () => ({ input: { message: 'title {{name}} is ready', id: 4211 }, sideEffects: () => lines.length }),
  context: { logs: lines },
  input: { valid: [{}, { nested: { a: [1, 2] } }], invalid: [] },
})

describe('log', () => {
  it('writes the rendered input at info level and returns it', async () => {
    const ctx = createTestContext()
    const input = { message: 'Episode 42 is ready', url: 'https://example.com/t/4211' }
    const result = await log.run(input, ctx)
    expect(result).toEqual(input)
    expect(ctx.logs).toEqual([{ level: 'info', msg: 'Episode 42 is ready', input }])
  })
})
