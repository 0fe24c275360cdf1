/**
 * The gRPC road in the simulator: the same route table and the same rules (runtime/road-core.ts) as
 * runtime/grpc-road.ts, with calls carried over a {@link SimNetwork} on its virtual clock.
 *
 * A call is a simulated TCP connection between the two nodes' network addresses (the addresses the
 * simulator crashes and partitions): every segment (the request, each response, the status, a
 * cancel) takes the link's delay, and a lost segment is retransmitted, so loss shows as latency
 * (`rtoMs`, doubling per loss in a row), never as a lost message; segments of one link land in the
 * order sent. A segment whose path is cut (either end crashed, a partition, the destination crashed
 * while it flew, or `maxRetransmits` losses in a row) breaks its call: the caller fails at the
 * route's deadline, UNAVAILABLE when the other end is dead and DEADLINE_EXCEEDED otherwise, and a
 * server whose answer cannot get through drops the call as cancelled. A stream without a deadline is
 * checked every `brokenAfterMs` as a keepalive would: once its path is cut, the client fails
 * UNAVAILABLE and the server drops the call as cancelled (its actor hears `call.cancelled`). Requests and answers cross as bytes
 * (each side's codec of the table), so the codecs run in the simulator too.
 *
 * Determinism: fates are drawn from this network's own seeded {@link Rng} in send order (so gRPC
 * traffic does not shift the datagram fates of the SimNetwork) and everything lands on the virtual
 * clock, ties in send order: the same seed and the same sends give the same delivery order.
 */
import { parseHostPortStrict } from './address.js'
import type { Clock, TimerHandle } from './clock.js'
import { AddressInUseError } from './errors.js'
import type { GrpcRoad, GrpcRoadInit } from './grpc-road.js'
import { RoadCore, roadOf, type AnswerSink, type Carrier } from './road-core.js'
import type { CallCode } from './road-routes.js'
import { Rng } from './rng.js'
import type { SimNetwork } from './sim-network.js'

export interface SimGrpcOptions {
  /** Seed of the segment fates. */
  seed: number | string
  /** Retransmission timeout of a lost segment, ms, doubling per loss in a row (default 200). */
  rtoMs?: number
  /** Losses of one segment in a row that reset its connection (default 8). */
  maxRetransmits?: number
  /** Keepalive period of a stream without a deadline: how long it takes to learn its path is cut, ms (default 10 000). */
  brokenAfterMs?: number
}

/** The simulated gRPC servers of a run, by their gRPC HOST:PORT, over one {@link SimNetwork}. */
export class SimGrpcNetwork {
  private readonly servers = new Map<string, { net: string; core: RoadCore }>()
  private readonly rng: Rng
  /** Landing time of the last segment per link, so a link's segments keep their order. */
  private readonly last = new Map<string, number>()
  private readonly rtoMs: number
  private readonly maxRetransmits: number
  readonly brokenAfterMs: number

  constructor(
    readonly net: SimNetwork,
    options: SimGrpcOptions,
  ) {
    this.rng = new Rng(options.seed)
    this.rtoMs = options.rtoMs ?? 200
    this.maxRetransmits = options.maxRetransmits ?? 8
    this.brokenAfterMs = options.brokenAfterMs ?? 10_000
  }

  get clock(): Clock {
    return this.net.clock
  }

  /** Serves `core`'s table at `hostPort` from the node at network address `netAddress`. */
  listen(hostPort: string, netAddress: string, core: RoadCore): void {
    if (this.servers.has(hostPort)) throw new AddressInUseError(hostPort)
    this.servers.set(hostPort, { net: netAddress, core })
  }

  /** Stops serving at `hostPort` (calls to it are then refused). */
  unlisten(hostPort: string): void {
    this.servers.delete(hostPort)
  }

  /** Carries one segment `from → to` (network addresses): `deliver` when it lands, or `lost(why)`. */
  transit(from: string, to: string, deliver: () => void, lost: (why: string) => void): void {
    const p = this.net.path(from, to)
    if (p.cut !== null) return lost(p.cut)
    const f = p.faults
    const rng = this.rng
    let ms = f.delayMin
    if (f.delaySpan > 0) ms += f.delayWhole ? rng.int(f.delaySpan + 1) : rng.float() * f.delaySpan
    for (let k = 0; rng.chance(f.loss); k++) {
      if (k >= this.maxRetransmits) return lost('loss')
      ms += this.rtoMs * 2 ** k
    }
    const link = `${from}>${to}`
    const now = this.clock.now()
    const at = Math.max(now + ms, this.last.get(link) ?? 0)
    this.last.set(link, at)
    this.clock.schedule(at - now, () => {
      const q = this.net.path(from, to)
      if (q.cut !== null) return lost(q.cut)
      if (q.epoch !== p.epoch) return lost('crash')
      deliver()
    })
  }

