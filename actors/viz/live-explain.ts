/**
 * Why a live node is, or is not, leader: the live page's counterpart of `crux replay --explain`
 * (actors/flock/explain.ts). A journal replay names every step and its cause; the live feed has less,
 * and the explanation says which: the node's own Confab answer, its leader's member list, and the
 * MonInfo records the beacon forwarded (each names the rule that caused it). Pure.
 */
import type { StatusView } from '../../machines/status/types.js'
import { standingOf, type LiveNode, type LiveRecord, type LiveStanding, type LiveState } from './live.js'

export interface LiveExplanation {
  node: string
  addr: string
  standing: LiveStanding
  /** One paragraph: whether it is leader, and why, under the flock's election rule. */
  answer: string
  /** What the answer rests on, and how to get the full story. */
  basis: string
  /** The records that changed where it stands, newest first. */
  history: Array<{ at: number; what: string }>
}

const clock = (t: number) => `${new Date(t).toISOString().slice(11, 19)} UTC`

/** A record in words. */
export function describeRecord(r: LiveRecord): string {
  const size = r.op === 'LeaderStart' || r.op === 'LeaderHeart' || r.op === 'LeaderDelta' ? ` · ${r.n + 1} node(s)` : ''
  const from = r.oflock === '' ? '' : ` · left flock ${r.oflock}`
  return `${r.op} · flock ${r.flock} · leader ${r.leader}${size}${from} (rule ${r.cause})`
}

/**
 * The records that put the node where it stands, if the feed carried them: the one that brought it
 * into its flock, and the first after it that names its present leader (a node that joins records
 * Join before its new leader's first check-in tells it who leads).
 */
function since(n: LiveNode, st: LiveStanding): { entry: LiveRecord; leader: LiveRecord | undefined } | undefined {
  const h = n.history
  let i = h.length - 1
  if (i < 0 || h[i]!.flock !== st.flock) return undefined
  while (i > 0 && h[i - 1]!.flock === st.flock && h[i]!.op !== 'Join' && h[i]!.op !== 'LeaderStart') i--
  return { entry: h[i]!, leader: h.slice(i).find((r) => r.leader === st.leader) }
}

/** Explains node `id` at `now`; null when no source has named it. */
export function explainLive(s: LiveState, status: StatusView | null, id: string, now: number): LiveExplanation | null {
  const n = s.nodes.get(id)
  const st = n === undefined ? null : standingOf(n)
  if (n === undefined || st === null) return null
  const f = status?.flocks.find((x) => x.flock === st.flock)
  const epoch = n.said !== null && n.said.epoch !== '' ? `, epoch ${n.said.epoch}` : ''
  const r = since(n, st)
  const settled = f === undefined ? '' : f.stable ? ` The status analyser judges the flock stable: the same leader has reported ${f.nodes} node(s) since ${clock(f.since)}.` : ` The status analyser sees the flock still settling (leader ${f.leader}, ${f.nodes} node(s) since ${clock(f.since)}).`
  let answer: string
  if (st.role === 'left') answer = `${id} is not leader: it left flock ${st.flock}${n.mon?.op === 'Exit' ? ` at ${clock(n.mon.at)} (rule ${n.mon.cause})` : ''}.`
  else if (st.role === 'rebooting') answer = `${id} is not leader: it is rebooting${n.mon?.op === 'Reboot' ? ` since ${clock(n.mon.at)} (rule ${n.mon.cause})` : ''}; it starts over in a flock of its own, then joins the others again.`
  else if (st.leader === id) {
    const followers = [...s.nodes.values()].filter((m) => m.id !== id && sameFlock(m, st))
    const named = followers.filter((m) => m.said !== null && m.said.leader === id && m.said.flock === st.flock).length
    const who = followers.length === 0 ? 'no other node is known to follow it' : `${named} of the ${followers.length} other node(s) known in it name it as their leader in their own answers`
    const how =
      r === undefined
        ? `it already led ${st.flock} when the visualiser began listening`
        : `${entered(r.entry, st)}${r.leader === undefined || r.leader === r.entry ? '' : `, and has led it since ${clock(r.leader.at)} (${r.leader.op}, rule ${r.leader.cause})`}`
    answer =
      `${id} is leader of flock ${st.flock} (${st.role}${epoch}): ${who}; ${how}.${settled}` +
      ' Under the flock\'s election rule (docs/PROTOCOL.md, receive rules) a flock keeps one leader while its check-ins reach the members; a node leaves it only for a bigger flock name or a better leader.'
  } else {
    const l = s.nodes.get(st.leader)
    const leaderAddr = l !== undefined && l.addr !== '' ? ` (${l.addr})` : ''
    const confirm =
      l?.said === null || l === undefined ? `; ${st.leader} has not answered yet` : l.said.leader === st.leader && l.said.flock === st.flock ? `; ${st.leader} itself answers that it leads ${st.flock} (${l.said.role})` : `; ${st.leader} itself now answers that it follows ${l.said.leader} in ${l.said.flock}, so ${id} will move too`
    const how =
      r === undefined
        ? `it was already in ${st.flock} when the visualiser began listening`
        : `${entered(r.entry, st)}${r.leader === undefined || r.leader === r.entry ? '' : `, and has named ${st.leader} its leader since ${clock(r.leader.at)} (${r.leader.op}, rule ${r.leader.cause})`}`
    answer =
      `${id} is not leader: it follows ${st.leader}${leaderAddr} in flock ${st.flock} (${st.role}${epoch})${confirm}; ${how}.${settled}` +
      ' Under the flock\'s election rule a member follows its leader while the leader checks in; it would lead only after giving that leader up (suspected after 2 heartbeats without a check-in, given up past the suspicion window) or after starting over.'
  }
  return { node: id, addr: n.addr, standing: st, answer, basis: basis(n, st), history: n.history.map((x) => ({ at: x.at, what: describeRecord(x) })).reverse() }
}

/** How the record `r` brought the node into its flock, in words. */
function entered(r: LiveRecord, st: LiveStanding): string {
  if (r.op === 'Join') return `it joined ${st.flock} at ${clock(r.at)} (rule ${r.cause}${r.oflock === '' ? '' : `: ${st.flock} is a bigger flock name than its old flock ${r.oflock}`})`
  if (r.op === 'LeaderStart') return `it started leading ${st.flock} at ${clock(r.at)} (rule ${r.cause}${r.oflock === '' ? '' : `, leaving flock ${r.oflock}`})`
  return `it has been in ${st.flock} since ${clock(r.at)} at least (${r.op}, rule ${r.cause})`
}

function sameFlock(m: LiveNode, st: LiveStanding): boolean {
  const x = standingOf(m)
  return x !== null && x.role !== 'left' && x.flock === st.flock && x.leader === st.leader
}

function basis(n: LiveNode, st: LiveStanding): string {
  const parts: string[] = []
  if (n.said !== null) parts.push(`its own Confab answer at ${clock(n.said.at)} (role, flock, leader, epoch)`)
  if (n.listed !== null) parts.push(`its leader's member list at ${clock(n.listed.at)}`)
  if (n.mon !== null) parts.push(`${n.records} MonInfo record(s) the beacon forwarded since the visualiser started, the last a ${n.mon.op} at ${clock(n.mon.at)}`)
  const source = st.source === 'node' ? 'its own answer' : st.source === 'leader list' ? "its leader's member list" : 'its last MonInfo record'
  return (
    `Based on ${parts.join('; ')}; where it stands comes from ${source}. ` +
    `This is not a replay of its journal: for every step with the packet or timer that caused it, run its fulcrum with --trace FILE, then crux replay FILE --explain ${n.id}.`
  )
}
