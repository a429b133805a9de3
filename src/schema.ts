import type { ConfigIssue } from './errors.js'
import type { StandardSchemaV1 } from './standard-schema.js'

/** Runs a Standard Schema and turns its issues into config-style paths (`with.channel: required`). */
export async function validateWith<T>(schema: StandardSchemaV1<unknown, T> | undefined, value: unknown, base: string): Promise<{ value: T; issues: ConfigIssue[] }> {
  if (!schema) return { value: value as T, issues: [] }
  const result = await schema['~standard'].validate(value)
  if (!result.issues) return { value: result.value, issues: [] }
  return { value: value as T, issues: result.issues.map((i) => ({ path: joinPath(base, i.path ?? []), message: shortMessage(i.message, valueAt(value, i.path ?? [])) })) }
}

export function joinPath(base: string, path: ReadonlyArray<PropertyKey | StandardSchemaV1.PathSegment>): string {
  let out = base
  for (const seg of path) {
    const key = typeof seg === 'object' ? seg.key : seg
    out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key)
  }
  return out
}

function valueAt(value: unknown, path: ReadonlyArray<PropertyKey | StandardSchemaV1.PathSegment>): unknown {
  let v = value
  for (const seg of path) {
    const key = typeof seg === 'object' ? seg.key : seg
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined
    v = (v as Record<PropertyKey, unknown>)[key]
  }
  return v
}

/** Schema libraries say "Invalid input: expected string, received undefined"; users want "required". */
function shortMessage(message: string, actual: unknown): string {
  if (actual === undefined && /received undefined|required/i.test(message)) return 'required'
  return message.replace(/^Invalid input: /, '')
}
