/**
 * One node's flock: the flock machine in an actor host, its mailbox bridged to a datagram transport.
 * The same code runs on the simulator (SimNetwork endpoints, the virtual clock) and on UDP (the real
 * clock); only the components differ.
 */
import type { MachineDefinition } from '../../machines/definition.js'
import { flockMachine, roleOf, type FlockRole } from '../../machines/flock.machine.js'
import type { FlockWireEvent } from '../../machines/flock/events.js'
import type { FlockContext, FlockInput } from '../../machines/flock/types.js'
import type { Clock } from '../../runtime/clock.js'
import { createActorHost, type ActorHost, type HostLogger, type OutboundRouter, type PersistPort } from '../../runtime/host.js'
import type { Recorder } from '../../runtime/recorder.js'
import { createTransportBridge, type Codec, type Delivered, type Denial, type InboundRoute, type TransportBridge } from '../../runtime/transport-bridge.js'
import type { Origin, Transport } from '../../runtime/transport.js'
import { wireCodec } from './wire-codec.js'

export interface FlockActorComponents {
  transport: Transport
  clock: Clock
  codec?: Codec<FlockWireEvent>
  recorder?: Recorder
  logger?: HostLogger
  store?: PersistPort
  /** Further machines the host can run beside the flock (the strew layer's). */
  machines?: MachineDefinition[]
  /**
   * The host's one outbound router, given the flock's datagram router: a node with a gRPC road
   * composes both here (runtime/router.ts), so every send leaves by its address. Default: datagrams only.
   */
  outbound?: (udp: OutboundRouter) => OutboundRouter
}

export interface FlockActorInit {
  /** Node name; the actor id is `<node>/flock`. */
  node: string
  input: FlockInput
}

export interface FlockActor {
  readonly id: string
  readonly host: ActorHost
  readonly bridge: TransportBridge
  /** The live context (read-only use). */
  context(): FlockContext
  role(): FlockRole | 'left' | 'failed'
  close(): Promise<void>
}

/** Why the flock's route denies a packet (see {@link routeFlockPacket}). */
export const FLOCK_DENIALS = ['secondary', 'impostor'] as const

/** The node a flock packet says it comes from (an Info's `me`, a pull's `me`, a chunk's `leader`). */
function claimedSender(event: FlockWireEvent): string | undefined {
  switch (event.type) {
    case 'info':
      return event.info.me.id
    case 'list.pull':
      return event.pull.me.id
    case 'list.chunk':
      return event.chunk.leader.id
    default:
      return undefined
  }
}

/**
 * Where a flock packet goes, given what the transport authenticated about its sender. Over a session,
 * a packet must come from the node it names as its sender: that node's id is the one its session's
 * key makes, so a holder of the secret cannot speak for another node (`impostor`). On the secondary
 * channel (the secret alone, no identity) only Confab queries are taken (`secondary`); flock traffic
 * must come under a session. From a transport that authenticates nothing (the simulator's) every
 * packet is taken as it is.
 *
 * Mailbox class per packet: heartbeats (member → leader and leader → member) are superseded per
 * sender, so a slow leader handles one batch per period; admin commands are control; the rest data.
 */
export function routeFlockPacket(actor: string) {
  return (event: Delivered<FlockWireEvent>, origin: Origin | undefined): InboundRoute | Denial | undefined => {
    if (origin?.channel === 'secondary' && event.type !== 'confab.query') return { deny: 'secondary' }
    if (origin?.channel === 'session') {
      const claimed = claimedSender(event)
      if (claimed !== undefined && claimed !== origin.peer) return { deny: 'impostor' }
    }
    switch (event.type) {
      case 'info': {
        const kind = event.info.kind
        if (kind === 'beat' || kind === 'leader-beat') return { actor, cls: 'heartbeat', key: event.from }
        if (kind === 'admin') return { actor, cls: 'control' }
        return { actor, cls: 'data' }
      }
      case 'list.pull':
      case 'list.chunk':
      case 'confab.query':
        return { actor, cls: 'data' }
      default:
        return undefined
    }
  }
}

/** Builds the node: `createFlockActor({ transport, clock, … }, { node, input })`. */
export function createFlockActor(components: FlockActorComponents, init: FlockActorInit): FlockActor {
  const id = `${init.node}/flock`
  const bridge = createTransportBridge({ transport: components.transport }, { codec: components.codec ?? wireCodec, route: routeFlockPacket(id), denials: FLOCK_DENIALS })
  const host = createActorHost(
    { clock: components.clock, machines: [flockMachine, ...(components.machines ?? [])], outbound: components.outbound?.(bridge.outbound) ?? bridge.outbound, recorder: components.recorder, logger: components.logger, store: components.store },
    { node: init.node },
  )
  bridge.attach(host)
  host.spawn(id, flockMachine.name, { ...init.input, now: components.clock.now() })
  return {
    id,
    host,
    bridge,
    context: () => host.state(id).context as FlockContext,
    role: () => {
      const s = host.state(id)
      if (s.status === 'failed') return 'failed'
      const ctx = s.context as FlockContext & { at: FlockRole | 'left' }
      return ctx.at === 'left' ? 'left' : roleOf(ctx)
    },
    async close() {
      host.close()
      await components.transport.close()
    },
  }
}
