/**
 * crux's gRPC edge: a grpc-js server whose services are reached only over mutual TLS 1.3 with the
 * flock's certificates (runtime/grpc-tls.ts), and grpc.health.v1 and server reflection, which are
 * also served in plaintext on the same port (so `grpcurl -plaintext` and load balancers' probes work;
 * nothing else is). Status codes exist only here; behind this edge everything is CruxErrors and plain
 * values.
 *
 * The channel authenticates the caller's key once per connection; each call then names the KeyID it
 * speaks as (`crux-key` metadata), and a service that is not `open` takes the call only when the
 * whitelist gives that KeyID the very key of the channel ({@link callerOf}). A refused call gets the
 * same words whatever the reason (`call refused`), so the caller learns nothing; a message over the
 * size limit is refused by grpc-js with RESOURCE_EXHAUSTED. None of these stops the server.
 *
 * The server runs the TLS handshake itself, on its own listener, and hands the decrypted connection
 * to grpc-js: so it knows each connection's key from its handshake instead of asking OpenSSL for the
 * peer certificate on every call (≈ 30 µs each). Connections, streams, idle time and the bytes of
 * unfinished requests are bounded (grpc-limits.ts, docs/LIMITS.md).
 */
import * as grpc from '@grpc/grpc-js'
import { Health, type ServingStatus } from './grpc-health.js'
import { addLazyReflection } from './grpc-reflection.js'
import { GrpcCallStats } from './grpc-call-stats.js'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import { CALLER_HEADER, certKey, type PeerTls } from './grpc-tls.js'
import { cannotServe, CruxError, InvalidArgumentError } from './errors.js'
import { boundPendingBytes, GRPC_LIMITS, listenBounded, serverOptions, type GrpcLimitCounters, type GrpcLimits } from './grpc-limits.js'
import type { Server as NetServer, Socket } from 'node:net'
import { Duplex } from 'node:stream'

export type { ServingStatus } from './grpc-health.js'

/** protos/ of the package: two levels up from dist/runtime, or from dist/bin in the bundle. */
function protosDir(): string {
  for (const up of ['../../protos/', '../protos/', '../../../protos/']) {
    const dir = fileURLToPath(new URL(up, import.meta.url))
    if (existsSync(`${dir}crux/v1/reeve.proto`)) return dir
  }
  throw new InvalidArgumentError('cannot find the protos/ directory of the crux package')
}
/** The .proto files reflection describes (paths under protos/). */
export const SERVICE_PROTOS = ['crux/v1/reeve.proto', 'crux/v1/registry.proto', 'crux/v1/steward.proto', 'crux/v1/heartbeat.proto', 'crux/v1/pastiche.proto']

export interface SecureServerInit {
  host: string
  port: number
  /** The flock CA, and this node's certificate and key. */
  tls: PeerTls
  /** The whitelist: the Ed25519 public key of a KeyID, or undefined. Asked on every call of a service that is not open. */
  lookup(keyId: string): Uint8Array | undefined
  /** Largest request accepted, bytes. Default 1 MiB. */
  maxMessageBytes?: number
  /** Connection, stream and memory bounds (runtime/grpc-limits.ts); each defaults to GRPC_LIMITS'. */
  limits?: Partial<GrpcLimits>
}

/** Calls refused before their handler, by why; connections that did not complete a TLS handshake. */
export interface ChannelCounters {
  /** The call named no KeyID. */
  unnamed: number
  /** The KeyID is not on the whitelist. */
  unknown: number
  /** The whitelist gives the KeyID another key than the channel's. */
  mismatch: number
  accepted: number
  /** TLS handshakes that failed (no certificate, another flock's CA, not TLS at all). */
  handshakeFailures: number
  /** Plaintext connections (health and reflection only). */
  plaintext: number
}

export interface SecureServer {
  readonly server: grpc.Server
  /** Connections refused and streams reset by the bounds. */
  readonly limitCounters: Readonly<GrpcLimitCounters>
  readonly channelCounters: Readonly<ChannelCounters>
  /** Calls answered, by method and status code, and their latency (read by `/metrics`). */
  readonly callStats: GrpcCallStats
  /** grpc.health.v1: '' is the server as a whole; each service by its full name. */
  setStatus(service: string, status: ServingStatus): void
  /**
   * Adds a service. Every call comes over the flock's mutual TLS; unless `open`, it must also name a
   * whitelisted KeyID whose key is the channel's, or it is refused before its handler.
   */
  addService(definition: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation, options?: { open?: boolean; lookup?: KeyLookup }): void
  /** Binds and starts; resolves with host:port. */
  start(): Promise<string>
  close(): Promise<void>
}

/**
 * A service's own whitelist, instead of the server's: the key a KeyID may speak with. It is also
 * given the key the channel authenticated, for a whitelist that admits a KeyID by what its key makes
 * (a flock member's own KeyID) rather than by a stored key.
 */
export type KeyLookup = (keyId: string, channelKey: Uint8Array) => Uint8Array | undefined

