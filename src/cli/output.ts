import { isAbsolute, relative, sep } from 'node:path'
import { ConfigError } from '../errors.js'

/** Prints an error the way a person wants to read it, and sets the exit code. */
export function reportError(err: unknown): void {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`)
  } else if (err instanceof Error) {
    process.stderr.write(`error: ${err.message}\n`)
  } else {
    process.stderr.write(`error: ${String(err)}\n`)
  }
  process.exitCode = 1
}

/** Reads a payload file, or standard input for `-`. */
export async function readInput(file: string): Promise<string> {
  if (file !== '-') {
    const { readFile } = await import('node:fs/promises')
    try {
      return await readFile(file, 'utf8')
    } catch (err) {
      throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
    }
  }
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Every line of `text` indented by `n` spaces. */
export function indent(text: string, n: number): string {
  const pad = ' '.repeat(n)
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n')
}

/** `text` with control characters shown as `\xNN`: a payload value cannot move the cursor or recolour a terminal. */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** `file` relative to the working folder when it is inside it (`.audiorista/key`), else absolute (`/data/key`, not `../data/key`). */
export function shownPath(file: string): string {
  const rel = relative(process.cwd(), file)
  return rel && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel) ? rel : file
}
