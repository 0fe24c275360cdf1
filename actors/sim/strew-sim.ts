/**
 * The strew half of the simulator (`crux sim --services K`): every node runs the follower, steward,
 * registry, reeve and heartbeater beside its flock, in the same host, its sends leaving through the
 * host's one router (runtime/router.ts) onto the simulated gRPC road (runtime/sim-grpc.ts) with the
 * strew route table (actors/strew/routes.ts) and the simulator's crypto doubles. Each node announces
 * its gRPC address `n<i>:50059` as its steward through the flock, hears the flock through a
 * `flock.view` sent to its follower after every flock step that changed it, and runs K services (a
 * driver machine) that register with a TTL and heartbeat every heartbeat. The strew checker
 * (actors/sim/strew-check.ts) judges the nodes' catalogs at every mark.
 */
import type { MachineDefinition } from '../../machines/definition.js'
import { driverMachine } from '../../machines/strew/driver.machine.js'
import { driverOf, type DriverInput } from '../../machines/strew/driver-rules.js'
import type { CatalogEndpoint } from '../../machines/strew/events.js'
import type { Clock } from '../../runtime/clock.js'
import type { HostEvent } from '../../machines/effects.js'
import type { OutboundRouter } from '../../runtime/host.js'
import { addRoutes, type InboundService, type OutboundRoute } from '../../runtime/road-routes.js'
import { createRouter } from '../../runtime/router.js'
import { Rng } from '../../runtime/rng.js'
import { createSimGrpcRoad, SimGrpcNetwork, type SimGrpcRoad } from '../../runtime/sim-grpc.js'
import type { SimNetwork } from '../../runtime/sim-network.js'
import type { FlockActor } from '../flock/flock.actor.js'
import { createSimStrewCrypto } from '../strew/crypto.js'
import { createFlockViewFeed } from '../strew/flock-view.js'
import { strewMachines } from '../strew/machines.js'
import { keyIdOf } from '../strew/registration.js'
import { REEVE_REV } from '../strew/registry-client.js'
import { createStrewRoutes } from '../strew/routes.js'
import { reeveNodeIdOf, selfCallerOf, spawnStrewActors, strewDeadlines } from '../strew/spawn.js'
import { STEWARD_REV } from '../strew/strew.js'
import type { Fault } from './check-faults.js'
import { StrewChecker, type StrewBounds, type StrewNodeView, type StrewSummary } from './strew-check.js'
import { createServedChanges, strewViewOf } from './strew-views.js'

/** The gRPC port every simulated node serves on. */
export const SIM_GRPC_PORT = 50059
const BLOC = 'sim'
const HORDE = 'h'

export interface SimStrewOptions {
  seed: number
  hbMs: number
  /** Services per node. */
  services: number
  /** Each beat holds this many heartbeats (the TTL). Default 3. */
  ttlHb?: number
  /** Services register at a heartbeat drawn uniformly in [0, spreadHb). */
  spreadHb: number
  bounds?: Partial<StrewBounds>
  /**
   * Other subsystems' routes on the same road (placement's DeanService and PlacementService), as a
   * fulcrum hands them to createStrewRoad: made once per node.
   */
  routes?(): { inbound: InboundService[]; outbound: Record<string, OutboundRoute> }
}

/**
 * One node's strew wiring, bound once its flock id is known: its road (serving its gRPC address, calls
 * presenting the reeve's key) and the road its steward and registry call on (presenting the steward's
 * key, as their calls do on a channel: a reeve takes pushes and call-backs only from the steward's key).
 */
interface StrewNode {
  addr: string
  road: SimGrpcRoad | null
  stewardRoad: SimGrpcRoad | null
  /** `<node>/steward` and `<node>/registry`: the actors that call as the steward. */
  stewardActors: Set<string>
  actor: FlockActor | null
  /** The node's clock minus the simulator's (ms). */
  skew: number
}

