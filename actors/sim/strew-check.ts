/**
 * The strew invariants of the history checker (`crux sim --services K`, `crux check`). At every
 * heartbeat mark it reads each live node's reeve catalog and the services its driver registered
 * (actors/sim/strew-views.ts), and judges:
 * - strew-visible: a registered service of a live node is up in every live node's catalog within
 *   `visibleHb` of its registration, or of the steward settling if it registered before (nothing is
 *   visible without a steward); `visible_hb_max` is the worst lag seen;
 * - strew-lost: a service a node's catalog held under one steward term is up again there within
 *   `visibleHb` of the next steward settling (no service of a live node is lost across a change);
 * - strew-retired: a crashed node's services are no longer up in any live node's catalog (as its
 *   reeve serves it: without the nodes its flock no longer lists) within `retireHb` of the crash,
 *   whether or not the steward crashed with it (`retireUnlistedHb` when it did and the observer's flock
 *   holds no member list, --no-list-sync: the next steward's catalog is what retires them there);
 *   `retired_hb_max` is the worst;
 * - strew-catalog-back: a node's catalog never goes back to an older (term, version), compared in
 *   that order: a new steward's term is higher than any earlier one's, so its versions may start
 *   over, but within a term a version only grows;
 * - strew-unsettled: once the flock agrees, the live nodes' catalogs come to one steward term
 *   within `settleHb`.
 * "Settled" means every live node's catalog carries the same term, that of a live, active steward
 * (a crashed or retired steward's catalogs are stale, however alike), and the flock agrees. Every
 * fault restarts the settling (lags count from the next mark the catalogs and the flock agree); a reboot excuses its node's services
 * and its catalog for `faultGraceHb` (it leaves and rejoins the flock), everyone's if it was the
 * steward's node. Nothing but retirement and catalog order is judged while a partition is in effect
 * (each side has its own steward). A service seen (or gone) at a mark is timed from the catalog push
 * that brought (or took) it when pushes are fed in (`catalogChanged`: the simulator and `crux check`
 * both do), else from the mark, up to 1 HB late. Times are ms on the simulator's clock; bounds and
 * reported lags are in heartbeats.
 */
import type { Fault } from './check-faults.js'

/** The kinds of strew violation (actors/sim/check.ts counts them with the flock's). */
export const STREW_VIOLATION_KINDS = ['strew-visible', 'strew-lost', 'strew-retired', 'strew-catalog-back', 'strew-unsettled'] as const
export type StrewViolationKind = (typeof STREW_VIOLATION_KINDS)[number]

/** A reeve's catalog as the checker reads it: up endpoints have `state: 'up'`. */
export interface StrewCatalog {
  term: number
  version: number
  endpoints: Readonly<Record<string, { state: string }>>
  /** Changes with what the reeve serves besides its version (the nodes its flock lists); absent: 0. */
  served?: number
  /** Whether the reeve leaves endpoint `id` out of what it serves (its node is not listed); absent: none. */
  hides?: (id: string) => boolean
}

/** Whether endpoint `id` is up in catalog `c` as served. */
const isUp = (c: StrewCatalog, id: string): boolean => c.endpoints[id]?.state === 'up' && c.hides?.(id) !== true

/** One live node at a mark: its reeve's catalog, its driver's services, its steward's term (0: not active). */
export interface StrewNodeView {
  node: string
  catalog: StrewCatalog | null
  services: ReadonlyArray<{ id: string; registeredAt: number | null }>
  stewardTerm?: number
  /** Whether its reeve knows the nodes its flock lists (false: it serves the catalog whole). Absent: true. */
  listed?: boolean
}

export interface StrewBounds {
  visibleHb: number
  retireHb: number
  /** The bound for an observer that holds no member list when the steward crashed with the node. */
  retireUnlistedHb: number
  settleHb: number
  /**
   * A reboot of a node excuses the absence of its services, and the staleness of its catalog, for this
   * long (it leaves and rejoins the flock); a reboot of the steward's node excuses everyone's.
   */
  faultGraceHb: number
}

