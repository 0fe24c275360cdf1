/**
 * The placement checker of `crux sim --place P`. It hears when the program was applied (the proctor's
 * answer) and the faults, and at every mark reads each live node's picket services and whether its
 * proctor leads; it knows nothing of the proctor's solve, only what the program asks for (each pick's
 * literal count). It judges:
 * - placement-short: once the run is ready, every placed service has its wanted number of instances
 *   up (running, registered and beating) on live nodes. Ready: the program applied, the flock agreeing
 *   with no fault since, for `2 × periodHb + startHb` (a solve at the latest one period after the flock
 *   changed, one more for the assignment answered late or sent again, then the start), and, after the
 *   leadership changed, `settleHb + periodHb + startHb` since (a new proctor waits up to its settle for
 *   every member's muster before it solves at its next period);
 * - placement-twice: no live node has two live (not stopped or failed) instances of one placed service
 *   (the programs never stack: their counts stay under the nodes), and, once ready, the live nodes do
 *   not run more instances of a service than wanted. Before then an instance may be in flight: a new
 *   proctor placing from a catalog that lags behind what its predecessor assigned starts one elsewhere
 *   and trims the excess at its next solve; an instance being deleted (`stopping`) is not counted.
 * The summary's `moved` counts instances that came up on a node after the service was first whole (a
 * crashed node's, placed again); `whole_hb_max` is the longest from a crash after the service was
 * whole to the first mark at which every placed service was whole again.
 * Times are ms on the simulator's clock; bounds and reported lags are in heartbeats.
 */
import { compile } from '../../machines/khan/compile.js'
import type { ServiceState } from '../../machines/picket/types.js'
import { instanceOf, isLive } from '../../machines/placement/names.js'
import type { Fault } from './check-faults.js'

export const PLACEMENT_VIOLATION_KINDS = ['placement-short', 'placement-twice'] as const
export type PlacementViolationKind = (typeof PLACEMENT_VIOLATION_KINDS)[number]

export interface PlacementBounds {
  /** The proctor's period (actors/placement/placement.ts: 2 HB). */
  periodHb: number
  /** How long a new proctor may wait for the musters (its settle: 10 HB). */
  settleHb: number
  /** From an assignment to the instance up: the bundle, the spawn and the registration (picket's start bound). */
  startHb: number
}

export const DEFAULT_PLACEMENT_BOUNDS: Readonly<PlacementBounds> = Object.freeze({ periodHb: 2, settleHb: 10, startHb: 3 })

/** One live node at a mark: its picket's services and its proctor. */
export interface PlacementNodeView {
  node: string
  services: ReadonlyArray<{ name: string; state: ServiceState; up: boolean }>
  /** Its proctor leads, under this term (0: it does not). */
  leadingTerm: number
}

/** The summary's `placement` object. */
export interface PlacementSummary {
  /** Services the program places. */
  services: number
  /** Instances it wants, over them. */
  wanted: number
  /** The heartbeat the program was applied (null: never). */
  applied_hb: number | null
  moved: number
  /** At the last mark every placed service had its instances up. */
  whole: boolean
  whole_hb_max: number
  violations: string[]
}

/** What program `text` wants of each service: its pick's count (khan places a service by one pick only), which must be a literal number, rounded up as the solver does; null otherwise. */
export function wantedOf(text: string): Record<string, number> | null {
  const c = compile(text)
  if (c.program === null) return null
  const wanted: Record<string, number> = {}
  for (const p of c.checked!.picks) {
    if (p.count.kind !== 'number') return null
    wanted[p.service] = Math.ceil(p.count.value)
  }
  return wanted
}

/** The summary as the text output's `placement:` line (`crux sim`, `crux check`). */
export function placementLine(p: PlacementSummary): string {
  const applied = p.applied_hb === null ? 'never applied' : `applied at HB ${p.applied_hb}`
  return `placement: ${p.services} services (${p.wanted} instances) ${applied}, ${p.whole ? 'whole' : 'NOT whole'} at the end, ${p.moved} moved, whole again within ${p.whole_hb_max} HB of a crash; ${p.violations.length} violation(s)`
}

const round = (x: number): number => Math.round(x * 100) / 100

export class PlacementChecker {
  readonly found: Array<{ kind: PlacementViolationKind; message: string }> = []
  readonly bounds: PlacementBounds
  private readonly reported = new Set<string>()
  private readonly dead = new Set<string>()
  private wanted: Record<string, number> | null = null
  private appliedAt: number | null = null
  private lastFault = 0
  private agreedSince: number | null = null
  private leaders = ''
  private ledSince = 0
  /** Per service: when it was first whole. */
  private readonly firstWhole = new Map<string, number>()
  /** `service node` pairs that have had a live instance. */
  private readonly hosted = new Set<string>()
  private moved = 0
  /** The first crash since every service was last whole. */
  private brokenAt: number | null = null
  private wholeMax = 0
  private whole = false

