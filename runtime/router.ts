/**
 * The host's one outbound router. The host delivers a `send` to a local actor itself; everything
 * else comes here and goes by its address (runtime/address.ts): a datagram through the transport
 * bridge, a call on the gRPC road (this node's own gRPC address included: the road loops it to the
 * mailbox `<node>/<name>` without a call), an answer to a pending inbound call, or a port of the
 * node's edge. An address that parses as none of these, or whose kind has no carrier here, is
 * dropped and counted by reason; nothing is thrown back into the sending actor's step.
 */
import type { HostEvent } from '../machines/effects.js'
import { parseAddress } from './address.js'
import type { OutboundRouter } from './host.js'

/** What a port of the edge does with a message sent to `port:<name>`. */
export type PortHandler = (event: HostEvent, from: string) => void

/** The road's side the router uses (runtime/grpc-road.ts and runtime/sim-grpc.ts provide it). */
export interface RoadPort {
  call(hostPort: string, name: string, event: HostEvent, from: string): void
  reply(id: number, event: HostEvent): void
}

export interface RouterComponents {
  /** The transport bridge's outbound (UDP), for `HOST:PORT`. */
  udp?: OutboundRouter
  /** The gRPC road, for `grpc://…` and `reply:<n>`. */
  grpc?: RoadPort
  /** Ports by name, for `port:<name>` (more can be added with {@link Router.port}). */
  ports?: Record<string, PortHandler>
}

export interface RouterCounters {
  udp: number
  grpc: number
  reply: number
  port: number
  /** Drops by reason: `unparseable`, `no-actor` (a local address with no such actor), `no-udp`, `no-grpc`, `no-port`, `port-failed`. */
  dropped: Record<string, number>
}

export interface Router {
  /** Pass as the host's `outbound` component. */
  readonly outbound: OutboundRouter
  readonly counters: RouterCounters
  /** Registers (or replaces) the handler of `port:<name>`. */
  port(name: string, handler: PortHandler): void
}

/** Builds the router: `createRouter({ udp?, grpc?, ports? })`. */
export function createRouter(components: RouterComponents): Router {
  const counters: RouterCounters = { udp: 0, grpc: 0, reply: 0, port: 0, dropped: {} }
  const ports = new Map<string, PortHandler>(Object.entries(components.ports ?? {}))
  const drop = (reason: string): void => {
    counters.dropped[reason] = (counters.dropped[reason] ?? 0) + 1
  }
  const outbound: OutboundRouter = (to, event, from, cls, key) => {
    const a = parseAddress(to)
    if (a === undefined) return drop('unparseable')
    switch (a.kind) {
      case 'local':
        return drop('no-actor')
      case 'udp':
        if (components.udp === undefined) return drop('no-udp')
        counters.udp++
        return components.udp(to, event, from, cls, key)
      case 'grpc':
        if (components.grpc === undefined) return drop('no-grpc')
        counters.grpc++
        return components.grpc.call(a.hostPort, a.name, event, from)
      case 'reply':
        if (components.grpc === undefined) return drop('no-grpc')
        counters.reply++
        return components.grpc.reply(a.id, event)
      case 'port': {
        const h = ports.get(a.name)
        if (h === undefined) return drop('no-port')
        counters.port++
        try {
          h(event, from)
        } catch {
          drop('port-failed')
        }
        return
      }
    }
  }
  return { outbound, counters, port: (name, handler) => void ports.set(name, handler) }
}
