/**
 * The strew layer's gRPC server, bound before the flock starts (a leader announces its address), on
 * the flock's mutual TLS (runtime/grpc-tls.ts). Until strew starts it serves health and reflection
 * only; `trust` then says which KeyIDs a channel's key may speak as.
 */
import type { GrpcLimits } from '../../runtime/grpc-limits.js'
import { createSecureServer, type SecureServer } from '../../runtime/grpc-server.js'
import type { PeerTls } from '../../runtime/grpc-tls.js'

export interface StrewServer {
  readonly server: SecureServer
  readonly address: string
  /** The certificates the server presents, and its clients too. */
  readonly tls: PeerTls
  /** Sets whose keys the server accepts. */
  trust(lookup: (keyId: string) => Uint8Array | undefined): void
}

/** Binds the server on host:port. */
export async function bindStrewServer(o: { host: string; port: number; tls: PeerTls; limits?: Partial<GrpcLimits> }): Promise<StrewServer> {
  let lookup = (_keyId: string): Uint8Array | undefined => undefined
  const server = createSecureServer({ host: o.host, port: o.port, tls: o.tls, lookup: (k) => lookup(k), ...(o.limits === undefined ? {} : { limits: o.limits }) })
  const address = await server.start()
  return { server, address, tls: o.tls, trust: (fn) => void (lookup = fn) }
}