  constructor(
    private readonly hbMs: number,
    bounds: Partial<PlacementBounds> = {},
  ) {
    this.bounds = { ...DEFAULT_PLACEMENT_BOUNDS, ...bounds }
  }

  private report(kind: PlacementViolationKind, key: string, message: string): void {
    if (this.reported.has(key) || this.found.length >= 100) return
    this.reported.add(key)
    this.found.push({ kind, message })
  }

  private hb(at: number): number {
    return round(at / this.hbMs)
  }

  /** The proctor took program `text` at `at` (a later apply of another program replaces what is wanted). */
  applied(at: number, text: string): void {
    const w = wantedOf(text)
    if (w === null) return
    if (this.wanted === null || JSON.stringify(w) !== JSON.stringify(this.wanted)) this.appliedAt = at
    this.wanted = w
  }

  fault(at: number, f: Fault): void {
    this.lastFault = at
    this.agreedSince = null
    if (f.kind !== 'crash') return
    for (const n of f.nodes ?? []) this.dead.add(n)
    if (this.whole) this.brokenAt ??= at
  }

  /** When the run is ready to be judged, or null while it is not. */
  private readyAt(): number | null {
    if (this.appliedAt === null || this.agreedSince === null) return null
    const b = this.bounds
    const stable = Math.max(this.agreedSince, this.lastFault, this.appliedAt) + (2 * b.periodHb + b.startHb) * this.hbMs
    return Math.max(stable, this.ledSince + (b.settleHb + b.periodHb + b.startHb) * this.hbMs)
  }

  /** Judges the live nodes at mark `at` (ms); `agreed` is the flock observer's verdict. */
  observe(at: number, all: readonly PlacementNodeView[], agreed: boolean): void {
    if (agreed) this.agreedSince ??= at
    else this.agreedSince = null
    const views = all.filter((v) => !this.dead.has(v.node))
    const leaders = views.flatMap((v) => (v.leadingTerm > 0 ? [`${v.node}@${v.leadingTerm}`] : [])).join(' ')
    if (leaders !== this.leaders) {
      this.leaders = leaders
      this.ledSince = at
    }
    const wanted = this.wanted
    if (wanted === null) return
    const names = new Set(Object.keys(wanted))
    const up = new Map<string, number>()
    const live = new Map<string, number>()
    for (const v of views) {
      const here = new Map<string, string[]>()
      for (const s of v.services) {
        const i = instanceOf(s.name, names)
        if (i === null) continue
        if (s.up) up.set(i.service, (up.get(i.service) ?? 0) + 1)
        if (!isLive(s.state) || s.state === 'stopping') continue
        live.set(i.service, (live.get(i.service) ?? 0) + 1)
        here.set(i.service, [...(here.get(i.service) ?? []), s.name])
        const key = `${i.service} ${v.node}`
        if (!this.hosted.has(key) && this.firstWhole.has(i.service)) this.moved++
        this.hosted.add(key)
      }
      for (const [svc, list] of here) {
        if (list.length > 1) this.report('placement-twice', `stack:${v.node}:${svc}`, `HB ${this.hb(at)}: ${v.node} runs ${list.length} instances of ${svc} (${list.sort().join(', ')}); the program never stacks it`)
      }
    }
    const short: string[] = []
    for (const [svc, n] of Object.entries(wanted)) {
      const have = up.get(svc) ?? 0
      if (have >= n) this.firstWhole.has(svc) || this.firstWhole.set(svc, at)
      else short.push(`${svc} ${have} of ${n}`)
    }
    this.whole = short.length === 0
    if (this.whole && this.brokenAt !== null) {
      this.wholeMax = Math.max(this.wholeMax, (at - this.brokenAt) / this.hbMs)
      this.brokenAt = null
    }
    const ready = this.readyAt()
    if (ready === null || at < ready) return
    if (short.length > 0) this.report('placement-short', `short:${ready}`, `HB ${this.hb(at)}: placed services short of instances up on live nodes: ${short.join(', ')} (the flock settled by HB ${this.hb(ready)})`)
    for (const [svc, n] of Object.entries(wanted)) {
      const k = live.get(svc) ?? 0
      if (k > n) this.report('placement-twice', `excess:${svc}:${ready}`, `HB ${this.hb(at)}: ${k} live instances of ${svc} on live nodes, ${n} wanted (the flock settled by HB ${this.hb(ready)})`)
    }
  }

  kinds(): Partial<Record<PlacementViolationKind, number>> {
    const out: Partial<Record<PlacementViolationKind, number>> = {}
    for (const v of this.found) out[v.kind] = (out[v.kind] ?? 0) + 1
    return out
  }

  summary(): PlacementSummary {
    const w = this.wanted ?? {}
    return {
      services: Object.keys(w).length,
      wanted: Object.values(w).reduce((a, b) => a + b, 0),
      applied_hb: this.appliedAt === null ? null : this.hb(this.appliedAt),
      moved: this.moved,
      whole: this.whole,
      whole_hb_max: round(this.wholeMax),
      violations: this.found.map((v) => v.message),
    }
  }
}
