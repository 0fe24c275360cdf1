/**
 * The placement half of the simulator (`crux sim --place P`, with `--services` and `--run`): every node
 * runs its dean and proctor (`<node>/dean`, `<node>/proctor`) in its flock's host, spawned and fed by
 * the fulcrum's own edge (actors/placement/placement.ts startPlacement) on the node's clock, their
 * DeanService calls on the simulated road (the strew layer adds placement's routes to its table). The
 * dean drives the node's picket, whose simulated run edge runs every placed bundle healthily
 * (actors/sim/placement-plan.ts). At a drawn early heartbeat the program is put in the leading
 * proctor's mailbox as a `placement.apply` answered to {@link PLACEMENT_ANSWERS}, which this layer
 * takes; refused (the leader changed) or unanswered for 3 HB, it is handed to whichever proctor leads
 * at a later mark. The placement checker (actors/sim/placement-check.ts) reads the machines at every
 * mark.
 */
import type { MachineDefinition } from '../../machines/definition.js'
import { deanMachine } from '../../machines/dean.machine.js'
import { proctorMachine } from '../../machines/proctor.machine.js'
import type { Clock } from '../../runtime/clock.js'
import type { OutboundRouter } from '../../runtime/host.js'
import { MemoryStore } from '../../runtime/store.js'
import { startPlacement } from '../placement/placement.js'
import type { FlockActor } from '../flock/flock.actor.js'
import type { Fault } from './check-faults.js'
import { PlacementChecker, type PlacementBounds, type PlacementNodeView, type PlacementSummary } from './placement-check.js'
import type { PlacementPlan } from './placement-plan.js'
import { PLACEMENT_ANSWERS, placementViewOf } from './placement-views.js'

export interface SimPlacementOptions {
  seed: number
  hbMs: number
  plan: PlacementPlan
  /** The simulator's clock (the checker's times). */
  now(): number
  /** Node `node`'s reeve KeyID: what its picket takes the dean's requests from (actors/sim/strew-sim.ts). */
  keyId(node: string): string
  bounds?: Partial<PlacementBounds>
}

type Node = { actor: FlockActor; id: string }

/** Heartbeats an apply may go unanswered before it is handed to a proctor again. */
const APPLY_RETRY_HB = 3

export class SimPlacement {
  readonly machines: MachineDefinition[] = [deanMachine, proctorMachine]
  readonly checker: PlacementChecker
  private readonly nodes = new Map<string, Node>()
  private readonly crashed = new Set<string>()
  private applied = false
  /** When the apply on its way was handed over (null: none). */
  private asking: number | null = null
  private nextId = 1

  constructor(private readonly o: SimPlacementOptions) {
    this.checker = new PlacementChecker(o.hbMs, o.bounds)
  }

  /** Wraps node `addr`'s outbound: the proctor's answers to the apply come here, everything else goes on. */
  outbound(_addr: string, inner: OutboundRouter): OutboundRouter {
    return (to, event, from, cls, key) => {
      if (to !== PLACEMENT_ANSWERS) return inner(to, event, from, cls, key)
      if (event.type === 'placement.applied') {
        this.applied = true
        this.checker.applied(this.o.now(), this.o.plan.text)
      } else this.asking = null
    }
  }

  /** Starts node `addr`'s dean and proctor in its flock's host (after its strew and picket actors). */
  attach(addr: string, actor: FlockActor, clock: Clock): void {
    const node = actor.context().me.id
    this.nodes.set(addr, { actor, id: node })
    startPlacement({
      node,
      host: actor.host,
      now: clock.now(),
      hbMs: this.o.hbMs,
      store: new MemoryStore(),
      keyId: this.o.keyId(node),
      seed: `sim:${this.o.seed}:${node}`,
      members: () => Object.keys(actor.context().list.entries),
      // The feed runs on the node's clock right after the step (a fulcrum's runs in a microtask), so a run stays a function of its seed.
      schedule: (fn) => void clock.schedule(0, () => this.crashed.has(addr) || fn()),
      // The run edge knows the placed bundles: nothing to fetch.
      pastiche: null,
      log: { warn: () => {} },
    })
  }

  fault(at: number, f: Fault): void {
    if (f.kind === 'crash') for (const a of f.nodes ?? []) this.crashed.add(a)
    this.checker.fault(at, f)
  }

  private views(): PlacementNodeView[] {
    const out: PlacementNodeView[] = []
    for (const [addr, n] of this.nodes) {
      if (this.crashed.has(addr)) continue
      const host = n.actor.host
      const ctx = (a: string) => (host.has(a) && host.status(a) === 'running' ? host.state(a).context : undefined)
      out.push(placementViewOf(addr, ctx(`${n.id}/picket`), ctx(`${n.id}/proctor`)))
    }
    return out
  }

  /** Judges the live nodes at mark `at` (ms, heartbeat `hb`), then hands the program over if it is due. */
  observe(at: number, hb: number, agreed: boolean): void {
    const views = this.views()
    this.checker.observe(at, views, agreed)
    if (this.applied || hb < this.o.plan.applyHb || (this.asking !== null && at - this.asking < APPLY_RETRY_HB * this.o.hbMs)) return
    const leader = views.find((v) => v.leadingTerm > 0)
    const n = leader === undefined ? undefined : this.nodes.get(leader.node)
    if (n === undefined) return
    this.asking = at
    const { text, bundles } = this.o.plan
    n.actor.host.send(`${n.id}/proctor`, { type: 'placement.apply', id: this.nextId++, from: PLACEMENT_ANSWERS, caller: this.o.keyId(n.id), text, bundles }, 'control')
  }

  summary(): PlacementSummary {
    return this.checker.summary()
  }
}
