/**
 * The picket checker over a trace (`crux check` of a `crux sim --run R` trace): the history the
 * simulated run edge told the checker live is read back from the picket machines' journalled steps —
 * a `picket.start` is a request (its answer among the step's sends), `bundle.failed`, `run.spawned`,
 * `run.alive` and `run.exited` are what the edge delivered at that instant, and a `quit` or `kill`
 * sent to the run port is the edge hearing it — and each step's context says which runs it left
 * registered. Journal times are each node's clock: the node's skew (its flock's spawn time, every node
 * being made at 0) is taken off, so the checker sees the simulator's clock as it did live.
 */
import type { Effect } from '../../machines/effects.js'
import { RUN_PORT } from '../../machines/picket.machine.js'
import type { PicketContext } from '../../machines/picket/types.js'
import type { ReplayedStep } from '../../runtime/replayer.js'
import { PicketChecker, type PicketBounds } from './picket-check.js'
import { PICKET_ANSWERS, simPicketConfig, tellRegistered } from './picket-views.js'

export class PicketTrace {
  readonly checker: PicketChecker
  /** Per picket actor: the service each run it has followed belongs to. */
  private readonly names = new Map<string, Map<number, string>>()
  private readonly told = new Map<string, Set<number>>()

  constructor(hbMs: number, bounds: Partial<PicketBounds> = {}) {
    this.checker = new PicketChecker(hbMs, simPicketConfig(hbMs), bounds)
  }

  /** One replayed step of node `addr`'s picket actor, `offset` its clock's skew. */
  step(addr: string, step: ReplayedStep, offset: number): void {
    const at = step.t - offset
    const ctx = step.cell.context as PicketContext
    let names = this.names.get(step.actor)
    if (names === undefined) this.names.set(step.actor, (names = new Map()))
    const h = this.checker
    const ev = step.input as { type: string; run?: number; id?: number; name?: string } | null
    const name = (run: unknown) => (typeof run === 'number' ? names.get(run) : undefined)
    // Only the simulator's own requests are asked-for services (a dean's starts are placement's, as live).
    const own = ev?.type === 'picket.start' && typeof ev.name === 'string' && (ev as { from?: unknown }).from === PICKET_ANSWERS
    if (own) h.requested(addr, ev.name!, at)
    const n = name(ev?.run)
    if (n !== undefined && ev !== null) {
      if (ev.type === 'bundle.failed') h.bundleFailed(addr, n, at)
      else if (ev.type === 'run.spawned') h.spawned(addr, n, ev.run!, at, ctx.services[n]?.manifest?.ttlMs ?? Infinity)
      else if (ev.type === 'run.alive') h.beat(addr, n, ev.run!, at)
      else if (ev.type === 'run.exited') h.exited(addr, n, ev.run!, at)
    }
    for (const e of step.res.out as Effect[]) {
      if (e.type !== 'send') continue
      const m = e.event as { type: string; run?: number; code?: string; message?: string; id?: number }
      if (e.to === PICKET_ANSWERS && ev?.type === 'picket.start' && typeof ev.name === 'string') h.answered(addr, ev.name, m.code ?? '', m.message ?? '')
      if (e.to !== RUN_PORT) continue
      const r = name(m.run)
      if (r === undefined) continue
      if (m.type === 'quit') h.quit(addr, r, m.run!, at)
      else if (m.type === 'kill') h.killed(addr, r, m.run!, at)
    }
    // The runs the step left followed, for the news of them to come.
    for (const s of Object.values(ctx.services ?? {})) for (const r of [s.current, s.next, s.old]) if (r !== null) names.set(r.run, s.name)
    let told = this.told.get(step.actor)
    if (told === undefined) this.told.set(step.actor, (told = new Set()))
    tellRegistered(h, addr, ctx, told, at)
  }
}
