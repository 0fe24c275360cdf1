/**
 * What the real gRPC road and the simulated one share: the route table lookups, the pending inbound
 * calls (`reply:<n>`), their deadlines and bound, the answers delivered into the sender's mailbox,
 * `call.failed` for every failure, the self-address loop and the counters. A carrier (grpc-js in
 * runtime/grpc-road.ts, the simulated network in runtime/sim-grpc.ts) only moves bytes, so the two
 * roads behave the same by construction.
 *
 * Nothing here throws into a receive loop: a bad request is answered with a status, a route codec
 * that throws becomes `call.failed` or a status, and every drop is counted by reason.
 */
import type { HostEvent } from '../machines/effects.js'
import type { Clock } from './clock.js'
import { parseHostPortStrict } from './address.js'
import { CruxError } from './errors.js'
import type { GrpcRoad } from './grpc-road.js'
import type { ActorHost } from './host.js'
import { RoadPending, type AnswerSink } from './road-pending.js'
import { shareStrings } from './share-strings.js'
import { callCodeOf, callFailed, ROAD_DEFAULTS, type CallCode, type InboundRoute, type OutboundRoute, type RoadMethod, type RouteTable } from './road-routes.js'

export type { AnswerSink } from './road-pending.js'

/** How a carrier reports one outbound call: each response message's bytes, then its end. */
export interface OutboundSink {
  message(bytes: Buffer): void
  end(failure: { code: CallCode; message: string } | null): void
}

/** Moves an outbound call's bytes; returns a function that cancels the call. Never throws. */
export type Carrier = (hostPort: string, method: RoadMethod, request: Buffer, deadlineMs: number | undefined, sink: OutboundSink) => () => void

/** Counters of a road (read by `/metrics`). */
export interface RoadCounters {
  /** Outbound calls started on the carrier. */
  sent: number
  /** Outbound sends to this node's own address, delivered to its mailbox without a call. */
  looped: number
  /** Answer events delivered to sending actors. */
  answered: number
  /** `call.failed` events delivered to sending actors, by code. */
  failed: Record<string, number>
  /** Inbound calls handed to an actor. */
  accepted: number
  /** Inbound calls ended with a status (refusals, timeouts, bad requests, the bound), by code. */
  refused: Record<string, number>
  /** Inbound calls the client cancelled before their terminal answer. */
  cancelled: number
  /** Answers to inbound calls that had already ended. */
  late: number
  /** Messages dropped, by reason (`unrouted`, `undeliverable`, `detached`, `unanswerable`). */
  dropped: Record<string, number>
}

export interface RoadCoreInit {
  /** This node's name: inbound calls go to `<node>/<actor>`. */
  node: string
  routes: RouteTable
  /** Pending inbound calls at most; past it a call gets RESOURCE_EXHAUSTED (default 4096). */
  maxPending?: number
  /**
   * The caller a looped (self-address) call presents: this node's own KeyID (default ''), or, by the
   * sending actor, the key it would present on a channel (a node's steward and reeve use different keys).
   */
  selfCaller?: string | ((from: string) => string)
}

const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1
}

/** The shared part of a road; the carriers call into it. */
export class RoadCore {
  readonly counters: RoadCounters = { sent: 0, looped: 0, answered: 0, failed: {}, accepted: 0, refused: {}, cancelled: 0, late: 0, dropped: {} }
  readonly pending: RoadPending
  private host: ActorHost | undefined
  private readonly inbound = new Map<string, { route: InboundRoute; open: boolean }>()
  /** Outbound streams a machine may cancel with `call.cancel {id}`, by `<from> <id>`. */
  private readonly streams = new Map<string, () => void>()

  constructor(
    readonly clock: Clock,
    readonly init: RoadCoreInit,
  ) {
    for (const s of init.routes.inbound) {
      for (const [name, route] of Object.entries(s.methods)) this.inbound.set(s.definition[name]?.path ?? route.method.path, { route, open: s.open === true })
    }
    this.pending = new RoadPending(clock, init.maxPending ?? ROAD_DEFAULTS.maxPending, {
      refuse: (code) => bump(this.counters.refused, code),
      deliver: (actor, event) => this.host?.send(actor, event, 'control') ?? 'unknown',
      cancelled: () => this.counters.cancelled++,
      late: () => this.counters.late++,
      drop: (reason) => bump(this.counters.dropped, reason),
    })
  }

  attach(host: ActorHost): void {
    this.host = host
  }

  // ---- inbound ----