/** The caller each call was authorised as; a WeakMap, so nothing a client sends can set it. */
const callers = new WeakMap<object, string>()

/**
 * The KeyID a call speaks as, established by the server: the whitelist gives it the key the channel
 * authenticated. '' for a call of an open service.
 */
export function callerOf(call: object): string {
  return callers.get(call) ?? ''
}

/** A ServiceError with `code` and `details` (what handlers pass to their callback). */
export function statusError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() })
}

/** Any error as a status: a CruxError keeps its code and words; anything else is INTERNAL, unexplained. */
export function toServiceError(err: unknown): grpc.ServiceError {
  if (err instanceof CruxError) return statusError(err.code as grpc.status, err.message)
  return statusError(grpc.status.INTERNAL, 'internal error')
}

/** A unary handler from an async function; a thrown error becomes its status. */
export function unary<Req, Res>(fn: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let p: Promise<Res>
    try {
      p = Promise.resolve(fn(call))
    } catch (err) {
      return callback(toServiceError(err))
    }
    p.then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    )
  }
}

const equalKeys = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0

/** Wraps a handler so it runs only for a call whose named KeyID the whitelist gives the channel's key. */
function authorised(def: grpc.MethodDefinition<unknown, unknown>, handler: grpc.UntypedHandleCall, lookup: KeyLookup, keyOf: (peer: string) => Uint8Array | undefined, n: ChannelCounters): grpc.UntypedHandleCall {
  const admit = (call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>, decode = true): grpc.ServiceError | null => {
    const named = call.metadata.get(CALLER_HEADER)[0]
    const channel = keyOf(call.getPeer())
    if (typeof named !== 'string' || named === '' || named.length > 256 || channel === undefined) return n.unnamed++, statusError(grpc.status.UNAUTHENTICATED, 'call refused')
    const listed = lookup(named, channel)
    if (listed === undefined) return n.unknown++, statusError(grpc.status.PERMISSION_DENIED, 'call refused')
    if (!equalKeys(listed, channel)) return n.mismatch++, statusError(grpc.status.UNAUTHENTICATED, 'call refused')
    if (decode) {
      const c = call as grpc.ServerUnaryCall<unknown, unknown>
      try {
        c.request = def.requestDeserialize(c.request as Buffer)
      } catch {
        return statusError(grpc.status.INVALID_ARGUMENT, `malformed request for ${def.path}`)
      }
    }
    n.accepted++
    callers.set(call, named)
    return null
  }
  if (!def.requestStream && !def.responseStream) {
    const h = handler as grpc.handleUnaryCall<unknown, unknown>
    return ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const err = admit(call)
      if (err !== null) return callback(err)
      h(call, callback)
    }) as grpc.UntypedHandleCall
  }
  if (!def.requestStream && def.responseStream) {
    const h = handler as grpc.handleServerStreamingCall<unknown, unknown>
    return ((call: grpc.ServerWritableStream<unknown, unknown>) => {
      const err = admit(call)
      if (err !== null) return void call.emit('error', err)
      h(call)
    }) as grpc.UntypedHandleCall
  }
  if (def.requestStream && !def.responseStream) {
    // Admitted on its metadata, before a message is read; grpc-js decodes its messages as they come.
    const h = handler as grpc.handleClientStreamingCall<unknown, unknown>
    return ((call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const err = admit(call, false)
      if (err !== null) return callback(err)
      h(call, callback)
    }) as grpc.UntypedHandleCall
  }
  throw new InvalidArgumentError(`${def.path}: bidirectional calls are not authorised per call`)
}

/** TLS records start with a handshake record (0x16); an HTTP/2 preface with 'P'. */
const TLS_HANDSHAKE = 0x16

/**
 * `socket` with what was read of it put back in front, as a stream: HTTP/2 takes a socket's handle
 * and would never see bytes already read. Only for plaintext health checks, where speed is no matter.
 */
function replaying(socket: Socket): Duplex {
  const d = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _enc, cb) => void socket.write(chunk, cb),
    final: (cb) => void socket.end(cb),
    destroy: (err, cb) => {
      socket.destroy()
      cb(err)
    },
  })
  socket.on('data', (b: Buffer) => {
    if (!d.push(b)) socket.pause()
  })
  socket.once('end', () => d.push(null))
  socket.once('close', () => d.destroy())
  return d
}

