/**
 * The seam between a host's mailboxes and a datagram transport. Outbound, a `send` effect addressed
 * to something that is not a local actor is encoded and sent as one datagram. Inbound, each datagram
 * is decoded and put in the mailbox of the actor the router names, with the sender's address in
 * `from`. Anything that cannot be decoded, routed or sent is dropped and counted by reason — never
 * thrown into the transport's receive loop, so a hostile packet cannot crash a node.
 *
 * The codec is a port: JSON here (tests, the simulator's first users); the wire protobuf with its
 * encrypted envelope plugs in at the same place.
 */
import type { HostEvent, MessageClass } from '../machines/effects.js'
import { DatagramTooLargeError, TransportClosedError } from './errors.js'
import type { ActorHost, OutboundRouter } from './host.js'
import type { Transport } from './transport.js'

/** Turns events into datagrams and back. `decode` throws on anything it does not accept. */
export interface Codec {
  encode(event: HostEvent): Uint8Array
  decode(bytes: Uint8Array): HostEvent
}

/** Where an inbound event goes: the actor, the mailbox class, and the supersede key for heartbeats. */
export interface InboundRoute {
  actor: string
  cls: MessageClass
  key?: string
}

export interface BridgeInit {
  codec: Codec
  /** Routes a decoded inbound event; return undefined to drop it (counted as `unrouted`). */
  route(event: HostEvent, from: string): InboundRoute | undefined
}

export interface BridgeCounters {
  sent: number
  received: number
  /** Inbound drops by reason. */
  malformed: number
  unrouted: number
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
export function createTransportBridge(components: { transport: Transport }, init: BridgeInit): TransportBridge {
  const { transport } = components
  const counters: BridgeCounters = { sent: 0, received: 0, malformed: 0, unrouted: 0, refused: 0, unencodable: 0, tooLarge: 0, closed: 0 }
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
      transport.onReceive((bytes, from) => {
        counters.received++
        let event: HostEvent
        try {
          event = init.codec.decode(bytes)
        } catch {
          counters.malformed++
          return
        }
        // The transport's idea of the sender wins over anything the packet claims.
        event.from = from
        const route = init.route(event, from)
        if (route === undefined) {
          counters.unrouted++
          return
        }
        const r = host.send(route.actor, event, route.cls, route.key ?? from)
        if (r === 'unknown' || r === 'failed' || r === 'rejected' || r === 'dropped') counters.refused++
      })
    },
  }
}