export class SimStrew {
  /** The machines a host needs beside the flock's (the journal header lists them). */
  readonly machines: MachineDefinition[] = [...strewMachines, driverMachine]
  readonly checker: StrewChecker
  private readonly grpc: SimGrpcNetwork
  private readonly rng: Rng
  private readonly nodes = new Map<string, StrewNode>()
  private readonly crashed = new Set<string>()
  /** What each reeve step changed in what it serves (pushes, and the flock's node list). */
  private readonly servedChanges = createServedChanges()

  constructor(
    private readonly net: SimNetwork,
    private readonly o: SimStrewOptions,
  ) {
    // Own generators: the strew layer draws nothing from the flock's or the datagrams' streams.
    this.grpc = new SimGrpcNetwork(net, { seed: `sim:${o.seed}:grpc` })
    this.rng = new Rng(`sim:${o.seed}:strew`)
    this.checker = new StrewChecker(o.hbMs, o.bounds)
  }

  /** Node `addr`'s gRPC HOST:PORT, announced as its steward through the flock. */
  grpcAddress(addr: string): string {
    return `${addr}:${SIM_GRPC_PORT}`
  }

  /** The host's outbound for node `addr` (createFlockActor's `outbound`): datagrams and the gRPC road. */
  outbound(addr: string): (udp: OutboundRouter) => OutboundRouter {
    const n: StrewNode = { addr, road: null, stewardRoad: null, stewardActors: new Set(), actor: null, skew: 0 }
    this.nodes.set(addr, n)
    const grpc = {
      call: (hostPort: string, name: string, event: Parameters<SimGrpcRoad['call']>[2], from: string) => (n.stewardActors.has(from) ? n.stewardRoad : n.road)?.call(hostPort, name, event, from),
      reply: (id: number, event: Parameters<SimGrpcRoad['reply']>[1]) => n.road?.reply(id, event),
    }
    return (udp) => {
      const router = createRouter({ udp, grpc, ports: { health: () => {} } }).outbound
      // The simulator's datagram addresses are bare node names (`n3`), which are not the router's
      // HOST:PORT: the flock's datagrams keep going straight to the bridge, every other send (the
      // strew actors' gRPC calls, replies and ports) goes by the router.
      return (to, event, from, cls, key) => (to.startsWith('grpc://') || to.startsWith('reply:') || to.startsWith('port:') ? router : udp)(to, event, from, cls, key)
    }
  }

  /** Flock node `node`'s reeve as other actors of its host name it: its NodeID, the KeyID its local callers present, its horde. */
  identity(node: string): { reeveNodeId: string; reeveKeyId: string; horde: string } {
    return { reeveNodeId: reeveNodeIdOf(BLOC, HORDE, node), reeveKeyId: keyIdOf(REEVE_REV, node, Buffer.from(node, 'utf8')), horde: HORDE }
  }

  /** Starts node `addr`'s strew actors in its flock's host, under its flock node id, on the node's clock. */
  attach(addr: string, actor: FlockActor, clock: Clock): void {
    const n = this.nodes.get(addr)!
    const host = actor.host
    const node = actor.context().me.id
    const t0 = clock.now()
    n.skew = t0 - this.net.clock.now()
    const self = this.grpcAddress(addr)
    const key = Buffer.from(node, 'utf8')
    const publicKey = key.toString('base64')
    const { reeveKeyId, reeveNodeId } = this.identity(node)
    const hbMs = this.o.hbMs
    // The deadlines a fulcrum gives its strew calls, so the simulator times out alike.
    const routes = createStrewRoutes({ crypto: createSimStrewCrypto({ node }) }, { node, reeveNodeId, ...strewDeadlines(hbMs) })
    addRoutes(routes, this.o.routes?.() ?? {})
    const stewardKeyId = keyIdOf(STEWARD_REV, node, key)
    const stewardActors = new Set([`${node}/steward`, `${node}/registry`])
    n.road = createSimGrpcRoad({ clock, network: this.grpc }, { node, routes, self, netAddress: addr, caller: reeveKeyId, selfCaller: selfCallerOf(node, { reeveKeyId, stewardKeyId }) })
    n.road.attach(host)
    n.stewardRoad = createSimGrpcRoad({ clock, network: this.grpc }, { node, routes, netAddress: addr, caller: stewardKeyId })
    n.stewardRoad.attach(host)
    n.stewardActors = stewardActors
    n.actor = actor
    // As a fulcrum spawns them: retries a heartbeat apart, forwards batched 10 ms; nothing restored.
    spawnStrewActors(host, { node, reeveNodeId, address: self, horde: HORDE, hbMs, reeveKeyId, stewardKeyId, publicKey, keys: [], forwardBatchMs: 10, now: t0 })
    host.spawn(driverOf(node), driverMachine.name, this.driverInput(node, self, reeveKeyId, t0))
    // The follower hears the flock: after every flock step that changed what it says.
    const feed = createFlockViewFeed()
    const first = feed.next(actor.context())
    if (first !== null) host.send(`${node}/follower`, { ...first }, 'control')
    const reeveId = `${node}/reeve`
    host.onStep((step) => {
      if (step.actor === reeveId) return this.pushed(addr, actor, reeveId, step.event)
      if (step.actor !== actor.id) return
      const v = feed.next(actor.context())
      if (v !== null) host.send(`${node}/follower`, { ...v }, 'control')
    })
  }

