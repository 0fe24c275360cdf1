/**
 * crux's gRPC edge: a grpc-js server that serves grpc.health.v1 and server reflection (so `grpcurl`
 * can list and call it), and services whose every call is signed (runtime/call-signature.ts). Status
 * codes exist only here; behind this edge everything is CruxErrors and plain values.
 *
 * A signed service is registered with a pass-through deserializer, so the signature is checked over
 * the request bytes exactly as they arrived; only then are they decoded. A refused call gets the same
 * words whatever the reason (`call refused`), so the caller learns nothing; a request that does not
 * decode gets INVALID_ARGUMENT naming the method; a message over the size limit is refused by
 * grpc-js with RESOURCE_EXHAUSTED. None of these stops the server.
 *
 * Connections, streams, idle time and the bytes of unfinished requests are bounded (grpc-limits.ts,
 * docs/LIMITS.md): the server accepts connections on its own listener and hands them to grpc-js.
 */
import * as grpc from '@grpc/grpc-js'
import { Health, type ServingStatus } from './grpc-health.js'
import { addLazyReflection } from './grpc-reflection.js'
import { GrpcCallStats } from './grpc-call-stats.js'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CALL_HEADERS, type CallRefusal, type CallVerdict, type CallVerifier } from './call-signature.js'
import { cannotServe, CruxError, InvalidArgumentError } from './errors.js'
import { boundPendingBytes, GRPC_LIMITS, listenBounded, serverOptions, type GrpcLimitCounters, type GrpcLimits } from './grpc-limits.js'
import type { Server as NetServer } from 'node:net'

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
export const SERVICE_PROTOS = ['crux/v1/reeve.proto', 'crux/v1/registry.proto', 'crux/v1/steward.proto', 'crux/v1/heartbeat.proto']

const CODE: Record<CallRefusal, grpc.status> = {
  unsigned: grpc.status.UNAUTHENTICATED,
  stale: grpc.status.UNAUTHENTICATED,
  forged: grpc.status.UNAUTHENTICATED,
  replayed: grpc.status.UNAUTHENTICATED,
  unknown: grpc.status.PERMISSION_DENIED,
  busy: grpc.status.RESOURCE_EXHAUSTED,
}

export interface SecureServerInit {
  host: string
  port: number
  /** Checks signed calls; services added with `signed: false` skip it. */
  verifier: CallVerifier
  now(): number
  /** Largest request accepted, bytes. Default 1 MiB. */
  maxMessageBytes?: number
  /** Connection, stream and memory bounds (runtime/grpc-limits.ts); each defaults to GRPC_LIMITS'. */
  limits?: Partial<GrpcLimits>
}

export interface SecureServer {
  readonly server: grpc.Server
  /** Connections refused and streams reset by the bounds. */
  readonly limitCounters: Readonly<GrpcLimitCounters>
  /** Calls answered, by method and status code, and their latency (read by `/metrics`). */
  readonly callStats: GrpcCallStats
  /** grpc.health.v1: '' is the server as a whole; each service by its full name. */
  setStatus(service: string, status: ServingStatus): void
  /** Adds a service; `signed` (the default) checks every call's signature first. */
  addService(definition: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation, options?: { signed?: boolean }): void
  /** Binds and starts; resolves with host:port. */
  start(): Promise<string>
  close(): Promise<void>
}

const CALLER = 'crux-verified-caller'