  /** The route of a method path this node serves, and whether the method is open (caller ''). */
  route(path: string): { route: InboundRoute; open: boolean } | undefined {
    return this.inbound.get(path)
  }

  /**
   * An inbound call's request bytes arrived: decoded, mapped to an event and handed to the route's
   * actor as `reply:<n>`; anything wrong is answered on `sink` at once. Returns n, or undefined.
   */
  accept(path: string, raw: Buffer, caller: string, sink: AnswerSink): number | undefined {
    const r = this.inbound.get(path)
    if (r === undefined) return this.pending.refuse(sink, 'UNIMPLEMENTED', `${path} is not served`)
    let event: HostEvent
    try {
      event = r.route.event(r.route.method.requestDeserialize(raw), r.open ? '' : caller)
    } catch (err) {
      // A route that names what is wrong (a CruxError: a field out of bounds, a sealed request
      // refused) is answered in its words; anything else is a request that did not decode.
      if (err instanceof CruxError) return this.pending.refuse(sink, callCodeOf(err.code), err.message)
      return this.pending.refuse(sink, 'INVALID_ARGUMENT', `malformed request for ${path}`)
    }
    return this.open(r.route, `${this.init.node}/${r.route.actor}`, event, sink, undefined)
  }

  private open(route: InboundRoute, actor: string, event: HostEvent, sink: AnswerSink, deadlineMs: number | undefined): number | undefined {
    if (this.host === undefined) {
      bump(this.counters.dropped, 'detached')
      return this.pending.refuse(sink, 'UNAVAILABLE', 'not ready')
    }
    const n = this.pending.open(route, actor, event, sink, deadlineMs)
    if (n !== undefined) this.counters.accepted++
    return n
  }

  /** The client of call n went away. */
  cancel(n: number): void {
    this.pending.cancel(n)
  }

  /** A `send` to `reply:<id>`. */
  reply(id: number, event: HostEvent): void {
    this.pending.reply(id, event)
  }

  // ---- outbound ----

  /**
   * A `send` of `event` by actor `from` to `grpc://<hostPort>/<name>`. With `self` true (the address
   * is this node's own) the event goes to the mailbox `<node>/<name>` through the same pending call a
   * remote call would get, without a call: the sender cannot tell the two apart.
   */
  call(hostPort: string, name: string, event: HostEvent, from: string, self: boolean, carrier: Carrier): void {
    if (event.type === 'call.cancel') {
      const key = `${from} ${String(event.id)}`
      const cancel = this.streams.get(key)
      this.streams.delete(key)
      if (cancel === undefined) bump(this.counters.dropped, 'unrouted')
      else cancel()
      return
    }
    const route = this.init.routes.outbound[event.type]
    if (route === undefined) return void bump(this.counters.dropped, 'unrouted')
    let request: unknown
    try {
      request = route.request(event)
    } catch (err) {
      return this.failTo(from, event, 'INVALID_ARGUMENT', `cannot make a request of ${event.type}: ${(err as Error).message}`)
    }
    const deadline = route.deadlineMs ?? (route.method.responseStream ? undefined : ROAD_DEFAULTS.unaryDeadlineMs)
    if (self) return this.loop(route, name, event, request, from, deadline)
    let bytes: Buffer
    try {
      bytes = route.method.requestSerialize(request)
    } catch (err) {
      return this.failTo(from, event, 'INVALID_ARGUMENT', `cannot encode ${event.type}: ${(err as Error).message}`)
    }
    this.counters.sent++
    let done = false
    // A carrier may end the call before it returns (no client for the address): cancel is a no-op until then.
    let cancel: () => void = () => {}
    const key = typeof event.id === 'number' && route.method.responseStream ? `${from} ${event.id}` : undefined
    const finish = (): void => {
      done = true
      if (key !== undefined && this.streams.get(key) === cancel) this.streams.delete(key)
    }
    cancel = carrier(hostPort, route.method, bytes, deadline, {
      message: (b) => {
        if (done) return
        let answer: HostEvent
        try {
          answer = route.answer(route.method.responseDeserialize(b), event)
        } catch {
          finish()
          cancel()
          return this.failTo(from, event, 'INTERNAL', `malformed answer to ${event.type}`)
        }
        if (!this.deliver(from, answer)) {
          // The sender is gone: nobody wants the rest of the stream.
          finish()
          cancel()
        }
      },
      end: (failure) => {
        if (done) return
        finish()
        if (failure !== null) this.failTo(from, event, failure.code, failure.message)
      },
    })
    if (key !== undefined && !done) this.streams.set(key, cancel)
  }