  /** Node `node`'s K services: NodeIDs under its horde, when each registers, a tick phase. */
  private driverInput(node: string, self: string, keyId: string, now: number): DriverInput {
    const hbMs = this.o.hbMs
    const services = Array.from({ length: this.o.services }, (_, k) => {
      const api = `Api${k}`
      const endpoint: CatalogEndpoint = { nodeId: `/${BLOC}/${HORDE}/${node}/Svc${k}/${api}`, netId: `/Svc${k}_0/${node}/net/${self.replace(/:\d+$/, '')}:${60000 + k}`, horde: HORDE, api, instance: '', address: `${self.replace(/:\d+$/, '')}:${60000 + k}`, state: 'up', keyId }
      return { endpoint, uuid: `${node}-svc-${k}`, at: now + this.rng.int(Math.max(1, this.o.spreadHb)) * hbMs }
    })
    return { node, keyId, hbMs, ttlMs: (this.o.ttlHb ?? 3) * hbMs, services, phaseMs: this.rng.int(hbMs), now }
  }

  /**
   * Node `addr`'s reeve took `event`: a catalog push, or a new node list, tells the checker when and
   * what it changed of what is served. When on the simulator's clock, as the marks and faults are: on
   * the node's, a skewed node's change just after a mark was timed at the next mark, or before the
   * mark it followed.
   */
  private pushed(addr: string, actor: FlockActor, reeveId: string, event: HostEvent): void {
    const ids = this.servedChanges(reeveId, event, event.type === 'reeve.members' ? actor.host.state(reeveId).context : undefined)
    if (ids !== undefined) this.checker.catalogChanged(addr, (event.now ?? 0) - (this.nodes.get(addr)?.skew ?? 0), ids)
  }

  /** A fault at `at` (ms), for the checker. */
  fault(at: number, f: Fault): void {
    if (f.kind === 'crash') for (const a of f.nodes ?? []) this.crashed.add(a)
    this.checker.fault(at, f)
  }

  /** Judges the live nodes at mark `at` (ms). */
  observe(at: number, agreed: boolean): void {
    const views: StrewNodeView[] = []
    for (const n of this.nodes.values()) {
      if (this.crashed.has(n.addr) || n.actor === null) continue
      const host = n.actor.host
      const node = n.actor.context().me.id
      const ctx = (id: string) => (host.has(id) && host.status(id) === 'running' ? host.state(id).context : undefined)
      views.push(strewViewOf(n.addr, ctx(`${node}/reeve`), ctx(driverOf(node)), ctx(`${node}/steward`)))
    }
    this.checker.observe(at, views, agreed)
  }

  /** The summary's `strew` object. */
  summary(): StrewSummary {
    return this.checker.summary()
  }
}
