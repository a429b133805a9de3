const SECRET = /token|passw|secret|authorization|api[-_]?key|^key$|x-audiorista-key/i

/** A copy with secret-looking fields masked: for logs, stored run inputs and printed previews. */
export function redact(value: unknown, depth = 0): unknown {
  // Errors keep their shape (the logger serialises them); their messages never carry secrets by design.
  if (depth > 50 || value === null || typeof value !== 'object' || value instanceof Error) return value
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, k, { value: SECRET.test(k) && v ? '[redacted]' : redact(v, depth + 1), enumerable: true, writable: true, configurable: true })
  }
  return out
}
