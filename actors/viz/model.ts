/**
 * What the visualiser draws, from a journal: one replay pass over every node's flock machine keeps,
 * per node, each change of where it stands (role, flock, leader, member count) with the rule that
 * fired and the input that caused it, and each change of its strew machines (actors/viz/strew-model.ts).
 * The page finds any moment's picture by binary search over these, so scrubbing never re-runs a machine.
 */
import type { HostEvent } from '../../machines/effects.js'
import type { FlockContext } from '../../machines/flock/types.js'
import { productMachines } from '../../machines/index.js'
import { replayJournal } from '../../runtime/replayer.js'
import { describeInput, standing } from '../flock/explain.js'
import { isStrew, keepStrewStep, type StrewTimeline } from './strew-model.js'

/** One change of one node: [t, seq, role, flock, leader, members, rule, cause] (compact for the page). */
export type Change = [number, number, string, string, string, number, string, string]

export interface VizNode {
  /** The journal's node name (sim: n0, n1…; fulcrum: its id). */
  node: string
  /** The machine's own id (what `leader` fields name). */
  id: string
  changes: Change[]
  /** Its strew machines' changes; absent when the journal has none of them (old journals, plain sims). */
  strew?: StrewTimeline
}

export interface VizTimeline {
  /** From the header: seed, config, node (null for a simulator trace). */
  header: { seed: unknown; node: string | null; config: unknown }
  t0: number
  t1: number
  steps: number
  nodes: VizNode[]
  /** Replay stopped here because the journal disagreed with the machines (false: it did not). */
  diverged: false | { seq: number; actor: string }
  /** What caused the strew changes (their last field is an index here); absent without strew. */
  strewCauses?: string[]
  /** Simulator faults (partition, heal, crash…), for the timeline's ticks. */
  notes: Array<{ t: number; note: string }>
}

export function buildTimeline(lines: Iterable<string>): VizTimeline {
  const byNode = new Map<string, VizNode>()
  const nodeOf = (name: string): VizNode => {
    let n = byNode.get(name)
    if (n === undefined) byNode.set(name, (n = { node: name, id: name, changes: [] }))
    return n
  }
  // Strew actors are named by the node's id (`<id>/reeve`), which is its journal name in a fulcrum's
  // journal but not in the simulator's (n0/flock beside <id>/reeve): joined to the nodes after the pass.
  const strew = new Map<string, StrewTimeline>()
  const causes: string[] = []
  const causeIndex = new Map<string, number>()
  const cause = (what: string): number => {
    let i = causeIndex.get(what)
    if (i === undefined) causeIndex.set(what, (i = causes.push(what) - 1))
    return i
  }
  const notes: VizTimeline['notes'] = []
  let t0 = Infinity
  let t1 = -Infinity
  let steps = 0
  const report = replayJournal(lines, {
    machines: productMachines,
    onNote(note) {
      if (note.fault !== undefined) notes.push({ t: note.t, note: JSON.stringify(note.fault) })
    },
    onStep(step) {
      steps++
      if (step.t < t0) t0 = step.t
      if (step.t > t1) t1 = step.t
      const slash = step.actor.lastIndexOf('/')
      if (slash <= 0) return
      const name = step.actor.slice(slash + 1)
      if (name !== 'flock') {
        if (isStrew(name)) {
          const key = step.actor.slice(0, slash)
          let s = strew.get(key)
          if (s === undefined) strew.set(key, (s = {}))
          keepStrewStep(s, name, step, cause)
        }
        return
      }
      const ctx = step.cell.context as FlockContext & { at?: string; lastRule?: string }
      const n = nodeOf(step.actor.slice(0, slash))
      n.id = ctx.me.id
      const s = standing(ctx)
      const last = n.changes.at(-1)
      if (last !== undefined && last[2] === s.role && last[3] === s.flock && last[4] === s.leader && last[5] === s.members) return
      n.changes.push([step.t, step.seq, s.role, s.flock, s.leader, s.members, ctx.lastRule ?? '', describeInput(step.input as HostEvent | null)])
    },
  })
  const byId = new Map([...byNode.values()].map((n) => [n.id, n]))
  for (const [key, s] of strew) (byId.get(key) ?? byNode.get(key) ?? nodeOf(key)).strew = s
  const nodes = [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node, 'en', { numeric: true }))
  return {
    header: { seed: report.header.seed, node: report.header.node ?? null, config: report.header.config },
    t0: Number.isFinite(t0) ? t0 : 0,
    t1: Number.isFinite(t1) ? t1 : 0,
    steps,
    nodes,
    diverged: report.diverged === false ? false : { seq: report.diverged.seq, actor: report.diverged.actor },
    ...(strew.size === 0 ? {} : { strewCauses: causes }),
    notes,
  }
}
