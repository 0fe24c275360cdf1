/**
 * One node's flock: the flock machine in an actor host, its mailbox bridged to a datagram transport.
 * The same code runs on the simulator (SimNetwork endpoints, the virtual clock) and on UDP (the real
 * clock); only the components differ.
 */
import type { MachineDefinition } from '../../machines/definition.js'
import type { HostEvent } from '../../machines/effects.js'
import { flockMachine, roleOf, type FlockRole } from '../../machines/flock.machine.js'
import type { FlockContext, FlockInput } from '../../machines/flock/types.js'
import type { Clock } from '../../runtime/clock.js'
import { createActorHost, type ActorHost, type HostLogger, type OutboundRouter, type PersistPort } from '../../runtime/host.js'
import type { Recorder } from '../../runtime/recorder.js'
import { createTransportBridge, type Codec, type InboundRoute, type TransportBridge } from '../../runtime/transport-bridge.js'
import type { Transport } from '../../runtime/transport.js'
import { wireCodec } from './wire-codec.js'

export interface FlockActorComponents {
  transport: Transport
  clock: Clock
  codec?: Codec
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

/**
 * Mailbox class per packet: heartbeats (member → leader and leader → member) are superseded per
 * sender, so a slow leader handles one batch per period; admin commands are control; the rest data.
 */
export function routeFlockPacket(actor: string) {
  return (event: HostEvent, from: string): InboundRoute | undefined => {
    switch (event.type) {
      case 'info': {
        const kind = (event.info as { kind?: string }).kind
        if (kind === 'beat' || kind === 'leader-beat') return { actor, cls: 'heartbeat', key: from }
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
  const bridge = createTransportBridge({ transport: components.transport }, { codec: components.codec ?? wireCodec, route: routeFlockPacket(id) })
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