/** Defaults: retirement within the flock's detection (≤ 4 HB, of a member or of the leader) plus 1 HB. */
export const DEFAULT_STREW_BOUNDS: Readonly<StrewBounds> = Object.freeze({ visibleHb: 2, retireHb: 5, retireUnlistedHb: 12, settleHb: 10, faultGraceHb: 10 })

export interface StrewViolation {
  kind: StrewViolationKind
  hb: number
  message: string
}

/** The `strew` object of the JSON summary. */
export interface StrewSummary {
  services: number
  visible_hb_max: number
  retired_hb_max: number
  violations: string[]
}

const round = (x: number): number => Math.round(x * 100) / 100

export class StrewChecker {
  readonly found: StrewViolation[] = []
  readonly bounds: StrewBounds
  private readonly owner = new Map<string, string>()
  private readonly registeredAt = new Map<string, number | null>()
  /**
   * Per observer: the services it is owed (each from when), those it ever held, and which services its
   * catalog lacks, as of the catalog (term, version) `key`: a reeve's catalog changes only with its
   * version, so an unchanged version is looked at again only for the services whose registration changed.
   */
  private readonly watches = new Map<string, { missing: Map<string, number>; everSeen: Set<string>; key: string; lack: Set<string> }>()
  /** The settled term the watches are judged under, and since when. */
  private judged: { term: number; at: number } | null = null
  /** Services whose registration changed since the last judged mark, and what it was then. */
  private readonly changedRegs = new Set<string>()
  private readonly registeredBefore = new Map<string, number | null>()
  private readonly order = new Map<string, { term: number; version: number }>()
  /** Crashed nodes: when, whether the steward died with them, and per service the observers still holding it up (null: not yet looked). */
  private readonly dead = new Map<string, { at: number; steward: boolean; owed: Map<string, Set<string>> | null }>()
  /** The active stewards at the last mark, by node: their terms. */
  private stewards = new Map<string, number>()
  /** Nodes a reboot touched, and when; and when a reboot last touched an active steward's node. */
  private readonly touched = new Map<string, number>()
  private stewardTouched = -Infinity
  private partitioned = false
  private healedAt = 0
  private lastFault = 0
  private settled: { term: number; at: number } | null = null
  private unsettledSince: number | null = 0
  private agreedSince: number | null = null
  private visibleMax = 0
  /** Per observer: when a push last changed each endpoint, and the whole catalog (catalogChanged). */
  private readonly changes = new Map<string, { ids: Map<string, number>; full: number }>()
  /** The previous mark's time. */
  private lastMark = -Infinity
  private retiredMax = 0
  private readonly reported = new Set<string>()
  /** At the last mark: settled, every service registered, and each of a live node up in every live catalog. */
  complete = false

  constructor(
    private readonly hbMs: number,
    bounds: Partial<StrewBounds> = {},
  ) {
    this.bounds = { ...DEFAULT_STREW_BOUNDS, ...bounds }
  }

  /** An injected fault at `at` (ms): crashes start retirement, partitions pause the visibility rules. */
  fault(at: number, f: Fault): void {
    this.lastFault = at
    this.agreedSince = null
    if (f.kind === 'partition') this.partitioned = true
    if (f.kind === 'heal') {
      this.partitioned = false
      this.healedAt = at
    }
    if (f.kind === 'crash') {
      // With the steward among the victims, every victim's services wait for the next steward.
      const steward = (f.nodes ?? []).some((n) => this.stewards.has(n))
      for (const n of f.nodes ?? []) {
        if (this.dead.has(n)) continue
        this.dead.set(n, { at, steward, owed: null })
      }
    }
    if (f.kind === 'reboot') {
      for (const n of f.nodes ?? []) {
        this.touched.set(n, at)
        // A steward's node rebooting leaves its flock, so its steward's catalog: everyone's services are excused.
        if (this.stewards.has(n)) this.stewardTouched = at
      }
    }
    // Whatever the fault, the steward's settling is judged afresh from the next mark all catalogs agree.
    this.settled = null
    this.judged = null
  }

