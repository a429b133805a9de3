/** Self-signed certificates for loopback HTTPS, made by openssl as an operator would, and what a client sees of one. */
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:tls'

/** Writes `<name>.crt` and `<name>.key` (P-256, one day, for localhost and 127.0.0.1) into `dir`; returns their paths. */
export function selfSigned(dir: string, name = 'server'): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  const subject = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', ...subject]
  execFileSync('openssl', [...args, '-keyout', key, '-out', cert], { stdio: 'pipe' })
  return { cert, key }
}

/** The SHA-256 fingerprint of the certificate in a PEM file, as a TLS client shows it. */
export const fingerprintOf = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256

/**
 * The SHA-256 fingerprint of the certificate a server presents to a new
 * connection. Unverified: the exact fingerprint is the check, and a rotated
 * certificate is not the one the caller trusted before.
 */
export function servedFingerprint(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername: 'localhost', rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256)
      socket.end()
    })
    socket.on('error', reject)
  })
}
