/**
 * The gRPC road: a subsystem's route table carried over grpc-js. Outbound, a `send` to
 * `grpc://HOST:PORT/<name>` becomes a call made with the client the `clientFor` component gives for
 * that address (channel security is the client's business, not the road's), and each response comes
 * back into the sending actor's mailbox as an event; inbound, the table's methods are added to the
 * node's SecureServer and each call arrives at its actor as an event from `reply:<n>`. The shared
 * rules (pending calls, deadlines, refusals, the self-address loop, counters) are runtime/road-core.ts;
 * this file only moves bytes: requests and responses cross grpc-js already serialised, so a request
 * that does not decode is answered INVALID_ARGUMENT by the road, never by an exception in grpc-js.
 */
import type * as grpc from '@grpc/grpc-js'
import type { HostEvent } from '../machines/effects.js'
import type { Clock } from './clock.js'
import { Code } from './errors.js'
import { callerOf, statusError, type SecureServer } from './grpc-server.js'
import type { ActorHost } from './host.js'
import { RoadCore, roadOf, type AnswerSink, type Carrier, type OutboundSink, type RoadCoreInit, type RoadCounters } from './road-core.js'
import { callCodeOf, type CallCode, type RoadMethod } from './road-routes.js'

export type { RoadCounters } from './road-core.js'

/** The client a road calls with: what runtime/signed-client.ts `createSignedClient` returns fits. */
export interface RoadClient {
  unary<Req, Res>(def: { path: string; requestSerialize(v: Req): Buffer; responseDeserialize(b: Buffer): Res }, req: Req, deadlineMs?: number): Promise<Res>
  stream<Req, Res>(def: { path: string; requestSerialize(v: Req): Buffer; responseDeserialize(b: Buffer): Res }, req: Req): grpc.ClientReadableStream<Res>
}

export interface GrpcRoadComponents {
  clock: Clock
  /** The client for a peer's gRPC address (cached by the caller if it wants; may throw: UNAVAILABLE). */
  clientFor(hostPort: string): RoadClient
  /** Where the table's inbound services are added; omit for a node that only calls. */
  server?: Pick<SecureServer, 'addService'>
}

export interface GrpcRoadInit extends RoadCoreInit {
  /** This node's own gRPC HOST:PORT (canonical, as runtime/address.ts parses it); settable later. */
  self?: string
}

/** A road, real or simulated: the router's grpc and reply kinds go here. */
export interface GrpcRoad {
  /** A send of `event` by `from` to `grpc://<hostPort>/<name>`; this node's own address loops to `<node>/<name>`. */
  call(hostPort: string, name: string, event: HostEvent, from: string): void
  /** A send to `reply:<id>`. */
  reply(id: number, event: HostEvent): void
  /** Connects the road to its host (inbound calls and answers go into its mailboxes). */
  attach(host: ActorHost): void
  readonly counters: RoadCounters
  /** Inbound calls waiting for their terminal answer. */
  readonly pending: number
  /** This node's own gRPC HOST:PORT, once known (sends to it are looped, not called). */
  self: string | undefined
  /** The carrier of outbound calls (bytes in, bytes out), e.g. for a test that sends raw bytes. */
  readonly carrier: Carrier
}

const noop = (): void => {}

/** A failure from grpc-js or a CruxError as its status name and words. */
function failure(err: unknown): { code: CallCode; message: string } {
  const e = err as { code?: unknown; details?: unknown; message?: unknown }
  // The server's own words: grpc-js puts them in `details`, a signed client's CruxError in `details.grpc`.
  const grpcWords = typeof e.details === 'object' && e.details !== null ? (e.details as { grpc?: unknown }).grpc : undefined
  const words = typeof e.details === 'string' ? e.details : typeof grpcWords === 'string' ? grpcWords : String(e.message ?? 'call failed')
  return { code: callCodeOf(e.code), message: words }
}

/** Bytes in, bytes out: the road serialises itself, so grpc-js and the client pass them through. */
const raw = (m: RoadMethod) => ({ path: m.path, requestSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b })

