/**
 * The flock history checker. It judges a run heartbeat by heartbeat from the nodes' contexts and the
 * faults injected, and reports violations, each of a stable kind (what a sweep counts by):
 * 1. two-leaders: at most one leader per flock within a connected group, once settled (a second
 *    leader may live for `settleHb` heartbeats while a merge is under way, not longer);
 * 2. list-lag: after agreement, every member's list equals its leader's (a member may lag its
 *    leader's current list for `listLagHb` heartbeats, not longer);
 * 3. epoch-back: epochs are monotonic: a leader never announces an older epoch of its flock, and a
 *    member following one leader never goes back to an older one;
 * 4. no-agreement: agreement within `healBoundHb` heartbeats after the last fault (a heal, a storm, a crash);
 * 5–7. islands, live-removed, steady-state: the liveness rules of actors/sim/check-live.ts;
 * 8–12. the strew-* kinds, with services: the strew invariants of actors/sim/strew-check.ts.
 * The simulator feeds it live contexts (the `violations` of `crux sim`); `crux check` feeds it the
 * contexts a replay of the trace rebuilds at the simulator's heartbeat marks.
 */
import { digestOf } from '../../machines/flock/member-list.js'
import { epochSeq } from '../../machines/flock/random.js'
import { FaultLog, type Fault } from './check-faults.js'
import { STREW_VIOLATION_KINDS } from './strew-check.js'
import { IslandsRule, LiveRemovedRule, SteadyStateRule, leads, type NodeView } from './check-live.js'

export type { NodeView } from './check-live.js'

/** The kinds of violation, stable names (CLI and JSON output; a sweep counts by them). */
export const VIOLATION_KINDS = ['two-leaders', 'list-lag', 'epoch-back', 'no-agreement', 'islands', 'live-removed', 'steady-state', ...STREW_VIOLATION_KINDS] as const
export type ViolationKind = (typeof VIOLATION_KINDS)[number]

/** One violation: its kind, the heartbeat it was seen at, and the message of `violations`. */
export interface Violation {
  kind: ViolationKind
  hb: number
  message: string
}

/** How long, in heartbeats, the flock may take to settle each kind of disorder. */
export interface CheckBounds {
  settleHb: number
  listLagHb: number
  healBoundHb: number
  /** One flock per connected group this long after the start or the last fault (islands). */
  oneFlockHb: number
  /** A fault touching a member or its leader excuses the member's leaving for this long (live-removed). */
  faultGraceHb: number
  /** Agreement may lapse this many heartbeats in a row once the run has reached it (steady-state). */
  steadyHb: number
}

export const DEFAULT_CHECK_BOUNDS: Readonly<CheckBounds> = Object.freeze({ settleHb: 20, listLagHb: 10, healBoundHb: 60, oneFlockHb: 40, faultGraceHb: 10, steadyHb: 3 })

/** Facts about the run rather than bounds. */
export interface CheckOptions {
  /**
   * The run was told to last to a fixed heartbeat (`--until-hb`), so its steady state is judged to
   * the end; a run that stops a few heartbeats after agreement has no steady state to judge.
   */
  steady?: boolean
}

export class FlockChecker {
  /** Every violation's message, in the order found (the CLI's and the JSON summary's `violations`). */
  readonly violations: string[] = []
  /** The same violations with their kind and heartbeat. */
  readonly found: Violation[] = []
  readonly bounds: CheckBounds
  private readonly faults = new FaultLog()
  private agreedSinceFault: number | null = null
  private twoLeaders = new Map<string, number>()
  private lagging = new Map<string, number>()
  private epochs = new Map<string, { flock: string; leader: string; seq: number }>()
  private reported = new Set<string>()
  private readonly islands: IslandsRule
  private readonly liveRemoved: LiveRemovedRule
  private readonly steady: SteadyStateRule | null

  constructor(bounds: Partial<CheckBounds> = {}, options: CheckOptions = {}) {
    this.bounds = { ...DEFAULT_CHECK_BOUNDS, ...bounds }
    const report = (kind: ViolationKind, key: string, hb: number, message: string): void => this.report(kind, key, hb, message)
    this.islands = new IslandsRule(this.faults, this.bounds.oneFlockHb, report)
    this.liveRemoved = new LiveRemovedRule(this.faults, this.bounds.faultGraceHb, report)
    this.steady = options.steady === true ? new SteadyStateRule(this.faults, this.bounds.steadyHb, report) : null
  }

  /** Records an injected fault at heartbeat `hb`. */
  fault(hb: number, f: Fault): void {
    this.faults.record(hb, f)
    this.agreedSinceFault = null
    this.steady?.fault()
  }

