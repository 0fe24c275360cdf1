/**
 * The flock history checker. It judges a run heartbeat by heartbeat from the nodes' contexts and the
 * faults injected, and reports violations of:
 * 1. at most one leader per flock within a connected group, once settled (a second leader may live
 *    for `settleHb` heartbeats while a merge is under way, not longer);
 * 2. after agreement, every member's list equals its leader's (a member may lag its leader's
 *    current list for `listLagHb` heartbeats, not longer);
 * 3. epochs are monotonic: a leader never announces an older epoch of its flock, and a member
 *    following one leader never goes back to an older one;
 * 4. agreement within `healBoundHb` heartbeats after the last fault (a heal, a storm, a crash).
 * The simulator feeds it live contexts (the `violations` of `crux sim`); `crux check` feeds it the
 * contexts a replay of the trace rebuilds at the simulator's heartbeat marks.
 */
import { digestOf } from '../machines/flock/member-list.js'
import { epochSeq } from '../machines/flock/random.js'
import type { FlockContext } from '../machines/flock/types.js'

export interface CheckBounds {
  settleHb: number
  listLagHb: number
  healBoundHb: number
}

export const DEFAULT_CHECK_BOUNDS: Readonly<CheckBounds> = Object.freeze({ settleHb: 20, listLagHb: 10, healBoundHb: 60 })

export interface NodeView {
  node: string
  ctx: FlockContext
}

export class FlockChecker {
  readonly violations: string[] = []
  readonly bounds: CheckBounds
  private groupOf = new Map<string, number>()
  private dead = new Set<string>()
  private lastFaultHb = 0
  private agreedSinceFault: number | null = null
  private twoLeaders = new Map<string, number>()
  private lagging = new Map<string, number>()
  private epochs = new Map<string, { flock: string; leader: string; seq: number }>()
  private reported = new Set<string>()

  constructor(bounds: Partial<CheckBounds> = {}) {
    this.bounds = { ...DEFAULT_CHECK_BOUNDS, ...bounds }
  }

  /** Records an injected fault at heartbeat `hb`. */
  fault(hb: number, f: { kind: string; groups?: string[][]; nodes?: string[] }): void {
    this.lastFaultHb = hb
    this.agreedSinceFault = null
    if (f.kind === 'partition') {
      this.groupOf.clear()
      f.groups?.forEach((g, i) => g.forEach((n) => this.groupOf.set(n, i)))
    } else if (f.kind === 'heal') this.groupOf.clear()
    else if (f.kind === 'crash') for (const n of f.nodes ?? []) this.dead.add(n)
  }

  /** Judges the live nodes at heartbeat `hb`. */
  observe(hb: number, views: readonly NodeView[], agreed: boolean): void {
    const live = views.filter((v) => !this.dead.has(v.node))
    if (agreed) this.agreedSinceFault ??= hb
    this.checkLeaders(hb, live)
    this.checkLists(hb, live)
    this.checkEpochs(hb, live)
  }

  /** Ends the run at heartbeat `hb`: was agreement reached within the bound after the last fault? */
  finish(hb: number): string[] {
    if (this.lastFaultHb > 0 && hb - this.lastFaultHb >= this.bounds.healBoundHb) {
      const at = this.agreedSinceFault
      if (at === null || at - this.lastFaultHb > this.bounds.healBoundHb) {
        this.violations.push(`no agreement within ${this.bounds.healBoundHb} HB of the last fault at HB ${this.lastFaultHb}`)
      }
    }
    return this.violations
  }

  private checkLeaders(hb: number, live: readonly NodeView[]): void {
    const leaders = new Map<string, string[]>()
    for (const v of live) {
      if (v.ctx.leader.id !== v.ctx.me.id || v.ctx.rebootUntil !== null) continue
      const key = `${this.groupOf.get(v.node) ?? -1}|${v.ctx.flock}`
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
      if (hb - since >= this.bounds.settleHb) this.report(`leaders:${key}`, `HB ${hb}: ${nodes.length} leaders (${nodes.slice(0, 4).join(', ')}) of flock ${key.split('|')[1]} in one connected group for ${hb - since} HB`)
    }
    for (const key of [...this.twoLeaders.keys()]) if (!seen.has(key)) this.twoLeaders.delete(key)
  }

  private checkLists(hb: number, live: readonly NodeView[]): void {
    const byId = new Map(live.map((v) => [v.ctx.me.id, v]))
    for (const v of live) {
      const c = v.ctx
      if (!c.cfg.listSync) continue // only the leader holds the list in this mode
      const leader = c.leader.id === c.me.id ? undefined : byId.get(c.leader.id)
      if (leader === undefined || leader.ctx.leader.id !== leader.ctx.me.id || leader.ctx.flock !== c.flock || !sameGroup(this.groupOf, v.node, leader.node)) {
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
      if (hb - since >= this.bounds.listLagHb) this.report(`list:${v.node}`, `HB ${hb}: ${v.node}'s member list differs from its leader ${leader.node}'s (version ${leader.ctx.list.version}) for ${hb - since} HB`)
    }
  }

  private readonly lastLagKey = new Map<string, string>()

  private checkEpochs(hb: number, live: readonly NodeView[]): void {
    for (const v of live) {
      const c = v.ctx
      const seq = epochSeq(c.epoch)
      const prev = this.epochs.get(v.node)
      if (prev !== undefined && prev.flock === c.flock && prev.leader === c.leader.id && seq < prev.seq) {
        this.report(`epoch:${v.node}:${c.flock}`, `HB ${hb}: ${v.node}'s epoch went back from ${prev.seq} to ${seq} in flock ${c.flock}`)
      }
      this.epochs.set(v.node, { flock: c.flock, leader: c.leader.id, seq })
    }
  }

  private report(key: string, message: string): void {
    if (this.reported.has(key)) return
    this.reported.add(key)
    this.violations.push(message)
  }
}

function sameGroup(groups: Map<string, number>, a: string, b: string): boolean {
  return (groups.get(a) ?? -1) === (groups.get(b) ?? -1)
}