function grpcCarrier(components: GrpcRoadComponents): Carrier {
  return (hostPort, method, bytes, deadlineMs, sink: OutboundSink) => {
    let off = false
    try {
      const client = components.clientFor(hostPort)
      if (!method.responseStream) {
        client.unary(raw(method), bytes, deadlineMs).then(
          (b) => off || (sink.message(b), sink.end(null)),
          (err: unknown) => off || sink.end(failure(err)),
        )
        return () => void (off = true)
      }
      const stream = client.stream(raw(method), bytes)
      const clock = components.clock
      const timer = deadlineMs === undefined ? undefined : clock.schedule(deadlineMs, () => stop(() => (stream.cancel(), sink.end({ code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded' }))))
      const stop = (then: () => void): void => {
        if (off) return
        off = true
        if (timer !== undefined) clock.cancel(timer)
        then()
      }
      stream.on('data', (b: Buffer) => off || sink.message(b))
      stream.on('error', (err: unknown) => stop(() => sink.end(failure(err))))
      stream.on('end', () => stop(() => sink.end(null)))
      return () => stop(() => stream.cancel())
    } catch (err) {
      sink.end({ code: 'UNAVAILABLE', message: `cannot call ${hostPort}: ${(err as Error).message}` })
      return noop
    }
  }
}

/** The server side of one method: a unary or server-streaming handler feeding the road. */
function handler(core: RoadCore, def: RoadMethod): grpc.UntypedHandleCall {
  const status = (code: CallCode, message: string) => statusError(Code[code] as grpc.status, message)
  if (!def.responseStream) {
    return ((call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      let ended = false
      const sink: AnswerSink = {
        streaming: false,
        answer(res) {
          if (ended) return
          ended = true
          let b: Buffer
          try {
            b = def.responseSerialize(res)
          } catch {
            return callback(status('INTERNAL', 'internal error'))
          }
          callback(null, b)
        },
        fail(code, message) {
          if (ended) return
          ended = true
          callback(status(code, message))
        },
      }
      const n = core.accept(def.path, call.request, callerOf(call), sink)
      if (n !== undefined) call.on('cancelled', () => ((ended = true), core.cancel(n)))
    }) as grpc.UntypedHandleCall
  }
  return ((call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    let ended = false
    const sink: AnswerSink = {
      streaming: true,
      answer(res, last) {
        if (ended) return
        let b: Buffer
        try {
          b = def.responseSerialize(res)
        } catch {
          ended = true
          return void call.emit('error', status('INTERNAL', 'internal error'))
        }
        call.write(b)
        if (last) {
          ended = true
          call.end()
        }
      },
      fail(code, message) {
        if (ended) return
        ended = true
        call.emit('error', status(code, message))
      },
    }
    const n = core.accept(def.path, call.request, callerOf(call), sink)
    if (n !== undefined) call.on('cancelled', () => ((ended = true), core.cancel(n)))
  }) as grpc.UntypedHandleCall
}

/** Builds the road: `createGrpcRoad({ clock, clientFor, server }, { node, routes, self?, maxPending?, selfCaller? })`. */
export function createGrpcRoad(components: GrpcRoadComponents, init: GrpcRoadInit): GrpcRoad {
  const core = new RoadCore(components.clock, init)
  const carrier = grpcCarrier(components)
  const self = init.self
  if (components.server !== undefined) {
    for (const s of init.routes.inbound) {
      const defs: Record<string, unknown> = {}
      const impls: grpc.UntypedServiceImplementation = {}
      for (const [name, def] of Object.entries(s.definition)) {
        const direct = s.direct?.[name] as grpc.UntypedHandleCall | undefined
        if (s.methods[name] === undefined && direct !== undefined) {
          defs[name] = def
          impls[name] = direct
          continue
        }
        defs[name] = { ...def, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b }
        if (s.methods[name] !== undefined) impls[name] = handler(core, def)
      }
      components.server.addService(defs as grpc.ServiceDefinition, impls, { open: s.open ?? false, ...(s.lookup === undefined ? {} : { lookup: s.lookup }) })
    }
  }
  return roadOf(core, carrier, self)
}
