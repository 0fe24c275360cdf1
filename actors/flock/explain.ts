/**
 * `crux replay TRACE --explain NODE`: why NODE is, or is not, leader, and why it is in the flock it is
 * in, answered from the journal alone. Replay re-runs NODE's flock machine step by step (the same
 * cells as `crux replay`); every step that changed where NODE stands (its role, flock or leader) is
 * listed with the rule that fired and the input that caused it: which packet from whom, or which
 * timer. NODE is a journal node name (sim traces: n0, n1, …) or a machine id (fulcrum node ids).
 */
import type { HostEvent } from '../../machines/effects.js'
import { roleOf } from '../../machines/flock.machine.js'
import type { FlockContext } from '../../machines/flock/types.js'
import { productMachines } from '../../machines/index.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { replayJournal, type ReplayReport } from '../../runtime/replayer.js'

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

/** A suspicion this node raised, refuted or confirmed (docs/PROTOCOL.md, "Suspicion before removal"). */
export interface SuspicionEvent {
  seq: number
  t: number
  /** suspect-member, suspicion-refuted, suspicion-confirmed, suspect-leader, leader-refuted, leader-expired. */
  rule: string
  /** In words: who was suspected, by whom it was checked or refuted. */
  what: string
}

/** The rules that raise, clear or confirm a suspicion, and the log line each writes. */
const SUSPICION_RULES = new Set(['suspect-member', 'suspicion-refuted', 'suspicion-confirmed', 'suspect-leader', 'leader-refuted', 'leader-expired'])

/** The suspicion a step's log effects describe, in words. */
function suspicionOf(out: unknown[]): string {
  const words: string[] = []
  for (const e of out as Array<{ type?: string; msg?: string; fields?: Record<string, unknown> }>) {
    if (e.type !== 'log' || e.fields === undefined) continue
    const f = e.fields
    const list = (x: unknown) => (Array.isArray(x) ? x.join(', ') : String(x))
    if (e.msg === 'members suspected') words.push(`suspected ${list(f.members)}, checked through ${list(f.helpers) || 'nobody'}`)
    else if (e.msg === 'leader suspected') words.push(`suspected its leader ${String(f.leader)}, checked through ${list(f.helpers) || 'nobody'}`)
    else if (e.msg === 'suspicion refuted') words.push(`${String(f.member)} refuted by ${String(f.by)}`)
    else if (e.msg === 'leader suspicion refuted') words.push(`leader ${String(f.leader)} refuted by ${String(f.by)}`)
    else if (e.msg === 'suspicion confirmed: members removed') words.push(`removed ${list(f.members)}: nobody heard them`)
  }
  return words.join('; ')
}

export interface Explanation {
  node: string
  /** The machine's own id for the node. */
  id: string
  final: Standing & { seq: number; t: number }
  /** One sentence: why it is, or is not, leader. */
  answer: string
  transitions: Transition[]
  /** Every suspicion raised, refuted or confirmed, in order. */
  suspicions: SuspicionEvent[]
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
  const suspicions: SuspicionEvent[] = []
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
      const rule = ctx.lastRule ?? ''
      if (SUSPICION_RULES.has(rule)) {
        const what = suspicionOf(step.res.out) || (rule === 'leader-expired' ? `gave up on its leader: ${describeInput(step.input as HostEvent | null)}` : describeInput(step.input as HostEvent | null))
        suspicions.push({ seq: step.seq, t: step.t, rule, what })
      }
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
  return { node, id, final, answer, transitions, suspicions, diverged: report.diverged }
}
