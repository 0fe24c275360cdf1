/**
 * The picket half of the simulator (`crux sim --run R`, with `--services`): every node runs the picket
 * machine as `<node>/picket` in its flock's host, registering its runs with the node's reeve and
 * forwarding their beats to its heartbeater (the strew actors `--services` runs), its `port:picket-run`
 * sends taken by a simulated run edge (actors/sim/picket-edge.ts). R services per node
 * (actors/sim/picket-plan.ts) are started by `picket.start` requests put in the machine's mailbox at
 * drawn heartbeats, from the node's own key as a local caller's are; their answers go to
 * {@link PICKET_ANSWERS}, which this layer takes. The picket checker (actors/sim/picket-check.ts) hears the
 * processes as they live and reads the machines and catalogs at every mark.
 */
import type { MachineDefinition } from '../../machines/definition.js'
import { picketMachine, RUN_PORT } from '../../machines/picket.machine.js'
import type { PicketAnswer, PicketConfig, PicketContext, PicketInput, PicketMessage } from '../../machines/picket/types.js'
import type { Clock } from '../../runtime/clock.js'
import type { OutboundRouter } from '../../runtime/host.js'
import { Rng } from '../../runtime/rng.js'
import type { FlockActor } from '../flock/flock.actor.js'
import type { Fault } from './check-faults.js'
import { PicketChecker, type PicketBounds, type PicketNodeView, type PicketSummary } from './picket-check.js'
import { nodeIdPrefixOf } from '../../machines/strew/ids.js'
import { SimRunEdge } from './picket-edge.js'
import { planPicket, type PlannedService } from './picket-plan.js'
import { PICKET_ANSWERS, picketViewOf, simPicketConfig, tellRegistered } from './picket-views.js'

export interface SimPicketOptions {
  seed: number
  hbMs: number
  /** Network addresses of the nodes, by index. */
  addrs: readonly string[]
  /** Services per node. */
  run: number
  /** Starts are drawn in [0, spreadHb). */
  spreadHb: number
  /** The simulator's clock (the checker's times). */
  now(): number
  /** Node `node`'s reeve: its NodeID, the KeyID a local caller presents, its horde (actors/sim/strew-sim.ts). */
  identity(node: string): { reeveNodeId: string; reeveKeyId: string; horde: string }
  /** Node `addr`'s gRPC HOST:PORT: where its muster says its services (and its dean) are reached. */
  grpcAddress(addr: string): string
  /** Bundles every node's edge runs healthily besides its own services' (placement's, actors/sim/placement-plan.ts). */
  shared?: readonly PlannedService[]
  bounds?: Partial<PicketBounds>
}

type Node = { edge: SimRunEdge | null; actor: FlockActor | null; id: string; services: PlannedService[] }

export class SimPicket {
  readonly machines: MachineDefinition[] = [picketMachine]
  readonly checker: PicketChecker
  readonly plan: PlannedService[]
  /** The machines' settings: backoffs in heartbeats, as the pastiche layer scales its own. */
  readonly config: PicketConfig
  private readonly nodes = new Map<string, Node>()
  private readonly crashed = new Set<string>()

  constructor(private readonly o: SimPicketOptions) {
    const hb = o.hbMs
    this.config = simPicketConfig(hb)
    this.plan = planPicket(o.seed, o.addrs.length, o.run, o.spreadHb, hb)
    this.checker = new PicketChecker(hb, this.config, o.bounds)
    const byNode: PlannedService[][] = o.addrs.map(() => [])
    for (const s of this.plan) byNode[s.node]!.push(s)
    o.addrs.forEach((addr, i) => this.nodes.set(addr, { edge: null, actor: null, id: '', services: byNode[i]! }))
  }

