import type { IncomingMessage } from 'node:http'
import proxyaddr from 'proxy-addr'
import type { TrustProxy } from '../config/resolved.js'

/** Whether the hop at `addr`, `hop` steps from the runner, is a proxy to believe: proxy-addr's and express's `trust proxy` function. */
export type TrustFunction = (addr: string, hop: number) => boolean

/**
 * `server.trustProxy` as express's `trust proxy` function. The console's
 * express app and the receiver's logs both use it, so they name the same
 * client.
 */
export function compileTrust(trust: TrustProxy): TrustFunction {
  switch (trust.kind) {
    case 'none':
      return () => false
    case 'all':
      return () => true
    case 'hops':
      return (_addr, hop) => hop < trust.hops
    case 'list':
      return proxyaddr.compile(trust.entries)
  }
}

/**
 * The client's address: the socket's, or with trusted proxies in front, the
 * nearest `X-Forwarded-For` address that is not one of them (as `req.ip` in
 * express). Without trusted proxies the header is ignored, so a client
 * cannot pick its own address.
 */
export function clientAddress(trust: TrustProxy): (req: IncomingMessage) => string {
  const trusted = compileTrust(trust)
  return (req) => (req.socket.remoteAddress === undefined ? 'unknown' : proxyaddr(req, trusted))
}
