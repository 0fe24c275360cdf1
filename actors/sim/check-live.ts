/**
 * The history checker's liveness rules: the flock must come together and stay together, not only
 * avoid contradictions. Each rule sees the live nodes' contexts once per heartbeat and reports through
 * the checker (actors/sim/check.ts), which gives every report its kind.
 * - islands: more than one flock among the live nodes of one connected group for `oneFlockHb`;
 * - live-removed: a leader drops a live member it can reach, or such a member gives up on its live,
 *   reachable leader (starts over), with no fault touching either in the last `faultGraceHb`;
 * - steady-state: in a run told to last to a fixed heartbeat, agreement reached after the last fault
 *   lapses for more than `steadyHb` heartbeats in a row, or does not hold at the end.
 */
import type { FlockContext } from '../../machines/flock/types.js'
import type { FaultLog } from './check-faults.js'

/** A node's context at one heartbeat, under the name the simulator (or the trace) knows it by. */
export interface NodeView {
  node: string
  ctx: FlockContext
}

/** How a rule reports: `key` makes a report once-only (the first occurrence is the one worth reading). */
export type Report = (kind: 'islands' | 'live-removed' | 'steady-state', key: string, hb: number, message: string) => void

/** Leads its flock and is not in the middle of a reboot (a rebooting node answers nobody). */
export function leads(c: FlockContext): boolean {
  return c.leader.id === c.me.id && c.rebootUntil === null
}

/** More than one flock in one connected group, for longer than the bound. */
export class IslandsRule {
  /** Per group: when its current split began, never earlier than the start or the last fault. */
  private readonly since = new Map<number, number>()
  private lastHb = 0

  constructor(private readonly faults: FaultLog, private readonly boundHb: number, private readonly report: Report) {}

  observe(hb: number, live: readonly NodeView[]): void {
    const flocks = new Map<number, { names: Set<string>; nodes: number }>()
    for (const v of live) {
      const g = this.faults.group(v.node)
      const e = flocks.get(g) ?? { names: new Set<string>(), nodes: 0 }
      e.names.add(v.ctx.flock)
      e.nodes++
      flocks.set(g, e)
    }
    for (const g of [...this.since.keys()]) if ((flocks.get(g)?.names.size ?? 0) < 2) this.since.delete(g)
    for (const [g, e] of flocks) {
      if (e.names.size < 2) continue
      // A split first seen now began after the last observation that saw none (or at the fault).
      const since = this.since.get(g) ?? Math.max(this.faults.lastHb, this.lastHb)
      this.since.set(g, since)
      const from = since === 0 ? 'the start' : since === this.faults.lastHb ? `the fault at HB ${since}` : `HB ${since}`
      if (hb - since >= this.boundHb) this.report('islands', `islands:${g}:${since}`, hb, `HB ${hb}: ${e.names.size} flocks among the ${e.nodes} live nodes of one connected group, split since ${from} (${hb - since} HB)`)
    }
    this.lastHb = hb
  }
}

/** What the live-removed rule remembers of a node from one heartbeat to the next. */
interface Was {
  /** The live, reachable leader it followed (its node name), or null. */
  leader: string | null
  flock: string
  inList: boolean
  startOvers: number
}

/** No live, reachable member leaves its flock without a fault to explain it. */
export class LiveRemovedRule {
  private was = new Map<string, Was>()
  /**
   * Until when a node is excused because a fault touched the leader it followed: a rebooted or crashed
   * leader's members start over and regroup, and the churn of that regrouping (a new leader dropping
   * one of them that moved on) is the fault's doing, not the protocol's.
   */
  private excused = new Map<string, number>()

  constructor(private readonly faults: FaultLog, private readonly graceHb: number, private readonly report: Report) {}