  /** Wraps node `addr`'s outbound: its run port goes to its simulated edge, answers to the checker, everything else on. */
  outbound(addr: string, inner: OutboundRouter): OutboundRouter {
    const n = this.nodes.get(addr)!
    return (to, event, from, cls, key) => {
      if (to === RUN_PORT) return n.edge?.take(event as PicketMessage)
      if (to !== PICKET_ANSWERS) return inner(to, event, from, cls, key)
      const a = event as PicketAnswer | { type: 'call.refused'; id: number; code: string; message: string }
      const s = n.services[a.id]
      if (s !== undefined) this.checker.answered(addr, s.name, a.code, a.message)
    }
  }

  /** Starts node `addr`'s picket machine in its flock's host (after its strew actors), and schedules its start requests. */
  attach(addr: string, actor: FlockActor, clock: Clock): void {
    const n = this.nodes.get(addr)!
    const host = actor.host
    const node = actor.context().me.id
    const id = `${node}/picket`
    const { reeveNodeId, reeveKeyId, horde } = this.o.identity(node)
    const hb = this.o.hbMs
    // Own generators, one per node: picket draws nothing from any other layer's streams.
    const edge = new SimRunEdge(addr, { clock, now: this.o.now, rng: new Rng(`sim:${this.o.seed}:picket:${addr}`), hbMs: hb, plan: new Map([...(this.o.shared ?? []), ...n.services].map((s) => [s.hash, s])), history: this.checker })
    edge.bind(host, id)
    Object.assign(n, { edge, actor, id })
    const input: PicketInput = {
      node,
      now: clock.now(),
      config: this.config,
      reeve: `${node}/reeve`,
      heartbeater: `${node}/heartbeater`,
      keyId: reeveKeyId,
      self: id,
      nodeIdPrefix: nodeIdPrefixOf(reeveNodeId),
      horde,
      services: [],
      // Its muster registers at the node's gRPC address, as a fulcrum's does: placement's proctor reaches the node's dean there.
      address: this.o.grpcAddress(addr),
    }
    host.spawn(id, picketMachine.name, input)
    n.services.forEach((s, k) => {
      const start = () => {
        if (this.crashed.has(addr)) return
        this.checker.requested(addr, s.name, this.o.now())
        host.send(id, { type: 'picket.start', id: k, from: PICKET_ANSWERS, caller: reeveKeyId, name: s.name, hash: s.hash }, 'control')
      }
      if (s.startHb === 0) start()
      else clock.schedule(s.startHb * hb, start)
    })
    // A run the machine has registered is told to the checker once, when the step that registered it ends.
    const told = new Set<number>()
    host.onStep((step) => {
      if (step.actor === id) tellRegistered(this.checker, addr, host.state(id).context as PicketContext, told, this.o.now())
    })
  }

  fault(at: number, f: Fault): void {
    if (f.kind === 'crash') {
      for (const a of f.nodes ?? []) {
        this.crashed.add(a)
        this.nodes.get(a)?.edge?.crash()
      }
    }
    this.checker.fault(at, f)
  }

  /** Every node's picket and reeve as the checker reads them. */
  private views(): PicketNodeView[] {
    const out: PicketNodeView[] = []
    for (const [addr, n] of this.nodes) {
      if (this.crashed.has(addr) || n.actor === null) continue
      const host = n.actor.host
      const ctx = (a: string) => (host.has(a) && host.status(a) === 'running' ? host.state(a).context : undefined)
      out.push(picketViewOf(addr, ctx(n.id), ctx(`${n.actor.context().me.id}/reeve`)))
    }
    return out
  }

  /** Judges the live nodes at mark `at` (ms). */
  observe(at: number, agreed: boolean): void {
    this.checker.observe(at, this.views(), agreed)
  }

  /** Every service asked for is running or failed, and nothing planned is still to happen. */
  get complete(): boolean {
    return this.checker.complete && [...this.nodes.values()].every((n) => (n.edge?.pending() ?? 0) === 0)
  }

  summary(): PicketSummary {
    return this.checker.summary()
  }
}
