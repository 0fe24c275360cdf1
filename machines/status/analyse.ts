/**
 * The status analyser's rules (original-crux.md §2.4, judged per flock): a flock is stable when the
 * same leader has reported the same node count for `stableMs` and no node is rebooting. Times are
 * the analyser's own clock (when a record arrived), not the nodes': a beacon judges many nodes whose
 * clocks need not agree. Mutates the context in place, like the flock machine's rules.
 */
import type { FlockStatus, MonRecord, StatusView } from './types.js'

export interface StatusContext {
  stableMs: number
  flocks: Record<string, FlockStatus & { heard: number }>
  rebooting: Record<string, number>
  /** The last view published, as JSON, so an unchanged judgement is not published again. */
  last: string
  /** Records read, for the watcher's summary. */
  records: number
  /** The time of the latest event (the start-up step has no event time of its own). */
  now: number
}

export function createStatusContext(stableMs: number, now: number): StatusContext {
  return { stableMs, flocks: Object.create(null), rebooting: Object.create(null), last: '', records: 0, now }
}

/** A flock that no leader has reported on for 1.5 × stableMs is gone (the original's rule). */
const lapseMs = (ctx: StatusContext) => 1.5 * ctx.stableMs
/** A node that said Reboot and was never heard leading again is not rebooting forever. */
const rebootLapseMs = (ctx: StatusContext) => 2 * ctx.stableMs

function report(ctx: StatusContext, m: MonRecord, now: number): void {
  const nodes = m.n + 1
  const f = ctx.flocks[m.flock]
  if (f !== undefined && f.leader === m.leader && f.nodes === nodes) f.heard = now
  else ctx.flocks[m.flock] = { flock: m.flock, leader: m.leader, nodes, since: now, heard: now, stable: false }
}

/** Reads one record. */
export function read(ctx: StatusContext, m: MonRecord, now: number): void {
  ctx.records++
  switch (m.op) {
    case 'LeaderStart':
      delete ctx.rebooting[m.node]
      report(ctx, m, now)
      break
    case 'LeaderHeart':
    case 'LeaderDelta':
      if (m.node === m.leader) report(ctx, m, now)
      break
    case 'Join':
      delete ctx.rebooting[m.node]
      // A leader that joined a bigger flock took its own flock with it.
      if (ctx.flocks[m.oflock]?.leader === m.node) delete ctx.flocks[m.oflock]
      break
    case 'Reboot':
      ctx.rebooting[m.node] = now
      break
    case 'Exit':
      delete ctx.rebooting[m.node]
      for (const name in ctx.flocks) if (ctx.flocks[name]!.leader === m.node) delete ctx.flocks[name]
      break
    default: // Probe, HeartBeat: nothing to judge
  }
}

/** The view at `now`: lapsed flocks and reboots forgotten, stability judged. */
export function judge(ctx: StatusContext, now: number): StatusView {
  for (const name in ctx.flocks) if (now - ctx.flocks[name]!.heard > lapseMs(ctx)) delete ctx.flocks[name]
  for (const node in ctx.rebooting) if (now - ctx.rebooting[node]! > rebootLapseMs(ctx)) delete ctx.rebooting[node]
  const rebooting = Object.keys(ctx.rebooting).sort()
  const flocks: FlockStatus[] = []
  for (const f of Object.values(ctx.flocks)) {
    f.stable = rebooting.length === 0 && now - f.since >= ctx.stableMs
    flocks.push({ flock: f.flock, leader: f.leader, nodes: f.nodes, since: f.since, stable: f.stable })
  }
  flocks.sort((a, b) => b.nodes - a.nodes || (a.flock < b.flock ? -1 : a.flock > b.flock ? 1 : 0))
  return { at: now, flocks, rebooting }
}

/** The view if it differs from the last one published (ignoring `at`), else null. */
export function changed(ctx: StatusContext, view: StatusView): StatusView | null {
  const key = JSON.stringify([view.flocks, view.rebooting])
  if (key === ctx.last) return null
  ctx.last = key
  return view
}
