/**
 * The picket checker of `crux sim --run R`. It hears what the simulated processes did (spawned, beat,
 * were asked to quit, were killed, exited: actors/sim/picket-edge.ts), when each node's picket
 * registered a run, and at every mark reads each live node's picket services and what its reeve
 * serves. It judges, knowing nothing of the plan:
 * - picket-restart-late: a run that ended unasked (crashed, or killed as hung) is followed by a
 *   registered run of the same service within the machine's backoff (machines/picket/lifecycle.ts
 *   `backoffMs`, from the failures the machine counts) plus `restartHb`;
 * - picket-hung-late: a process silent (no beat) for its ttl plus `hungHb` is killed by then (the issue's
 *   "a hung one is killed and restarted within its TTL plus 1 HB");
 * - picket-twice: on a live node no service has two processes alive at once (the simulator upgrades
 *   nothing, so there is no walking dead);
 * - picket-failed: a service whose bundle failed is `failed` at every later mark and never spawned again;
 * - picket-start-late: a service asked to start is registered within `startHb` (or its bundle failed);
 * - picket-uncatalogued: a running service, registered `catalogHb` after the flock last settled (no
 *   fault since, the flock agreeing) and beating, is up at its run's address in its node's catalog;
 * - picket-zombie: no process of a crashed node beats or is spawned after the crash;
 * - picket-refused: the node's own start requests are answered OK;
 * - picket-muster: a node's muster (what its picket runs, machines/picket/muster.ts), unchanged for
 *   `catalogHb` after the flock last settled, is in every live node's catalog as it is.
 * Times are ms on the simulator's clock; bounds and reported lags are in heartbeats.
 */
import { backoffMs } from '../../machines/picket/lifecycle.js'
import type { PicketConfig, ServiceState } from '../../machines/picket/types.js'
import type { Fault } from './check-faults.js'

export const PICKET_VIOLATION_KINDS = ['picket-restart-late', 'picket-hung-late', 'picket-twice', 'picket-failed', 'picket-start-late', 'picket-uncatalogued', 'picket-zombie', 'picket-refused', 'picket-muster'] as const
export type PicketViolationKind = (typeof PICKET_VIOLATION_KINDS)[number]

export interface PicketBounds {
  /** A crashed service is registered again within its backoff plus this. */
  restartHb: number
  /** A process silent for its ttl plus this is killed by then. */
  hungHb: number
  /** A service is registered within this of its start request. */
  startHb: number
  /** A registered service is in its node's catalog this long after it registered and the flock settled. */
  catalogHb: number
}

export const DEFAULT_PICKET_BOUNDS: Readonly<PicketBounds> = Object.freeze({ restartHb: 1, hungHb: 1, startHb: 3, catalogHb: 5 })

/** What the simulated processes and the picket machines did, as it happened. */
export interface PicketHistory {
  requested(node: string, name: string, at: number): void
  answered(node: string, name: string, code: string, message: string): void
  bundleFailed(node: string, name: string, at: number): void
  spawned(node: string, name: string, run: number, at: number, ttlMs: number): void
  beat(node: string, name: string, run: number, at: number): void
  quit(node: string, name: string, run: number, at: number): void
  killed(node: string, name: string, run: number, at: number): void
  /** A process ended, however (after a `quit` it ended asked: a kill after a quit too). */
  exited(node: string, name: string, run: number, at: number): void
  /** Node `node`'s picket has run `run` of `name` registered (`failures`: the machine's count then). */
  registered(node: string, name: string, run: number, at: number, failures: number): void
}

/** One service of a live node at a mark, as its picket machine has it. */
export interface PicketServiceView {
  name: string
  state: ServiceState
  /** The current run, its address and whether it is registered. */
  run: number | null
  address: string | null
  registered: boolean
  /** The NodeID it registers under (null before its manifest is known). */
  nodeId: string | null
  failures: number
  restarts: number
}

/** One live node at a mark: its picket's services and what its reeve serves. */
export interface PicketNodeView {
  node: string
  services: readonly PicketServiceView[]
  /** Its muster: its NodeID and the tags its picket would register now (null: it has none). */
  muster: { nodeId: string; tags: readonly string[] } | null
  /** The endpoint the node's reeve serves under `nodeId`, if any. */
  served(nodeId: string): { state: string; address: string; tags: readonly string[] } | undefined
}

/** The summary's `picket` object. */
export interface PicketSummary {
  /** Services asked to start. */
  services: number
  /** Restarts the machines counted (after crashes and kills). */
  restarts: number
  /** Processes killed after a silence of at least their ttl. */
  killed_hung: number
  /** Services whose bundle failed. */
  failed: number
  /** The longest from a process ending unasked to its service registered again, HB. */
  restart_hb_max: number
  /** The longest from a killed process's last beat to its kill, HB. */
  hung_kill_hb_max: number
  /** The longest from a process killed as hung's last beat to its service registered again, HB (its kill, then its backoff). */
  hung_restart_hb_max: number
  /** The longest from a start request to the service registered, HB. */
  start_hb_max: number
  violations: string[]
}