/** The KeyID that signed a call, as the verifier established it ('' for an unsigned service). */
export function callerOf(call: { metadata: grpc.Metadata }): string {
  return metaValue(call.metadata, CALLER) ?? ''
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

const metaValue = (m: grpc.Metadata, k: string): string | undefined => {
  const v = m.get(k)[0]
  return typeof v === 'string' ? v : undefined
}

/** The server's load as signature checks see it. */
interface Load {
  /** Calls checked or handled, not yet answered. */
  inflight: number
  /** Calls that arrived in this turn of the event loop. */
  turn: number
  turnReset: boolean
}

function busy(load: Load): boolean {
  if (!load.turnReset) {
    load.turnReset = true
    setImmediate(() => {
      load.turn = 0
      load.turnReset = false
    })
  }
  return ++load.turn > 1 || load.inflight > 1
}

function signedMethod(path: string, def: grpc.MethodDefinition<unknown, unknown>, handler: grpc.UntypedHandleCall, o: SecureServerInit, load: Load): grpc.UntypedHandleCall {
  const finish = (call: { metadata: grpc.Metadata; request: unknown }, raw: Buffer, v: CallVerdict): grpc.ServiceError | null => {
    if (!v.ok) return statusError(CODE[v.reason], 'call refused')
    // Replaces anything the client put under this name: only the verifier says who called.
    call.metadata.set(CALLER, v.caller)
    try {
      call.request = def.requestDeserialize(raw)
    } catch {
      return statusError(grpc.status.INVALID_ARGUMENT, `malformed request for ${path}`)
    }
    return null
  }
  /**
   * Alone, a call's signature is checked at once; with other calls in flight, or others that arrived
   * in the same turn of the event loop, it is checked on the thread pool, so the main thread goes on
   * reading and answering calls meanwhile (measured: bench/strew).
   */
  const check = (call: { metadata: grpc.Metadata; request: unknown }, then: (err: grpc.ServiceError | null) => void): void => {
    const raw = call.request as Buffer
    const sig = { key: metaValue(call.metadata, CALL_HEADERS.key), time: metaValue(call.metadata, CALL_HEADERS.time), nonce: metaValue(call.metadata, CALL_HEADERS.nonce), signature: metaValue(call.metadata, CALL_HEADERS.signature) }
    if (!busy(load)) return then(finish(call, raw, o.verifier.verify(sig, path, raw, o.now())))
    o.verifier.verifyAsync(sig, path, raw, o.now()).then(
      (v) => then(finish(call, raw, v)),
      () => then(statusError(grpc.status.INTERNAL, 'internal error')),
    )
  }
  if (!def.requestStream && !def.responseStream) {
    const h = handler as grpc.handleUnaryCall<unknown, unknown>
    return ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      load.inflight++
      const done: grpc.sendUnaryData<unknown> = (err, value, trailer, flags) => {
        load.inflight--
        callback(err, value, trailer, flags)
      }
      check(call, (err) => (err !== null ? done(err) : h(call, done)))
    }) as grpc.UntypedHandleCall
  }
  if (!def.requestStream && def.responseStream) {
    const h = handler as grpc.handleServerStreamingCall<unknown, unknown>
    return ((call: grpc.ServerWritableStream<unknown, unknown>) => {
      load.inflight++
      check(call, (err) => {
        load.inflight--
        if (err !== null) return void call.emit('error', err)
        h(call)
      })
    }) as grpc.UntypedHandleCall
  }
  throw new InvalidArgumentError(`${path}: client-streaming calls cannot be signed per request`)
}

export function createSecureServer(o: SecureServerInit): SecureServer {
  const limits: GrpcLimits = { ...GRPC_LIMITS, ...o.limits, ...(o.maxMessageBytes === undefined ? {} : { maxMessageBytes: o.maxMessageBytes }) }
  const counters: GrpcLimitCounters = { refusedConnections: 0, resetStreams: 0, acceptErrors: 0 }
  const callStats = new GrpcCallStats()
  const server = new grpc.Server({ ...serverOptions(limits), interceptors: [callStats.interceptor] })
  boundPendingBytes(server, limits, counters)
  let listener: NetServer | undefined
  const health = new Health({ '': 'SERVING' })
  const load: Load = { inflight: 0, turn: 0, turnReset: false }
  health.addToServer(server)
  addLazyReflection(server, protosDir(), SERVICE_PROTOS)
  return {
    server,
    limitCounters: counters,
    callStats,
    setStatus: (service, status) => health.setStatus(service, status),
    addService(definition, impl, options = {}) {
      if (options.signed === false) return server.addService(definition, impl)
      const defs: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
      const impls: grpc.UntypedServiceImplementation = {}
      for (const [name, def] of Object.entries(definition)) {
        defs[name] = def
        const h = impl[name]
        if (h === undefined) continue // grpc-js answers UNIMPLEMENTED
        defs[name] = { ...def, requestDeserialize: (b: Buffer) => b }
        impls[name] = signedMethod(def.path, def, h, o, load)
      }
      server.addService(defs as grpc.ServiceDefinition, impls)
    },
    // Our own listener, not bindAsync: grpc-js would accept every connection (see grpc-limits.ts).
    async start() {
      const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure())
      try {
        listener = await listenBounded(o.host, o.port, limits, counters, (socket) => injector.injectConnection(socket))
      } catch (err) {
        injector.destroy()
        // A failure to start, not a usage error: exit 1 like any port that cannot be bound (CLI.md).
        throw cannotServe('gRPC', `${o.host}:${o.port}`, err)
      }
      const port = (listener.address() as { port: number }).port
      return `${o.host}:${port}`
    },
    close: () =>
      new Promise<void>((resolve) => {
        listener?.close()
        server.tryShutdown(() => resolve())
        setTimeout(() => server.forceShutdown(), 2_000).unref()
      }),
  }
}
