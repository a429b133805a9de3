import { describe, expect, it } from 'vitest'
import { printable } from '../../src/cli/output.js'

describe('printable', () => {
  it('shows control characters from a payload as \\xNN, so a title cannot drive the terminal', () => {
    expect(printable('Episode \u001b[2J\u001b]0;pwned\u0007 42\r\n')).toBe('Episode \\x1b[2J\\x1b]0;pwned\\x07 42\\x0d\\x0a')
    expect(printable('Ünïcödé titles stay as they are ✓')).toBe('Ünïcödé titles stay as they are ✓')
  })
})