type RunRec = { run: number; spawnedAt: number; lastBeat: number; ttlMs: number; alive: boolean; quit: boolean; killedAt: number | null; hung: boolean; registeredAt: number | null }
/** A run that ended unasked: when, and, if it was killed as hung, its last beat. */
type Down = { at: number; run: number; failures: number; hungSince: number | null }
type SvcRec = { node: string; name: string; requestedAt: number | null; startedAt: number | null; failedAt: number | null; runs: Map<number, RunRec>; down: Down | null; restarts: number }

/** The summary as the text output's `picket:` line (`crux sim`, `crux check`). */
export function picketLine(k: PicketSummary): string {
  return `picket: ${k.services} services, ${k.restarts} restart(s) each within ${k.restart_hb_max} HB, ${k.killed_hung} hung killed within ${k.hung_kill_hb_max} HB of their last beat, ${k.failed} failed bundle(s); ${k.violations.length} violation(s)`
}

const round = (x: number): number => Math.round(x * 100) / 100

export class PicketChecker implements PicketHistory {
  readonly found: Array<{ kind: PicketViolationKind; message: string }> = []
  readonly bounds: PicketBounds
  private readonly svcs = new Map<string, SvcRec>()
  private readonly dead = new Set<string>()
  private readonly reported = new Set<string>()
  private lastFault = 0
  private agreedSince: number | null = null
  /** Each node's muster as last seen, and since when it has been so. */
  private readonly musters = new Map<string, { nodeId: string; tags: string; since: number }>()
  private killedHung = 0
  private restartMax = 0
  private hungKillMax = 0
  private startMax = 0
  private hungRestartMax = 0
  /** At the last mark: every service asked for on a live node is registered and running, or failed. */
  complete = false

  constructor(
    private readonly hbMs: number,
    private readonly config: Pick<PicketConfig, 'backoffMinMs' | 'backoffMaxMs'>,
    bounds: Partial<PicketBounds> = {},
  ) {
    this.bounds = { ...DEFAULT_PICKET_BOUNDS, ...bounds }
  }

  private svc(node: string, name: string): SvcRec {
    const key = `${node} ${name}`
    let s = this.svcs.get(key)
    if (s === undefined) this.svcs.set(key, (s = { node, name, requestedAt: null, startedAt: null, failedAt: null, runs: new Map(), down: null, restarts: 0 }))
    return s
  }

  private report(kind: PicketViolationKind, key: string, message: string): void {
    if (this.reported.has(key) || this.found.length >= 100) return
    this.reported.add(key)
    this.found.push({ kind, message })
  }

  private hb(at: number): number {
    return round(at / this.hbMs)
  }

  /** The run `run` of a service, made up if its spawn was not heard (so a late report still counts). */
  private runOf(s: SvcRec, run: number, at: number): RunRec {
    let r = s.runs.get(run)
    if (r === undefined) s.runs.set(run, (r = { run, spawnedAt: at, lastBeat: at, ttlMs: Infinity, alive: false, quit: false, killedAt: null, hung: false, registeredAt: null }))
    return r
  }

  private zombie(node: string, name: string, what: string, at: number): boolean {
    if (!this.dead.has(node)) return false
    this.report('picket-zombie', `zombie:${node}:${name}`, `HB ${this.hb(at)}: ${node} crashed, yet a process of ${name} there ${what}`)
    return true
  }

  fault(at: number, f: Fault): void {
    this.lastFault = at
    this.agreedSince = null
    if (f.kind === 'crash') for (const n of f.nodes ?? []) this.dead.add(n)
  }

  requested(node: string, name: string, at: number): void {
    this.svc(node, name).requestedAt ??= at
  }

  answered(node: string, name: string, code: string, message: string): void {
    if (code !== 'OK') this.report('picket-refused', `refused:${node}:${name}`, `${node} refused its own start of ${name}: ${code} ${message}`.slice(0, 300))
  }

  bundleFailed(node: string, name: string, at: number): void {
    this.svc(node, name).failedAt ??= at
  }

  spawned(node: string, name: string, run: number, at: number, ttlMs: number): void {
    if (this.zombie(node, name, `was spawned (run ${run})`, at)) return
    const s = this.svc(node, name)
    if (s.failedAt !== null) this.report('picket-failed', `failed-spawn:${node}:${name}`, `HB ${this.hb(at)}: ${name} on ${node} was spawned again (run ${run}) after its bundle failed at HB ${this.hb(s.failedAt)}`)
    const other = [...s.runs.values()].find((r) => r.alive && r.run !== run)
    if (other !== undefined) this.report('picket-twice', `twice:${node}:${name}:${run}`, `HB ${this.hb(at)}: ${name} on ${node} runs twice at once: run ${run} spawned while run ${other.run} is alive`)
    const r = this.runOf(s, run, at)
    Object.assign(r, { spawnedAt: at, lastBeat: at, ttlMs, alive: true })
  }