  /** Judges the live nodes at mark `at` (ms); `agreed` is the flock observer's verdict. */
  observe(at: number, all: readonly StrewNodeView[], agreed: boolean): void {
    this.judge(at, all, agreed)
    this.lastMark = at
  }

  private judge(at: number, all: readonly StrewNodeView[], agreed: boolean): void {
    const hb = Math.round(at / this.hbMs)
    const views = all.filter((v) => !this.dead.has(v.node))
    if (agreed) this.agreedSince ??= at
    else this.agreedSince = null
    this.stewards = new Map()
    for (const v of views) {
      if ((v.stewardTerm ?? 0) > 0) this.stewards.set(v.node, v.stewardTerm!)
      for (const s of v.services) {
        this.owner.set(s.id, v.node)
        if (this.registeredAt.get(s.id) !== s.registeredAt) this.changedRegs.add(s.id)
        this.registeredAt.set(s.id, s.registeredAt)
      }
      this.checkOrder(hb, v)
    }
    this.checkRetired(at, hb, views)
    this.complete = false
    if (this.partitioned) return
    const settled = this.settledTerm(views)
    if (settled === null) {
      this.settled = null
      this.unsettledSince ??= at
      const since = Math.max(this.unsettledSince, this.agreedSince ?? at, this.lastFault)
      if (this.agreedSince !== null && at - since >= this.bounds.settleHb * this.hbMs) {
        this.report('strew-unsettled', `unsettled:${since}`, hb, `HB ${hb}: the flock agrees but the live nodes' catalogs have not come to one steward term for ${round((at - since) / this.hbMs)} HB`)
      }
      return
    }
    this.unsettledSince = null
    // Until the flock agrees, strew cannot know who is in it (a healed partition's nodes rejoin, and a
    // steward re-admits their reeves, only once their flocks merge): the settling counts from agreement.
    if (this.settled === null || this.settled.term !== settled || this.agreedSince === null) this.settled = { term: settled, at }
    this.checkVisible(at, hb, views, this.settled)
  }

  /**
   * A push changed `observer`'s catalog at `at` (ms): the endpoints `ids` (null: the whole catalog).
   * Optional: with it, a service seen (or gone) at a mark is timed from that push rather than from
   * the mark, so lags are exact instead of up to a heartbeat long.
   */
  catalogChanged(observer: string, at: number, ids: readonly string[] | null): void {
    let c = this.changes.get(observer)
    if (c === undefined) this.changes.set(observer, (c = { ids: new Map(), full: -Infinity }))
    if (ids === null) c.full = at
    else for (const id of ids) c.ids.set(id, at)
  }

  /** When `observer`'s catalog last changed `id` since the previous mark, or the mark `at` if not known. */
  private changedAt(observer: string, id: string, at: number): number {
    const c = this.changes.get(observer)
    if (c === undefined) return at
    const t = Math.max(c.ids.get(id) ?? -Infinity, c.full)
    return t > this.lastMark && t <= at ? t : at
  }

  /** Violations found so far, counted by kind (kinds not found are absent). */
  kinds(): Partial<Record<StrewViolationKind, number>> {
    const out: Partial<Record<StrewViolationKind, number>> = {}
    for (const v of this.found) out[v.kind] = (out[v.kind] ?? 0) + 1
    return out
  }

  /** The summary's `strew` object. */
  summary(): StrewSummary {
    return { services: this.owner.size, visible_hb_max: round(this.visibleMax), retired_hb_max: round(this.retiredMax), violations: this.found.map((v) => v.message) }
  }

