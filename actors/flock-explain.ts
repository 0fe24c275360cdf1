/**
 * `crux replay TRACE --explain NODE`: why NODE is, or is not, leader, and why it is in the flock it is
 * in, answered from the journal alone. Replay re-runs NODE's flock machine step by step (the same
 * cells as `crux replay`); every step that changed where NODE stands (its role, flock or leader) is
 * listed with the rule that fired and the input that caused it: which packet from whom, or which
 * timer. NODE is a journal node name (sim traces: n0, n1, …) or a machine id (fulcrum node ids).
 */
import type { HostEvent } from '../machines/effects.js'
import { roleOf } from '../machines/flock.machine.js'
import type { FlockContext } from '../machines/flock/types.js'
import { productMachines } from '../machines/index.js'
import { InvalidArgumentError } from '../runtime/errors.js'
import { replayJournal, type ReplayReport } from '../runtime/replayer.js'

/** Where a node stands after a step. */
export interface Standing {
  role: string
  flock: string
  leader: string
  /** Members its leader has (as far as it knows; a member counts its list). */
  members: number
}

export interface Transition {
  seq: number
  /** The node's clock, ms. */
  t: number
  from: Standing | null
  to: Standing
  /** The machine's name for the rule that fired (e.g. join-bigger-flock, leader-expired). */
  rule: string
  /** The input, in words. */
  cause: string
}

export interface Explanation {
  node: string
  /** The machine's own id for the node. */
  id: string
  final: Standing & { seq: number; t: number }
  /** One sentence: why it is, or is not, leader. */
  answer: string
  transitions: Transition[]
  diverged: ReplayReport['diverged']
}

/** An input in words. */
export function describeInput(ev: HostEvent | null): string {
  if (ev === null) return 'start'
  const from = typeof ev.from === 'string' ? ` (${ev.from})` : ''
  switch (ev.type) {
    case 'info': {
      const i = ev.info as { kind: string; me: { id: string; addr: string }; flock: string; leader: { id: string }; vote: number; lvote: number }
      if (i.kind === 'admin') return `admin command ${i.lvote} from ${i.me.id} ${i.me.addr}`
      return `${i.kind} packet from ${i.me.id} ${i.me.addr} of flock ${i.flock} (its leader ${i.leader.id}, vote ${i.vote})`
    }
    case 'heartbeat.batch': {
      const beats = (ev.beats as HostEvent[]).map((b) => (b.info as { me: { id: string }; kind: string } | undefined)).filter((x) => x !== undefined)
      return `${beats.length} heartbeat packet(s) from ${beats.map((b) => b!.me.id).join(', ')}`
    }
    case 'timer.fired':
      return `the ${String(ev.name)} timer`
    case 'list.pull':
      return `a member-list pull${from}`
    case 'list.chunk':
      return `a member-list chunk${from}`
    case 'confab.query':
      return `a Confab ${String((ev.query as { ask: string }).ask)} query${from}`
    case 'admin.reboot':
      return 'an admin reboot'
    case 'leave':
      return 'a graceful leave (SIGTERM/SIGINT)'
    default:
      return ev.type
  }
}

/** Where the node of flock context `ctx` stands (the visualiser's timeline records the same). */
export function standing(ctx: FlockContext & { at?: string }): Standing {
  return { role: ctx.at === 'left' ? 'left' : roleOf(ctx), flock: ctx.flock, leader: ctx.leader.id, members: ctx.leader.id === ctx.me.id ? ctx.memCount + 1 : ctx.list.size }
}

const same = (a: Standing, b: Standing) => a.role === b.role && a.flock === b.flock && a.leader === b.leader

/** Explains `node` from a journal's lines. */
export function explain(lines: Iterable<string>, node: string): Explanation {
  const transitions: Transition[] = []
  let actor: string | undefined
  let id = ''
  let last: { s: Standing; seq: number; t: number } | null = null
  const report = replayJournal(lines, {
    machines: productMachines,
    onStep(step) {
      if (!step.actor.endsWith('/flock')) return
      const ctx = step.cell.context as FlockContext & { at?: string; lastRule?: string }
      if (actor === undefined) {
        if (step.actor !== `${node}/flock` && ctx.me.id !== node) return
        actor = step.actor
        id = ctx.me.id
      }
      if (step.actor !== actor) return
      const s = standing(ctx)
      if (last === null || !same(last.s, s)) transitions.push({ seq: step.seq, t: step.t, from: last?.s ?? null, to: s, rule: ctx.lastRule ?? '', cause: describeInput(step.input as HostEvent | null) })
      last = { s, seq: step.seq, t: step.t }
    },
  })
  if (actor === undefined || last === null) throw new InvalidArgumentError(`no node ${JSON.stringify(node)} in this journal (give a journal node name like n3, or a node id)`)
  const final = { ...(last as { s: Standing }).s, seq: (last as { seq: number }).seq, t: (last as { t: number }).t }
  const since =
    final.role === 'left'
      ? transitions.at(-1)!
      : [...transitions].reverse().find((x) => x.to.leader === final.leader && x.to.flock === final.flock && (x.from === null || x.from.leader !== final.leader || x.from.flock !== final.flock)) ?? transitions.at(-1)!
  const why = `seq ${since.seq}, rule ${since.rule}, caused by ${since.cause}`
  const answer =
    final.role === 'left'
      ? `${node} is not leader: it left the flock ${final.flock} at ${why}`
      : final.leader === id
        ? `${node} is leader of flock ${final.flock} (${final.members} node(s), ${final.role}) since ${why}`
        : `${node} is not leader: it follows ${final.leader} in flock ${final.flock} (${final.role}) since ${why}`
  return { node, id, final, answer, transitions, diverged: report.diverged }
}