  beat(node: string, name: string, run: number, at: number): void {
    if (this.zombie(node, name, `beat (run ${run})`, at)) return
    this.runOf(this.svc(node, name), run, at).lastBeat = at
  }

  quit(node: string, name: string, run: number, at: number): void {
    this.runOf(this.svc(node, name), run, at).quit = true
  }

  killed(node: string, name: string, run: number, at: number): void {
    const r = this.runOf(this.svc(node, name), run, at)
    if (r.killedAt !== null || !r.alive) return
    r.killedAt = at
    const silent = at - r.lastBeat
    if (silent < r.ttlMs) return
    r.hung = true
    this.killedHung++
    this.hungKillMax = Math.max(this.hungKillMax, silent / this.hbMs)
    if (silent > r.ttlMs + this.bounds.hungHb * this.hbMs) this.lateKill(node, name, r, at, 'was killed')
  }

  private lateKill(node: string, name: string, r: RunRec, at: number, what: string): void {
    this.report('picket-hung-late', `hung:${node}:${name}:${r.run}`, `HB ${this.hb(at)}: run ${r.run} of ${name} on ${node} ${what} ${round((at - r.lastBeat) / this.hbMs)} HB after its last beat (HB ${this.hb(r.lastBeat)}): over its ttl (${round(r.ttlMs / this.hbMs)} HB) + ${this.bounds.hungHb} HB`)
  }

  exited(node: string, name: string, run: number, at: number): void {
    const s = this.svc(node, name)
    const r = this.runOf(s, run, at)
    if (!r.alive) return
    r.alive = false
    if (r.quit || this.dead.has(node)) return
    // Ended unasked (or killed as hung or late): the service owes a registered run after its backoff.
    if (s.down === null || s.down.run < run) s.down = { at, run, failures: 0, hungSince: r.hung ? r.lastBeat : null }
  }

  registered(node: string, name: string, run: number, at: number, failures: number): void {
    const s = this.svc(node, name)
    this.runOf(s, run, at).registeredAt ??= at
    if (s.startedAt === null) {
      s.startedAt = at
      if (s.requestedAt !== null) {
        this.startMax = Math.max(this.startMax, (at - s.requestedAt) / this.hbMs)
        if (at - s.requestedAt > this.bounds.startHb * this.hbMs) this.lateStart(s, at)
      }
    }
    const d = s.down
    if (d === null || run <= d.run) return
    s.down = null
    const lag = at - d.at
    this.restartMax = Math.max(this.restartMax, lag / this.hbMs)
    if (d.hungSince !== null) this.hungRestartMax = Math.max(this.hungRestartMax, (at - d.hungSince) / this.hbMs)
    const bound = this.restartBound(Math.max(failures, d.failures))
    if (lag > bound) this.lateRestart(s, d, at, bound)
  }

  private restartBound(failures: number): number {
    return backoffMs({ ...this.config, backoffResetMs: 0, hbMs: this.hbMs }, Math.max(1, failures)) + this.bounds.restartHb * this.hbMs
  }

  private lateRestart(s: SvcRec, d: { at: number; run: number }, at: number, bound: number): void {
    this.report('picket-restart-late', `restart:${s.node}:${s.name}:${d.run}`, `HB ${this.hb(at)}: ${s.name} on ${s.node} ended unasked (run ${d.run}) at HB ${this.hb(d.at)} and was not registered again within ${round(bound / this.hbMs)} HB (its backoff + ${this.bounds.restartHb} HB)`)
  }

  private lateStart(s: SvcRec, at: number): void {
    const when = s.startedAt === null ? 'is not registered' : `was registered only at HB ${this.hb(s.startedAt)}, not`
    this.report('picket-start-late', `start:${s.node}:${s.name}`, `HB ${this.hb(at)}: ${s.name} on ${s.node}, asked to start at HB ${this.hb(s.requestedAt ?? 0)}, ${when} within ${this.bounds.startHb} HB`)
  }

