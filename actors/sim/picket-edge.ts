/**
 * A simulated node's run edge (`port:picket-run`), beside the real one (actors/picket/run-edge.ts) as
 * pastiche's simulated edges are beside theirs: it takes the picket machine's `prepare`, `spawn`,
 * `quit`, `kill` and `forget` and answers into the machine's mailbox on the virtual clock, its delays
 * drawn from a generator of its own. A bundle is ready (with its planned manifest) or failed after a
 * short delay; a spawned process says `run.spawned`, then `run.listening` at an address of its own
 * (`<node>:<61000 + run>`), then beats (`run.alive`) every heartbeat while it lives. What the plan
 * (actors/sim/picket-plan.ts) says a service's process does happens to the run alive at that
 * heartbeat (or the next one spawned, two heartbeats after its start): it crashes (`run.exited`,
 * code 1) or hangs (stops beating, ignores `quit`, lives until killed). As the real edge, every
 * spawned run is answered by exactly one `run.exited`, and a kill before the process is up is
 * answered at once. A crashed node's processes die with it: nothing more is delivered or beaten.
 * Everything that happens is told to the history (the picket checker).
 */
import type { HostEvent } from '../../machines/effects.js'
import type { PicketEvent, PicketMessage, SpawnMsg } from '../../machines/picket/types.js'
import type { Clock, TimerHandle } from '../../runtime/clock.js'
import type { ActorHost } from '../../runtime/host.js'
import type { Rng } from '../../runtime/rng.js'
import type { PicketHistory } from './picket-check.js'
import type { PlannedService } from './picket-plan.js'

/** The port the simulated processes listen on is this plus the run number. */
export const SIM_RUN_PORT_BASE = 61000

export interface SimRunEdgeDeps {
  /** The node's clock (its timers) and the simulator's (the history's times). */
  clock: Clock
  now(): number
  rng: Rng
  hbMs: number
  /** This node's services, by bundle hash. */
  plan: ReadonlyMap<string, PlannedService>
  history: PicketHistory
}

type Proc = { run: number; name: string; svc: PlannedService | undefined; up: boolean; ended: boolean; hung: boolean; quit: boolean; killed: boolean; stopMs: number }

export class SimRunEdge {
  private host: ActorHost | null = null
  private actorId = ''
  private dead = false
  private readonly procs = new Map<number, Proc>()
  private readonly timers = new Set<TimerHandle>()
  /** Per service: how many of its planned events have happened. */
  private readonly consumed = new Map<string, number>()

  constructor(
    readonly addr: string,
    private readonly d: SimRunEdgeDeps,
  ) {}

  /** Binds the edge to the picket actor `actorId` of `host`. */
  bind(host: ActorHost, actorId: string): void {
    this.host = host
    this.actorId = actorId
  }

  /** Planned events not yet happened, over this node's services (none once it crashed). */
  pending(): number {
    if (this.dead) return 0
    let n = 0
    for (const s of this.d.plan.values()) n += s.events.length - (this.consumed.get(s.name) ?? 0)
    return n
  }

  /** The node crashed: its processes die with it, unheard; nothing more is delivered. */
  crash(): void {
    this.dead = true
    for (const t of this.timers) this.d.clock.cancel(t)
    this.timers.clear()
    this.procs.clear()
  }

  private after(ms: number, fn: () => void): void {
    const h = this.d.clock.schedule(Math.max(0, Math.round(ms)), () => {
      this.timers.delete(h)
      if (!this.dead) fn()
    })
    this.timers.add(h)
  }

  private deliver(ev: PicketEvent): void {
    if (!this.dead) this.host?.send(this.actorId, ev as HostEvent, 'control')
  }