  /** The one term every live catalog carries, if a live steward is active under it; else null. */
  private settledTerm(views: readonly StrewNodeView[]): number | null {
    let term: number | null = null
    for (const v of views) {
      const t = v.catalog?.term ?? 0
      if (t <= 0 || (term !== null && t !== term)) return null
      term = t
    }
    for (const t of this.stewards.values()) if (t === term) return term
    return null
  }

  private checkOrder(hb: number, v: StrewNodeView): void {
    if (v.catalog === null) return
    const { term, version } = v.catalog
    const prev = this.order.get(v.node)
    if (prev !== undefined && (term < prev.term || (term === prev.term && version < prev.version))) {
      this.report('strew-catalog-back', `back:${v.node}`, hb, `HB ${hb}: ${v.node}'s catalog went back from (term ${prev.term}, version ${prev.version}) to (term ${term}, version ${version})`)
    }
    this.order.set(v.node, { term, version })
  }

  /**
   * Visibility and loss, incrementally: each observer keeps the services it is still owed (`missing`,
   * with the time each is owed from), and a mark looks only at what changed: the services an observer
   * is owed, those its catalog lacks, and a catalog only when its version moved.
   */
  private checkVisible(at: number, hb: number, views: readonly StrewNodeView[], settled: { term: number; at: number }): void {
    const grace = this.bounds.faultGraceHb * this.hbMs
    const touched = (node: string): number => (this.touched.get(node) ?? -Infinity) + grace
    // Owed from the registration, the settling, and the end of the grace of a reboot of either end.
    const base = (id: string, observer: string): number => Math.max(this.registeredAt.get(id)!, settled.at, touched(this.owner.get(id)!), touched(observer), this.stewardTouched + grace)
    const live = (id: string): boolean => this.registeredAt.get(id) != null && !this.dead.has(this.owner.get(id)!)
    const owedAll = (observer: string): Map<string, number> => {
      const m = new Map<string, number>()
      for (const id of this.registeredAt.keys()) if (live(id)) m.set(id, base(id, observer))
      return m
    }
    if (this.judged?.term !== settled.term) {
      for (const [o, w] of this.watches) w.missing = owedAll(o)
    } else {
      if (this.judged.at !== settled.at) for (const [o, w] of this.watches) for (const id of w.missing.keys()) w.missing.set(id, base(id, o))
      for (const id of this.changedRegs) {
        for (const [o, w] of this.watches) {
          if (!live(id)) w.missing.delete(id)
          else if (w.missing.has(id) || this.registeredBefore.get(id) == null) w.missing.set(id, base(id, o))
        }
      }
    }
    this.judged = { term: settled.term, at: settled.at }
    const changed = [...this.changedRegs]
    this.changedRegs.clear()
    for (const [id, reg] of this.registeredAt) this.registeredBefore.set(id, reg)
    const bound = this.bounds.visibleHb * this.hbMs
    let owed = 0
    for (const v of views) {
      let w = this.watches.get(v.node)
      if (w === undefined) this.watches.set(v.node, (w = { missing: owedAll(v.node), everSeen: new Set(), key: '', lack: new Set() }))
      const c = v.catalog!
      const key = `${c.term}:${c.version}:${c.served ?? 0}`
      const lack = w.lack
      if (key !== w.key) {
        lack.clear()
        for (const id of this.registeredAt.keys()) if (live(id) && !isUp(c, id)) lack.add(id)
        w.key = key
      } else {
        for (const id of changed) {
          if (live(id) && !isUp(c, id)) lack.add(id)
          else lack.delete(id)
        }
      }
      for (const [id, from] of w.missing) {
        if (!live(id)) {
          w.missing.delete(id)
          continue
        }
        if (lack.has(id)) continue
        // First seen at this mark (up since the push that brought it): late if that is past the bound.
        const lag = Math.max(0, this.changedAt(v.node, id, at) - from)
        if (lag > bound) this.late(hb, id, v.node, w.everSeen.has(id), round(lag / this.hbMs), settled.term)
        this.visibleMax = Math.max(this.visibleMax, lag / this.hbMs)
        w.missing.delete(id)
        w.everSeen.add(id)
      }
      for (const id of lack) {
        if (!live(id)) lack.delete(id)
        else if (!w.missing.has(id)) w.missing.set(id, base(id, v.node))
      }
      owed += w.missing.size
      for (const [id, from] of w.missing) {
        if (at - from <= bound) continue
        this.visibleMax = Math.max(this.visibleMax, (at - from) / this.hbMs)
        this.late(hb, id, v.node, w.everSeen.has(id), round((at - from) / this.hbMs), settled.term)
      }
    }
    let unregistered = 0
    for (const reg of this.registeredAt.values()) if (reg === null) unregistered++
    this.complete = owed === 0 && unregistered === 0
  }