  /** Judges the live nodes at mark `at` (ms); `agreed` is the flock observer's verdict. */
  observe(at: number, all: readonly PicketNodeView[], agreed: boolean): void {
    if (agreed) this.agreedSince ??= at
    else this.agreedSince = null
    const hb = this.hb(at)
    const views = new Map(all.filter((v) => !this.dead.has(v.node)).map((v) => [v.node, v]))
    let open = 0
    for (const s of this.svcs.values()) {
      const v = views.get(s.node)
      if (v === undefined) continue
      const sv = v.services.find((x) => x.name === s.name)
      if (sv !== undefined) s.restarts = sv.restarts
      for (const r of s.runs.values()) if (r.alive && r.killedAt === null && at - r.lastBeat > r.ttlMs + this.bounds.hungHb * this.hbMs) this.lateKill(s.node, s.name, r, at, 'is still alive')
      if (s.failedAt !== null) {
        if (sv?.state !== 'failed') this.report('picket-failed', `failed-state:${s.node}:${s.name}`, `HB ${hb}: ${s.name} on ${s.node} is ${sv?.state ?? 'gone'}, its bundle failed at HB ${this.hb(s.failedAt)}`)
        continue
      }
      if (s.down !== null) {
        open++
        s.down.failures = Math.max(s.down.failures, sv?.failures ?? 0)
        const bound = this.restartBound(s.down.failures)
        if (at - s.down.at > bound) this.lateRestart(s, s.down, at, bound)
      }
      if (s.requestedAt !== null && s.startedAt === null) {
        open++
        if (at - s.requestedAt > this.bounds.startHb * this.hbMs) this.lateStart(s, at)
      }
      if (sv === undefined || sv.state !== 'running' || !sv.registered) {
        if (s.requestedAt !== null) open++
        continue
      }
      this.judgeCatalog(at, hb, s, sv, v)
    }
    this.complete = open === 0
    this.judgeMusters(at, [...views.values()])
  }

  /** Every live node's settled muster is in every live node's catalog, tag for tag. */
  private judgeMusters(at: number, live: readonly PicketNodeView[]): void {
    for (const v of live) {
      if (v.muster === null) continue
      const tags = v.muster.tags.join('\n')
      const was = this.musters.get(v.node)
      if (was === undefined || was.tags !== tags) this.musters.set(v.node, { nodeId: v.muster.nodeId, tags, since: at })
    }
    if (this.agreedSince === null) return
    for (const v of live) {
      const m = this.musters.get(v.node)
      if (m === undefined || v.muster === null || at - Math.max(m.since, this.agreedSince, this.lastFault) < this.bounds.catalogHb * this.hbMs) continue
      for (const w of live) {
        const e = w.served(m.nodeId)
        if (e !== undefined && e.tags.join('\n') === m.tags) continue
        const seen = e === undefined ? 'none' : `${e.tags.length} tag(s) that differ`
        this.report('picket-muster', `muster:${w.node}:${v.node}:${m.since}`, `HB ${this.hb(at)}: ${v.node}'s muster (unchanged since HB ${this.hb(m.since)}, ${v.muster.tags.length} tag(s)) is not in ${w.node}'s catalog as it is: it has ${seen}`)
      }
    }
  }

  /** A running, registered, beating service is up at its address in its node's catalog, once the flock has settled long enough. */
  private judgeCatalog(at: number, hb: number, s: SvcRec, sv: PicketServiceView, v: PicketNodeView): void {
    const r = sv.run === null ? undefined : s.runs.get(sv.run)
    if (r === undefined || r.registeredAt === null || this.agreedSince === null || sv.nodeId === null) return
    if (at - Math.max(r.registeredAt, this.agreedSince, this.lastFault) < this.bounds.catalogHb * this.hbMs) return
    // A run whose beats lapse is marked down by the heartbeater as the machine kills it: not judged then.
    if (at - r.lastBeat > 2 * this.hbMs) return
    const e = v.served(sv.nodeId)
    if (e?.state === 'up' && e.address === sv.address) return
    const seen = e === undefined ? 'not served' : `${e.state} at ${e.address}`
    this.report('picket-uncatalogued', `catalog:${s.node}:${s.name}:${r.run}`, `HB ${hb}: ${s.name} on ${s.node} runs at ${sv.address} (run ${r.run}, registered at HB ${this.hb(r.registeredAt)}), but its node's catalog has ${sv.nodeId} ${seen}`)
  }

  kinds(): Partial<Record<PicketViolationKind, number>> {
    const out: Partial<Record<PicketViolationKind, number>> = {}
    for (const v of this.found) out[v.kind] = (out[v.kind] ?? 0) + 1
    return out
  }

  summary(): PicketSummary {
    const all = [...this.svcs.values()]
    return {
      services: all.filter((s) => s.requestedAt !== null).length,
      restarts: all.reduce((n, s) => n + s.restarts, 0),
      killed_hung: this.killedHung,
      failed: all.filter((s) => s.failedAt !== null).length,
      restart_hb_max: round(this.restartMax),
      hung_kill_hb_max: round(this.hungKillMax),
      hung_restart_hb_max: round(this.hungRestartMax),
      start_hb_max: round(this.startMax),
      violations: this.found.map((v) => v.message),
    }
  }
}
