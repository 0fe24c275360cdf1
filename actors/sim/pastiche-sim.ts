/**
 * The pastiche half of the simulator (`crux sim --blobs B`): every node runs the pastiche machine in
 * its flock's host, its `port:pastiche-*` sends taken by a simulated edge (actors/sim/pastiche-edge.ts)
 * whose calls cross the same simulated network as everything else. B blobs (actors/sim/pastiche-blobs.ts)
 * start on a few nodes and are wanted on a few others. A node's pastiche peers are the flock's members
 * (each node's pastiche is reachable at its network address), sent to it as `peers` after every flock
 * step that changed them; who holds what it learns by asking (`has`). The pastiche checker
 * (actors/sim/pastiche-check.ts) judges the stores at every mark.
 */
import type { MachineDefinition } from '../../machines/definition.js'
import { pasticheMachine } from '../../machines/pastiche.machine.js'
import type { PasticheContext, PasticheInput, PasticheMessage } from '../../machines/pastiche/types.js'
import type { Clock } from '../../runtime/clock.js'
import type { OutboundRouter } from '../../runtime/host.js'
import { SimGrpcNetwork } from '../../runtime/sim-grpc.js'
import type { SimNetwork } from '../../runtime/sim-network.js'
import type { FlockActor } from '../flock/flock.actor.js'
import { createFlockViewFeed, flockViewOf } from '../strew/flock-view.js'
import type { Fault } from './check-faults.js'
import { planBlobs, type BlobPlan } from './pastiche-blobs.js'
import { PasticheChecker, type PasticheBounds, type PasticheNodeView, type PasticheSummary } from './pastiche-check.js'
import { SimPasticheNode } from './pastiche-edge.js'

export interface SimPasticheOptions {
  seed: number
  hbMs: number
  /** Network addresses of the nodes, by index. */
  addrs: readonly string[]
  blobs: number
  /** Holdings are given at heartbeats drawn in [0, spreadHb). */
  spreadHb: number
  /** Nodes that corrupt every range they serve. */
  corruptPeers?: number
  bounds?: Partial<PasticheBounds>
}

const PORT = 'port:pastiche-'

export class SimPastiche {
  readonly machines: MachineDefinition[] = [pasticheMachine]
  readonly checker: PasticheChecker
  readonly plan: BlobPlan
  private readonly nodes = new Map<string, SimPasticheNode>()
  private readonly actors = new Map<string, { actor: FlockActor; id: string }>()
  private readonly crashed = new Set<string>()

  constructor(
    net: SimNetwork,
    private readonly o: SimPasticheOptions,
  ) {
    // Own generators: pastiche draws nothing from the flock's, the datagrams' or strew's streams.
    const grpc = new SimGrpcNetwork(net, { seed: `sim:${o.seed}:pastiche` })
    this.plan = planBlobs(o.seed, o.addrs.length, o.blobs, o.corruptPeers ?? 0, o.spreadHb)
    const deps = { grpc, nodes: this.nodes, hasDeadlineMs: 2 * o.hbMs, fetchDeadlineMs: 4 * o.hbMs }
    o.addrs.forEach((a, i) => this.nodes.set(a, new SimPasticheNode(a, this.plan.corrupt.includes(i), deps)))
    for (const b of this.plan.blobs) for (const i of b.placed) this.nodes.get(o.addrs[i]!)!.store.set(b.hash, b.bytes)
    const holdings = this.plan.blobs.flatMap((b) => b.wanted.map((i, k) => ({ hash: b.hash, node: o.addrs[i]!, atHb: b.wantedAt[k]! })))
    this.checker = new PasticheChecker(holdings, o.blobs, o.bounds)
  }

  /** Wraps node `addr`'s outbound: its pastiche ports go to its simulated edge, everything else on. */
  outbound(addr: string, inner: OutboundRouter): OutboundRouter {
    const edge = this.nodes.get(addr)!
    return (to, event, from, cls, key) => (to.startsWith(PORT) ? edge.take(event as PasticheMessage) : inner(to, event, from, cls, key))
  }

  /** Starts node `addr`'s pastiche machine in its flock's host; its holdings are given at once, its peers as the flock learns them. */
  attach(addr: string, actor: FlockActor, clock: Clock): void {
    const host = actor.host
    const node = actor.context().me.id
    const id = `${node}/pastiche`
    const edge = this.nodes.get(addr)!
    edge.bind(host, id)
    this.actors.set(addr, { actor, id })
    const hb = this.o.hbMs
    const input: PasticheInput = {
      node,
      now: clock.now(),
      held: [...edge.store].map(([hash, b]) => ({ hash, bytes: b.length })),
      config: { tickMs: hb / 4, gatherMs: hb / 4, askEveryMs: hb, backoffMs: hb / 2, backoffMaxMs: 8 * hb },
    }
    host.spawn(id, pasticheMachine.name, input)
    const index = this.o.addrs.indexOf(addr)
    for (const b of this.plan.blobs) {
      const k = b.wanted.indexOf(index)
      if (k < 0) continue
      const want = () => void host.send(id, { type: 'want', hash: b.hash }, 'control')
      const at = b.wantedAt[k]!
      if (at === 0) want()
      else clock.schedule(at * hb, want)
    }
    const feed = createFlockViewFeed()
    const tell = (): void => {
      if (feed.next(actor.context()) === null) return
      const view = flockViewOf(actor.context())
      // A member that does not hold the list knows no peers to tell: it keeps the last ones.
      if (!view.listHeld) return
      const peers = view.members.filter((m) => m.node !== node).map((m) => ({ node: m.node, address: m.host }))
      host.send(id, { type: 'peers', peers }, 'control')
    }
    tell()
    host.onStep((step) => {
      if (step.actor === actor.id) tell()
    })
  }

  fault(hb: number, f: Fault): void {
    if (f.kind === 'crash') for (const a of f.nodes ?? []) this.crashed.add(a)
    this.checker.fault(hb, f)
  }

  private views(): PasticheNodeView[] {
    const out: PasticheNodeView[] = []
    for (const [addr, edge] of this.nodes) {
      if (this.crashed.has(addr)) continue
      const a = this.actors.get(addr)
      const host = a?.actor.host
      const running = host !== undefined && host.has(a!.id) && host.status(a!.id) === 'running'
      out.push({ node: addr, honest: !edge.corrupt, store: edge.store, pins: edge.pins, ...(running ? { counters: (host.state(a!.id).context as PasticheContext).counters } : {}) })
    }
    return out
  }

  /** Judges the live nodes at heartbeat `hb`. */
  observe(hb: number): void {
    this.checker.observe(hb, this.views())
  }

  /** The end of the run. */
  finish(hb: number): void {
    this.checker.finish(hb, this.views())
  }

  summary(): PasticheSummary {
    return this.checker.summary()
  }
}