  /**
   * Retirement: at the first mark after a crash, every live observer owes the retirement of each of the
   * dead node's services; a mark looks only at what is still owed.
   */
  private checkRetired(at: number, hb: number, views: readonly StrewNodeView[]): void {
    if (this.dead.size === 0) return
    const byNode = new Map(views.map((v) => [v.node, v]))
    for (const [node, d] of this.dead) {
      if (d.owed === null) {
        d.owed = new Map()
        for (const [id, owner] of this.owner) if (owner === node) d.owed.set(id, new Set(byNode.keys()))
      }
      const lag = at - d.at
      for (const [id, observers] of d.owed) {
        for (const o of observers) {
          const v = byNode.get(o)
          // An observer whose flock lists no members (--no-list-sync) waits for the next steward.
          const bound = (d.steward && v?.listed === false ? this.bounds.retireUnlistedHb : this.bounds.retireHb) * this.hbMs
          if (v === undefined || v.catalog === null || !isUp(v.catalog, id)) {
            observers.delete(o)
            if (v === undefined) continue
            // Gone since the push that took it away: late if that is past the bound.
            const gone = Math.max(0, this.changedAt(o, id, at) - d.at)
            this.retiredMax = Math.max(this.retiredMax, gone / this.hbMs)
            if (!this.partitioned && d.at + gone - Math.max(d.at, this.healedAt) > bound) this.lateRetired(hb, id, node, o, gone, d.steward, false)
            continue
          }
          if (this.partitioned || at - Math.max(d.at, this.healedAt) <= bound) continue
          this.retiredMax = Math.max(this.retiredMax, lag / this.hbMs)
          this.lateRetired(hb, id, node, v.node, lag, d.steward, true)
        }
        if (observers.size === 0) d.owed.delete(id)
      }
    }
  }

  /** A service not (or only just) up in an observer's catalog past the bound: lost if the observer held it before. */
  private late(hb: number, id: string, observer: string, held: boolean, lag: number, term: number): void {
    const owner = this.owner.get(id)
    if (held) this.report('strew-lost', `lost:${id}`, hb, `HB ${hb}: ${id} of live node ${owner} was in ${observer}'s catalog and was not back within ${lag} HB of its registration or term ${term} settling`)
    else this.report('strew-visible', `visible:${id}`, hb, `HB ${hb}: ${id} of live node ${owner} was not in ${observer}'s catalog within ${lag} HB of its registration (or the steward settling)`)
  }

  /** A crashed node's service up in an observer's catalog past the bound (`still`), or gone only at this mark, past it. */
  private lateRetired(hb: number, id: string, node: string, observer: string, lag: number, steward: boolean, still: boolean): void {
    const when = `crashed ${round(lag / this.hbMs)} HB ago${steward ? ' with the steward' : ''}`
    this.report('strew-retired', `retired:${id}`, hb, still ? `HB ${hb}: ${id} of ${node}, ${when}, is still up in ${observer}'s catalog` : `HB ${hb}: ${id} of ${node}, ${when}, has only now left ${observer}'s catalog`)
  }

  private report(kind: StrewViolationKind, key: string, hb: number, message: string): void {
    if (this.reported.has(key)) return
    this.reported.add(key)
    this.found.push({ kind, hb, message })
  }
}