  /** A message the machine sent to `port:picket-run`. */
  take(msg: PicketMessage): void {
    if (this.dead) return
    switch (msg.type) {
      case 'prepare':
        return this.prepare(msg.run, msg.hash)
      case 'spawn':
        return this.spawn(msg)
      case 'quit': {
        const p = this.procs.get(msg.run)
        if (p === undefined || p.quit) return
        p.quit = true
        this.d.history.quit(this.addr, p.name, p.run, this.d.now())
        // A hung process does not hear it; the others exit within half their stopMs.
        if (!p.hung) this.after(1 + this.d.rng.int(Math.max(1, p.stopMs / 2)), () => this.end(p, 0, null))
        return
      }
      case 'kill': {
        const p = this.procs.get(msg.run)
        if (p === undefined || p.killed) return
        p.killed = true
        if (!p.up) return this.end(p, null, 'SIGKILL')
        this.d.history.killed(this.addr, p.name, p.run, this.d.now())
        return this.after(1 + this.d.rng.int(10), () => this.end(p, null, 'SIGKILL'))
      }
      case 'forget':
        return
    }
  }

  private prepare(run: number, hash: string): void {
    const svc = this.d.plan.get(hash)
    const hb = this.d.hbMs
    this.after(hb / 10 + this.d.rng.int(Math.max(1, (hb * 2) / 5)), () => {
      if (svc === undefined || svc.failBundle) {
        if (svc !== undefined) this.d.history.bundleFailed(this.addr, svc.name, this.d.now())
        return this.deliver({ type: 'bundle.failed', run, hash, reason: `no node holds blob ${hash}` })
      }
      this.deliver({ type: 'bundle.ready', run, hash, manifest: svc.manifest })
    })
  }

  private spawn(m: SpawnMsg): void {
    if (this.procs.has(m.run)) return
    const p: Proc = { run: m.run, name: m.name, svc: this.d.plan.get(m.hash), up: false, ended: false, hung: false, quit: false, killed: false, stopMs: m.manifest.stopMs }
    this.procs.set(m.run, p)
    const hb = this.d.hbMs
    this.after(1 + this.d.rng.int(20), () => {
      if (p.ended) return
      p.up = true
      this.d.history.spawned(this.addr, p.name, p.run, this.d.now(), m.manifest.ttlMs)
      this.deliver({ type: 'run.spawned', run: p.run, pid: 10_000 + p.run })
      if (p.quit && !p.hung) this.after(1, () => this.end(p, 0, null))
      this.after(1 + this.d.rng.int(Math.max(1, hb / 4)), () => {
        if (p.ended) return
        this.deliver({ type: 'run.listening', run: p.run, address: `${this.addr}:${SIM_RUN_PORT_BASE + p.run}` })
        this.beat(p)
        this.arm(p)
      })
    })
  }

  /** Beats now and every heartbeat while the process lives and does not hang. */
  private beat(p: Proc): void {
    if (p.ended || p.hung) return
    this.d.history.beat(this.addr, p.name, p.run, this.d.now())
    this.deliver({ type: 'run.alive', run: p.run })
    this.after(this.d.hbMs, () => this.beat(p))
  }

  /** Schedules the service's next planned event for this run: at its heartbeat, and at least two after the run started listening. */
  private arm(p: Proc): void {
    const s = p.svc
    const i = s === undefined ? 0 : (this.consumed.get(s.name) ?? 0)
    const e = s?.events[i]
    if (s === undefined || e === undefined) return
    const now = this.d.now()
    const at = Math.max(e.atHb * this.d.hbMs, now + 2 * this.d.hbMs)
    this.after(at - now, () => {
      if (p.ended || p.hung) return
      this.consumed.set(s.name, i + 1)
      if (e.kind === 'crash') return this.end(p, 1, null)
      p.hung = true
    })
  }

  /** The process ended: its one `run.exited`. */
  private end(p: Proc, code: number | null, signal: string | null): void {
    if (p.ended) return
    p.ended = true
    this.procs.delete(p.run)
    if (p.up) this.d.history.exited(this.addr, p.name, p.run, this.d.now())
    this.deliver({ type: 'run.exited', run: p.run, code, signal })
  }
}