  /** Judges the live nodes at heartbeat `hb`; `agreed` is the observer's verdict (actors/flock/observe.ts). */
  observe(hb: number, views: readonly NodeView[], agreed: boolean): void {
    const live = views.filter((v) => !this.faults.dead.has(v.node))
    // Agreement seen at a fault's own heartbeat is the state before the fault took effect.
    if (agreed && hb > this.faults.lastHb) this.agreedSinceFault ??= hb
    this.checkLeaders(hb, live)
    this.checkLists(hb, live)
    this.checkEpochs(hb, live)
    this.islands.observe(hb, live)
    this.liveRemoved.observe(hb, live)
    this.steady?.observe(hb, agreed)
  }

  /** Ends the run at heartbeat `hb`: was agreement reached within the bound after the last fault, and kept? */
  finish(hb: number): string[] {
    const last = this.faults.lastHb
    if (last > 0 && hb - last >= this.bounds.healBoundHb) {
      const at = this.agreedSinceFault
      if (at === null || at - last > this.bounds.healBoundHb) {
        this.report('no-agreement', 'no-agreement', hb, `no agreement within ${this.bounds.healBoundHb} HB of the last fault at HB ${last}`)
      }
    }
    this.steady?.finish(hb)
    return this.violations
  }

  /** Violations found so far, counted by kind (kinds not found are absent). */
  kinds(): Partial<Record<ViolationKind, number>> {
    const out: Partial<Record<ViolationKind, number>> = {}
    for (const v of this.found) out[v.kind] = (out[v.kind] ?? 0) + 1
    return out
  }

  private checkLeaders(hb: number, live: readonly NodeView[]): void {
    const leaders = new Map<string, string[]>()
    for (const v of live) {
      if (!leads(v.ctx)) continue
      const key = `${this.faults.group(v.node)}|${v.ctx.flock}`
      const l = leaders.get(key)
      if (l === undefined) leaders.set(key, [v.node])
      else l.push(v.node)
    }
    const seen = new Set<string>()
    for (const [key, nodes] of leaders) {
      if (nodes.length < 2) continue
      seen.add(key)
      const since = this.twoLeaders.get(key) ?? hb
      this.twoLeaders.set(key, since)
      if (hb - since >= this.bounds.settleHb) this.report('two-leaders', `leaders:${key}`, hb, `HB ${hb}: ${nodes.length} leaders (${nodes.slice(0, 4).join(', ')}) of flock ${key.split('|')[1]} in one connected group for ${hb - since} HB`)
    }
    for (const key of [...this.twoLeaders.keys()]) if (!seen.has(key)) this.twoLeaders.delete(key)
  }

  private checkLists(hb: number, live: readonly NodeView[]): void {
    const byId = new Map(live.map((v) => [v.ctx.me.id, v]))
    for (const v of live) {
      const c = v.ctx
      if (!c.cfg.listSync) continue // only the leader holds the list in this mode
      const leader = c.leader.id === c.me.id ? undefined : byId.get(c.leader.id)
      // A rebooting node still names its old leader but is nobody's member: its lag starts when it is back.
      if (c.rebootUntil !== null || leader === undefined || leader.ctx.leader.id !== leader.ctx.me.id || leader.ctx.flock !== c.flock || !this.faults.sameGroup(v.node, leader.node)) {
        this.lagging.delete(v.node)
        continue
      }
      const same = c.list.version === leader.ctx.list.version && digestOf(c.list) === digestOf(leader.ctx.list)
      if (same) {
        this.lagging.delete(v.node)
        continue
      }
      const key = `${v.node}|${leader.ctx.list.version}`
      const prev = this.lagging.get(v.node)
      // Lag is measured against one version of the leader's list: a list that keeps changing resets it.
      const since = prev !== undefined && this.lastLagKey.get(v.node) === key ? prev : hb
      this.lagging.set(v.node, since)
      this.lastLagKey.set(v.node, key)
      if (hb - since >= this.bounds.listLagHb) this.report('list-lag', `list:${v.node}`, hb, `HB ${hb}: ${v.node}'s member list differs from its leader ${leader.node}'s (version ${leader.ctx.list.version}) for ${hb - since} HB`)
    }
  }

  private readonly lastLagKey = new Map<string, string>()

  private checkEpochs(hb: number, live: readonly NodeView[]): void {
    for (const v of live) {
      const c = v.ctx
      const seq = epochSeq(c.epoch)
      const prev = this.epochs.get(v.node)
      if (prev !== undefined && prev.flock === c.flock && prev.leader === c.leader.id && seq < prev.seq) {
        this.report('epoch-back', `epoch:${v.node}:${c.flock}`, hb, `HB ${hb}: ${v.node}'s epoch went back from ${prev.seq} to ${seq} in flock ${c.flock}`)
      }
      this.epochs.set(v.node, { flock: c.flock, leader: c.leader.id, seq })
    }
  }

  private report(kind: ViolationKind, key: string, hb: number, message: string): void {
    if (this.reported.has(key)) return
    this.reported.add(key)
    this.violations.push(message)
    this.found.push({ kind, hb, message })
  }
}