  observe(hb: number, live: readonly NodeView[]): void {
    const byId = new Map(live.map((v) => [v.ctx.me.id, v]))
    const byNode = new Map(live.map((v) => [v.node, v]))
    const now = new Map<string, Was>()
    for (const [node, was] of this.was) {
      if (was.leader !== null && this.faults.touchedSince(was.leader, hb - this.graceHb)) this.excused.set(node, hb + this.graceHb)
    }
    for (const x of live) {
      const was = this.was.get(x.node)
      if (was !== undefined && was.leader !== null) this.judge(hb, x, was, byNode.get(was.leader))
      const c = x.ctx
      const l = c.leader.id === c.me.id ? undefined : byId.get(c.leader.id)
      const followed = l !== undefined && leads(l.ctx) && l.ctx.flock === c.flock && this.faults.reachable(x.node, l.node) ? l : undefined
      // Copied, not referenced: the simulator's contexts change in place between heartbeats.
      now.set(x.node, { leader: followed?.node ?? null, flock: c.flock, inList: followed?.ctx.list.entries[c.me.id] !== undefined, startOvers: c.stats.startOvers })
    }
    this.was = now
  }

  private judge(hb: number, x: NodeView, was: Was, l: NodeView | undefined): void {
    // The leader crashed, stepped down, left the flock or became unreachable: leaving it is right.
    if (l === undefined || !leads(l.ctx) || l.ctx.flock !== was.flock || !this.faults.reachable(x.node, l.node)) return
    const recent = hb - this.graceHb
    if (this.faults.touchedSince(x.node, recent) || this.faults.touchedSince(l.node, recent)) return
    if ((this.excused.get(x.node) ?? -1) >= hb || (this.excused.get(l.node) ?? -1) >= hb) return
    const startedOver = x.ctx.stats.startOvers > was.startOvers
    const stays = x.ctx.leader.id === l.ctx.me.id && x.ctx.flock === was.flock
    if (startedOver) {
      this.report('live-removed', `live-removed:${x.node}`, hb, `HB ${hb}: ${x.node} started over though its leader ${l.node} is live and reachable and no fault touched either for ${this.graceHb} HB`)
    } else if (was.inList && stays && l.ctx.list.entries[x.ctx.me.id] === undefined) {
      this.report('live-removed', `live-removed:${x.node}`, hb, `HB ${hb}: leader ${l.node} removed its live, reachable member ${x.node} with no fault touching either for ${this.graceHb} HB`)
    }
  }
}

/** Agreement reached after the last fault holds to the end of a run told to last (`--until-hb`). */
export class SteadyStateRule {
  private agreedAt: number | null = null
  private brokeAt: number | null = null

  constructor(private readonly faults: FaultLog, private readonly boundHb: number, private readonly report: Report) {}

  /** A fault: the flock may come apart again; the steady state counts from the next agreement. */
  fault(): void {
    this.agreedAt = null
    this.brokeAt = null
  }

  observe(hb: number, agreed: boolean): void {
    // Agreement seen at a fault's own heartbeat predates the fault's effect; while the network is
    // partitioned, agreement of all nodes is only the stale view of nodes that have not noticed yet.
    if (hb <= this.faults.lastHb || this.faults.partitioned) return
    if (agreed) {
      this.agreedAt ??= hb
      this.brokeAt = null
      return
    }
    if (this.agreedAt === null) return
    this.brokeAt ??= hb
    const lost = hb - this.brokeAt + 1
    if (lost > this.boundHb) this.report('steady-state', 'steady', hb, `HB ${hb}: agreement (reached at HB ${this.agreedAt}) lost at HB ${this.brokeAt} for ${lost} HB in a row`)
  }

  /** The run ended at heartbeat `hb`: agreement must hold there too. */
  finish(hb: number): void {
    if (this.agreedAt !== null && this.brokeAt !== null) this.report('steady-state', 'steady', hb, `HB ${hb}: the run ended without agreement (reached at HB ${this.agreedAt}, lost at HB ${this.brokeAt})`)
  }
}
