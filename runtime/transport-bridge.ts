/**
 * The seam between a host's mailboxes and a datagram transport. Outbound, a `send` effect addressed
 * to something that is not a local actor is encoded and sent as one datagram. Inbound, each datagram
 * is decoded once and handed, with the sender's address and whatever the transport authenticated
 * about it ({@link Origin}), to the route, which names the actor's mailbox or denies it with a reason
 * (a sender check: the packet's claimed sender against the session's peer). The event reaches the
 * mailbox with the sender's address in `from`. Anything that cannot be decoded, routed or sent is
 * dropped and counted by reason — never thrown into the transport's receive loop, so a hostile packet
 * cannot crash a node.
 *
 * The codec is a port: JSON here (tests, the simulator's first users); the wire protobuf with its
 * encrypted envelope plugs in at the same place.
 */
import type { HostEvent, MessageClass } from '../machines/effects.js'
import { DatagramTooLargeError, TransportClosedError } from './errors.js'
import type { ActorHost, OutboundRouter } from './host.js'
import type { Origin, Transport } from './transport.js'

/**
 * Turns events into datagrams and back: `E` is the union the wire carries. `encode` takes whatever a
 * machine sends and throws on an event outside `E`; `decode` throws on anything it does not accept.
 */
export interface Codec<E extends HostEvent = HostEvent> {
  encode(event: HostEvent): Uint8Array
  decode(bytes: Uint8Array): E
}

/** A decoded event as the bridge hands it on: `from` is the sender's address as the transport saw it. */
export type Delivered<E> = E & { from: string }

/** Where an inbound event goes: the actor, the mailbox class, and the supersede key for heartbeats. */
export interface InboundRoute {
  actor: string
  cls: MessageClass
  key?: string
}

/** An inbound event the route will not deliver, and why (counted in `denied` under `deny`). */
export interface Denial {
  deny: string
}

export interface BridgeInit<E extends HostEvent = HostEvent> {
  codec: Codec<E>
  /**
   * Routes a decoded inbound event, given what the transport authenticated about its sender (nothing
   * from a transport that authenticates nothing): a route, a {@link Denial}, or undefined to drop it
   * as `unrouted`.
   */
  route(event: Delivered<E>, origin: Origin | undefined): InboundRoute | Denial | undefined
  /** The reasons the route may deny for: counted from 0, so each is a series before its first denial. */
  denials?: readonly string[]
}

export interface BridgeCounters {
  sent: number
  received: number
  /** Inbound drops by reason. */
  malformed: number
  unrouted: number
  /** Events the route denied, by its reason (e.g. `impostor`, `secondary`). */
  denied: Record<string, number>
  /** Events the mailbox refused. */
  refused: number
  /** Outbound drops by reason. */
  unencodable: number
  tooLarge: number
  closed: number
}

export interface TransportBridge {
  /** Pass as the host's `outbound` component. */
  readonly outbound: OutboundRouter
  /** Connects inbound datagrams to `host` (call once the host exists). */
  attach(host: ActorHost): void
  readonly counters: BridgeCounters
}

/** A codec of UTF-8 JSON objects with a string `type`; `now` is stripped (time is the receiver's). */
export const jsonCodec: Codec = {
  encode(event) {
    const { now: _now, ...rest } = event
    return new TextEncoder().encode(JSON.stringify(rest))
  },
  decode(bytes) {
    const v: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as { type?: unknown }).type !== 'string') {
      throw new TypeError('datagram is not an event object with a string "type"')
    }
    return v as HostEvent
  },
}

/** Builds the bridge for one transport: `createTransportBridge({ transport }, { codec, route })`. */
export function createTransportBridge<E extends HostEvent>(components: { transport: Transport }, init: BridgeInit<E>): TransportBridge {
  const { transport } = components
  const counters: BridgeCounters = { sent: 0, received: 0, malformed: 0, unrouted: 0, denied: Object.fromEntries((init.denials ?? []).map((r) => [r, 0])), refused: 0, unencodable: 0, tooLarge: 0, closed: 0 }
  // A machine that sends one event object to many (a leader's check-in to every member) gets it
  // encoded once; events are never mutated after they are emitted, so the bytes stay valid.
  const encoded = new WeakMap<object, Uint8Array>()
  const outbound: OutboundRouter = (to, event) => {
    let bytes = encoded.get(event)
    try {
      if (bytes === undefined) {
        bytes = init.codec.encode(event)
        encoded.set(event, bytes)
      }
    } catch {
      // An event the codec refuses (an unknown type, a field past the wire's limits) never leaves.
      counters.unencodable++
      return
    }
    try {
      transport.send(to, bytes)
      counters.sent++
    } catch (err) {
      if (err instanceof DatagramTooLargeError) counters.tooLarge++
      else if (err instanceof TransportClosedError) counters.closed++
      else throw err
    }
  }
  return {
    outbound,
    counters,
    attach(host) {
      transport.onReceive((bytes, from, origin) => {
        counters.received++
        let decoded: E
        try {
          decoded = init.codec.decode(bytes)
        } catch {
          counters.malformed++
          return
        }
        // The transport's idea of the sender wins over anything the packet claims.
        const event: Delivered<E> = Object.assign(decoded, { from })
        const route = init.route(event, origin)
        if (route === undefined) {
          counters.unrouted++
          return
        }
        if ('deny' in route) {
          counters.denied[route.deny] = (counters.denied[route.deny] ?? 0) + 1
          return
        }
        const r = host.send(route.actor, event, route.cls, route.key ?? from)
        if (r === 'unknown' || r === 'failed' || r === 'rejected' || r === 'dropped') counters.refused++
      })
    },
  }
}