  /**
   * The self-address path: the request and each answer still go through both codecs of the table
   * (bytes and back, no network), so a looped call sees exactly what a remote one would: the defaults
   * a decoder fills in, the same refusals of what does not encode. A route whose requests are whole
   * messages may give a copy instead (`loopCopy`): the same request, without the codec's cost (a
   * reeve's forward to its own node's steward).
   */
  private loop(route: OutboundRoute, name: string, event: HostEvent, request: unknown, from: string, deadline: number | undefined): void {
    this.counters.looped++
    const r = this.inbound.get(route.method.path)
    if (r === undefined) return this.failTo(from, event, 'UNIMPLEMENTED', `${route.method.path} is not served`)
    let inEvent: HostEvent
    try {
      const req: unknown = route.loopCopy !== undefined ? route.loopCopy(request) : shareStrings(r.route.method.requestDeserialize(route.method.requestSerialize(request)), request)
      inEvent = r.route.event(req, r.open ? '' : this.selfCaller(from))
    } catch (err) {
      if (err instanceof CruxError) return this.failTo(from, event, callCodeOf(err.code), err.message)
      return this.failTo(from, event, 'INVALID_ARGUMENT', `malformed request for ${route.method.path}`)
    }
    let n: number | undefined
    const key = route.method.responseStream && typeof event.id === 'number' ? `${from} ${event.id}` : undefined
    const cancel = (): void => {
      if (n !== undefined) this.pending.cancel(n)
    }
    // The entry for `call.cancel` lives as long as the call.
    const forget = (): void => {
      if (key !== undefined && this.streams.get(key) === cancel) this.streams.delete(key)
    }
    const sink: AnswerSink = {
      streaming: route.method.responseStream,
      answer: (res, last) => {
        let answer: HostEvent
        try {
          answer = route.answer(shareStrings(route.method.responseDeserialize(r.route.method.responseSerialize(res)), res), event)
        } catch {
          forget()
          cancel()
          return this.failTo(from, event, 'INTERNAL', `malformed answer to ${event.type}`)
        }
        if (last) forget()
        // A sender that is gone wants no more of a stream.
        if (!this.deliver(from, answer)) {
          forget()
          cancel()
        }
      },
      fail: (code, message) => {
        forget()
        this.failTo(from, event, code, message)
      },
    }
    n = this.open(r.route, `${this.init.node}/${name}`, inEvent, sink, deadline)
    if (n !== undefined && key !== undefined) this.streams.set(key, cancel)
  }

  /** The caller a looped call from actor `from` presents (the KeyID that actor signs as on a channel). */
  private selfCaller(from: string): string {
    const c = this.init.selfCaller
    return typeof c === 'function' ? c(from) : (c ?? '')
  }

  /** Delivers an answer into the sender's mailbox; false when it cannot take it. */
  private deliver(to: string, event: HostEvent): boolean {
    const r = this.host?.send(to, event, 'control') ?? 'unknown'
    if (r === 'unknown' || r === 'failed' || r === 'rejected' || r === 'dropped') {
      bump(this.counters.dropped, 'undeliverable')
      return false
    }
    this.counters.answered++
    return true
  }

  private failTo(from: string, event: HostEvent, code: CallCode, message: string): void {
    bump(this.counters.failed, code)
    const r = this.host?.send(from, callFailed(event, code, message), 'control') ?? 'unknown'
    if (r === 'unknown' || r === 'failed' || r === 'rejected') bump(this.counters.dropped, 'undeliverable')
  }
}

/**
 * The road a carrier makes of a core: what the router and the host see of it, real or simulated. `self`
 * is kept canonical (as the router's parsed addresses are), so the self-address test is plain equality.
 */
export function roadOf(core: RoadCore, carrier: Carrier, initialSelf: string | undefined): GrpcRoad {
  let self = initialSelf === undefined ? undefined : (parseHostPortStrict(initialSelf) ?? initialSelf)
  return {
    call: (hostPort, name, event, from) => core.call(hostPort, name, event, from, hostPort === self, carrier),
    reply: (id, event) => core.reply(id, event),
    attach: (host) => core.attach(host),
    counters: core.counters,
    get pending() {
      return core.pending.size
    },
    get self() {
      return self
    },
    set self(v) {
      self = v === undefined ? undefined : (parseHostPortStrict(v) ?? v)
    },
    carrier,
  }
}
