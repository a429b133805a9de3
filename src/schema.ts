import type { ConfigIssue } from './errors.js'
import type { StandardSchemaV1 } from './standard-schema.js'

/** A schema issue with what the caller may need to judge it: the value found and the top-level field. */
export interface SchemaIssue extends ConfigIssue {
  /** The value at the issue's path (undefined when missing). */
  actual: unknown
  /** The first segment of the path (the top-level input field), if any. */
  field?: PropertyKey
}

/** Runs a Standard Schema; its issues get config-style paths (`with.channel: required`). */
export async function checkSchema<T>(
  schema: StandardSchemaV1<unknown, T> | undefined,
  value: unknown,
  base: string,
): Promise<{ value: T; issues: SchemaIssue[] }> {
  if (!schema) return { value: value as T, issues: [] }
  const result = await schema['~standard'].validate(value)
  if (!result.issues) return { value: result.value, issues: [] }
  return {
    value: value as T,
    issues: result.issues.map((i) => {
      const path = i.path ?? []
      const actual = valueAt(value, path)
      const first = path[0]
      const issue: SchemaIssue = { path: joinPath(base, path), message: shortMessage(i.message, actual), actual }
      if (first !== undefined) issue.field = typeof first === 'object' ? first.key : first
      return issue
    }),
  }
}

/** `checkSchema` with plain config issues, for messages and ConfigError. */
export async function validateWith<T>(
  schema: StandardSchemaV1<unknown, T> | undefined,
  value: unknown,
  base: string,
): Promise<{ value: T; issues: ConfigIssue[] }> {
  const { value: checked, issues } = await checkSchema(schema, value, base)
  return { value: checked, issues: issues.map(({ path, message }) => ({ path, message })) }
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