export function createSecureServer(o: SecureServerInit): SecureServer {
  const limits: GrpcLimits = { ...GRPC_LIMITS, ...o.limits, ...(o.maxMessageBytes === undefined ? {} : { maxMessageBytes: o.maxMessageBytes }) }
  const counters: GrpcLimitCounters = { refusedConnections: 0, resetStreams: 0, acceptErrors: 0 }
  const channel: ChannelCounters = { unnamed: 0, unknown: 0, mismatch: 0, accepted: 0, handshakeFailures: 0, plaintext: 0 }
  const callStats = new GrpcCallStats()
  const server = new grpc.Server({ ...serverOptions(limits), interceptors: [callStats.interceptor] })
  // Plaintext connections reach this one: health and reflection, nothing that says or changes anything.
  const plain = new grpc.Server({ ...serverOptions(limits), interceptors: [callStats.interceptor] })
  /** Paths of client-streaming methods (uploads), whose bytes are bounded per message (grpc-limits.ts). */
  const streaming = new Set<string>()
  boundPendingBytes(server, limits, counters, streaming)
  boundPendingBytes(plain, limits, counters)
  let listener: NetServer | undefined
  const health = new Health({ '': 'SERVING' })
  for (const s of [server, plain]) {
    health.addToServer(s)
    addLazyReflection(s, protosDir(), SERVICE_PROTOS)
  }
  /** The key each open TLS connection authenticated, by its peer address (what `call.getPeer()` says). */
  const peers = new Map<string, Uint8Array>()
  const tlsServer = createTlsServer({ ca: o.tls.ca, cert: o.tls.cert, key: o.tls.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', ALPNProtocols: ['h2'], handshakeTimeout: 10_000 })
  tlsServer.on('tlsClientError', (_err, socket) => {
    channel.handshakeFailures++
    socket.destroy()
  })
  return {
    server,
    limitCounters: counters,
    channelCounters: channel,
    callStats,
    setStatus: (service, status) => health.setStatus(service, status),
    addService(definition, impl, options = {}) {
      if (options.open === true) return server.addService(definition, impl)
      for (const def of Object.values(definition)) if (def.requestStream) streaming.add(def.path)
      const defs: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
      const impls: grpc.UntypedServiceImplementation = {}
      for (const [name, def] of Object.entries(definition)) {
        defs[name] = def
        const h = impl[name]
        if (h === undefined) continue // grpc-js answers UNIMPLEMENTED
        // Bytes pass through: a refused call is never decoded, and one that does not decode is
        // INVALID_ARGUMENT. A client stream's messages come only once it is admitted; grpc-js decodes those.
        if (!def.requestStream) defs[name] = { ...def, requestDeserialize: (b: Buffer) => b }
        impls[name] = authorised(def, h, options.lookup ?? ((keyId) => o.lookup(keyId)), (peer) => peers.get(peer), channel)
      }
      server.addService(defs as grpc.ServiceDefinition, impls)
    },
    // Our own listener, not bindAsync: grpc-js would accept every connection (see grpc-limits.ts).
    async start() {
      // Both injectors take connections in the clear: the TLS one gets them decrypted (tlsServer below).
      const secure = server.createConnectionInjector(grpc.ServerCredentials.createInsecure())
      const plaintext = plain.createConnectionInjector(grpc.ServerCredentials.createInsecure())
      tlsServer.on('secureConnection', (socket: TLSSocket) => {
        const raw = socket.getPeerCertificate().raw as Buffer | undefined
        const key = raw === undefined ? undefined : certKey(raw)
        const peer = `${socket.remoteAddress}:${socket.remotePort}`
        if (!socket.authorized || key === undefined || socket.remoteAddress === undefined) {
          channel.handshakeFailures++
          return void socket.destroy()
        }
        peers.set(peer, key)
        socket.once('close', () => {
          if (peers.get(peer) === key) peers.delete(peer)
        })
        secure.injectConnection(socket as unknown as Socket)
      })
      const route = (socket: Socket) => {
        // Errors of the raw socket surface on whoever reads it next (TLS or HTTP/2); never as a crash.
        socket.on('error', () => undefined)
        // A connection that says nothing is closed, as an idle one is.
        const silent = setTimeout(() => socket.destroy(), limits.idleMs)
        socket.once('close', () => clearTimeout(silent))
        socket.once('data', (first: Buffer) => {
          clearTimeout(silent)
          socket.pause()
          socket.unshift(first)
          if (first[0] === TLS_HANDSHAKE) return void tlsServer.emit('connection', socket) // TLS reads what was put back
          channel.plaintext++
          plaintext.injectConnection(replaying(socket) as unknown as Socket)
        })
      }
      try {
        listener = await listenBounded(o.host, o.port, limits, counters, route)
      } catch (err) {
        secure.destroy()
        plaintext.destroy()
        // A failure to start, not a usage error: exit 1 like any port that cannot be bound (CLI.md).
        throw cannotServe('gRPC', `${o.host}:${o.port}`, err)
      }
      const port = (listener.address() as { port: number }).port
      return `${o.host}:${port}`
    },
    close: () =>
      new Promise<void>((resolve) => {
        listener?.close()
        let left = 2
        const done = () => --left === 0 && resolve()
        server.tryShutdown(done)
        plain.tryShutdown(done)
        // Calls still open after 2 s are cut, and the close ends then: grpc-js does not always call a
        // graceful shutdown's callback once its sessions were destroyed (seen as a fulcrum that never
        // finished stopping on SIGTERM, its UDP socket still open minutes later).
        setTimeout(() => {
          server.forceShutdown()
          plain.forceShutdown()
          resolve()
        }, 2_000).unref()
      }),
  }
}