  /** The carrier of calls from the node at `fromNet`, presenting `caller` as its channel identity. */
  carrier(fromNet: string, caller: string): Carrier {
    return (hostPort, method, bytes, deadlineMs, sink) => {
      const clock = this.clock
      let done = false
      let cut: string | undefined
      let timer: TimerHandle | undefined
      let serverCall: { core: RoadCore; n: number } | undefined
      const end = (failure: { code: CallCode; message: string } | null): void => {
        if (done) return
        done = true
        if (timer !== undefined) clock.cancel(timer)
        sink.end(failure)
      }
      const server = this.servers.get(hostPort)
      if (server === undefined) {
        clock.schedule(1, () => end({ code: 'UNAVAILABLE', message: `connection to ${hostPort} refused` }))
        return () => void (done = true)
      }
      const sendCancel = (): void => {
        const sc = serverCall
        if (sc !== undefined) this.transit(fromNet, server.net, () => sc.core.cancel(sc.n), () => {})
      }
      const dead = (): CallCode => (cut === 'crash' ? 'UNAVAILABLE' : 'DEADLINE_EXCEEDED')
      if (deadlineMs !== undefined) {
        timer = clock.schedule(deadlineMs, () => {
          timer = undefined
          end({ code: dead(), message: cut === 'crash' ? `${hostPort} is unreachable` : 'deadline exceeded' })
          sendCancel()
        })
      }
      // A stream without a deadline learns of a cut path as a keepalive would: both ends drop the call.
      const keepalive = (): void => {
        timer = clock.schedule(this.brokenAfterMs, () => {
          timer = undefined
          if (done) return
          if (cut === undefined && this.net.path(fromNet, server.net).cut === null && this.net.path(server.net, fromNet).cut === null) return keepalive()
          if (serverCall !== undefined) serverCall.core.cancel(serverCall.n)
          end({ code: 'UNAVAILABLE', message: `connection to ${hostPort} lost` })
        })
      }
      if (deadlineMs === undefined && method.responseStream) keepalive()
      const broken = (why: string): void => {
        if (!done && cut === undefined) cut = why
      }
      const request = Buffer.from(bytes)
      this.transit(
        fromNet,
        server.net,
        () => {
          if (done) return
          const codec = server.core.route(method.path)?.route.method ?? method
          const back = (deliver: () => void, onLost: () => void): void =>
            this.transit(server.net, fromNet, () => done || deliver(), (why) => (broken(why), onLost()))
          const answers: AnswerSink = {
            streaming: method.responseStream,
            answer: (res, last) => {
              let b: Buffer
              try {
                b = codec.responseSerialize(res)
              } catch {
                return back(() => end({ code: 'INTERNAL', message: 'internal error' }), () => {})
              }
              back(
                () => (sink.message(Buffer.from(b)), last && end(null)),
                () => serverCall !== undefined && !last && server.core.cancel(serverCall.n),
              )
            },
            fail: (code, message) => back(() => end({ code, message }), () => {}),
          }
          const n = server.core.accept(method.path, request, caller, answers)
          if (n !== undefined) serverCall = { core: server.core, n }
        },
        broken,
      )
      return () => {
        if (done) return
        done = true
        if (timer !== undefined) clock.cancel(timer)
        sendCancel()
      }
    }
  }
}

export interface SimGrpcRoadInit extends GrpcRoadInit {
  /** The node's address on the SimNetwork (the one the simulator crashes and partitions). */
  netAddress: string
  /** The identity a server sees on calls from this node (what `callerOf` gives on a real channel). */
  caller?: string
}

/** A road on the simulated network; it serves at `init.self` (fixed at creation). `close` stops serving. */
export interface SimGrpcRoad extends GrpcRoad {
  close(): void
}

/** Builds a node's road: `createSimGrpcRoad({ clock, network }, { node, routes, self, netAddress, caller })`. */
export function createSimGrpcRoad(components: { clock: Clock; network: SimGrpcNetwork }, init: SimGrpcRoadInit): SimGrpcRoad {
  const core = new RoadCore(components.clock, init)
  const carrier = components.network.carrier(init.netAddress, init.caller ?? '')
  const self = init.self === undefined ? undefined : (parseHostPortStrict(init.self) ?? init.self)
  const listening = self
  if (listening !== undefined) components.network.listen(listening, init.netAddress, core)
  // The node serves at the address it was made with; a later change of `self` only changes what loops.
  const road = roadOf(core, carrier, self) as SimGrpcRoad
  road.close = () => {
    if (listening !== undefined) components.network.unlisten(listening)
  }
  return road
}
