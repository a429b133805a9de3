import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { createSecureContext, type SecureContextOptions } from 'node:tls'
import type { ResolvedTls } from './resolved.js'
import type { Validator } from './validate.js'

const PATH = 'server.tls'
const FILES = {
  cert: { noun: 'certificate', begin: /-----BEGIN CERTIFICATE-----/ },
  key: { noun: 'private key', begin: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
} as const
type Which = keyof typeof FILES

/**
 * `server.tls`: the certificate and key files, read at every load (start,
 * `check`, each reload, so a renewed certificate is served after SIGHUP) and
 * checked as the server will use them: `tls.createSecureContext` parses each
 * and refuses a key that is not the certificate's. Messages name the files,
 * never what a key file holds.
 */
export function resolveTls(v: Validator, value: unknown, rootDir: string): ResolvedTls | undefined {
  const tls = v.object(value, PATH, { keys: ['cert', 'key'], what: 'an object ({ cert, key }: paths of PEM files)' })
  if (!tls) return undefined
  const cert = readPem(v, tls.cert, 'cert', rootDir)
  const key = readPem(v, tls.key, 'key', rootDir)
  if (!cert || !key) return undefined
  // Each alone first, so that a fault is pinned on its file.
  if (!usable(v, 'cert', cert.file, { cert: cert.pem }) || !usable(v, 'key', key.file, { key: key.pem })) return undefined
  try {
    createSecureContext({ cert: cert.pem, key: key.pem })
  } catch (err) {
    const message =
      (err as NodeJS.ErrnoException).code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH'
        ? `${key.file} is not the key of the certificate in ${cert.file}`
        : `${key.file} cannot be used with the certificate in ${cert.file}: ${(err as Error).message}`
    return v.fail(`${PATH}.key`, message)
  }
  return { certFile: cert.file, keyFile: key.file, cert: cert.pem, key: key.pem }
}

/** The file's text, once it reads and looks like PEM of its kind; else undefined, with the reason recorded. */
function readPem(v: Validator, value: unknown, which: Which, rootDir: string): { file: string; pem: string } | undefined {
  const path = `${PATH}.${which}`
  const written = v.string(value, path, { required: true })
  if (written === undefined) return undefined
  // Relative to the config's folder, like every path written in it.
  const file = isAbsolute(written) ? written : resolve(rootDir, written)
  let pem: string
  try {
    pem = readFileSync(file, 'utf8')
  } catch (err) {
    return v.fail(path, `cannot read ${file}: ${readError(err as NodeJS.ErrnoException)}`)
  }
  const { noun, begin } = FILES[which]
  if (begin.test(pem)) {
    if (which === 'key' && /ENCRYPTED/.test(pem))
      return v.fail(path, `${file} is encrypted; give the runner an unencrypted key (openssl pkey -in encrypted.pem -out key.pem)`)
    return { file, pem }
  }
  const other = FILES[which === 'cert' ? 'key' : 'cert']
  const why = other.begin.test(pem)
    ? `it holds a ${other.noun}: are cert and key swapped?`
    : `no "-----BEGIN ${noun.toUpperCase()}-----" line`
  return v.fail(path, `${file} is not a PEM ${noun} (${why})`)
}

/** Whether OpenSSL parses the file; a message naming it if not (OpenSSL's reasons quote no content). */
function usable(v: Validator, which: Which, file: string, options: SecureContextOptions): boolean {
  try {
    createSecureContext(options)
    return true
  } catch (err) {
    v.fail(`${PATH}.${which}`, `${file} is not a valid PEM ${FILES[which].noun}: ${(err as Error).message}`)
    return false
  }
}

function readError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
      return "permission denied (the runner's user must be able to read it)"
    case 'EISDIR':
      return 'it is a folder, not a file'
    default:
      return err.code ?? err.message
  }
}
