/**
 * Suspicion before removal (after memberlist's indirect probes and Lifeguard): a member whose beats
 * stop is first suspected; its leader checks it directly and asks `checkHelpers` other members to
 * check it over their own sessions, and removes it only when nobody has heard it for the suspicion
 * window. A beat, or an `alive` answer carried back by a helper, refutes the suspicion. A member that
 * stops hearing its leader does the same before it starts over.
 *
 * The window is `suspicionHb` on a clean network and widens with the loss the node itself observes
 * (Lifeguard's local health: a node that hears badly judges slowly), up to `suspicionMaxHb`. So a dead
 * member is still out of every list 3–4 HB after it died, and at 20 % loss a live one is not removed.
 */
import type { Effect } from '../effects.js'
import { dropMember, hb, isLeader, ping } from './context.js'
import { sample } from './random.js'
import type { FlockContext, Info, Member, NodeId } from './types.js'

/** The rules of this file, as a trace names them. */
export type SuspicionRule = 'check-answered' | 'check-relayed' | 'check-ignored' | 'suspicion-refuted' | 'leader-refuted' | 'alive-relayed' | 'alive'

/** Indirect checks a node passes on at once (more are refused: one node cannot be made a megaphone). */
const MAX_RELAYS = 16
/**
 * Weight of one heartbeat's sample in the loss estimate. A leader hears a beat from every member each
 * heartbeat, so ~5 HB of memory is plenty; a member hears one check-in a heartbeat, and at 30 % loss a
 * 5-sample average drops below 0.05 often enough to shrink its window to 1 HB: it keeps ~20 HB.
 */
const LEADER_LOSS_WEIGHT = 0.2
const MEMBER_LOSS_WEIGHT = 0.05

/** How long a suspicion runs before it is confirmed, on this node's clock. */
export function suspicionMs(ctx: FlockContext): number {
  return hb(ctx, Math.min(ctx.cfg.suspicionMaxHb, ctx.cfg.suspicionHb * (1 + 20 * ctx.loss)))
}

/**
 * A beat (leader) or check-in (member) arrived `gapMs` after the previous one from the same node:
 * each is sent once per heartbeat, so the gap says how many were lost on the way. A dead node's
 * silence counts for nothing here (nothing arrives), so deaths do not slow the judgement of deaths.
 */
export function noteArrival(ctx: FlockContext, gapMs: number): void {
  ctx.heard.got++
  ctx.heard.missed += Math.min(10, Math.max(0, Math.round(gapMs / ctx.cfg.hbMs) - 1))
}

/** Heartbeat tick: folds the arrivals since the last tick into the loss estimate. */
export function observeLoss(ctx: FlockContext): void {
  const { got, missed } = ctx.heard
  // Decayed sums of arrivals and misses, not an average of per-heartbeat ratios: a member's one
  // check-in a heartbeat makes each ratio 0 or ½, whose average is about half the real loss.
  const w = isLeader(ctx) ? LEADER_LOSS_WEIGHT : MEMBER_LOSS_WEIGHT
  const sums = ctx.lossSums
  sums.got = sums.got * (1 - w) + got
  sums.missed = sums.missed * (1 - w) + missed
  if (sums.got + sums.missed > 0) ctx.loss = sums.missed / (sums.got + sums.missed)
  ctx.heard = { got: 0, missed: 0 }
}

/** Asks `subject` directly, and each helper on our behalf, whether it is alive. */
function check(ctx: FlockContext, out: Effect[], subject: NodeId, via: NodeId[], now: number): void {
  ping(ctx, out, subject, 'check', now)
  for (const h of via) ping(ctx, out, h, 'check', now, { dest: subject })
}

function* memberNodes(ctx: FlockContext): Generator<NodeId> {
  for (const id in ctx.mems) {
    const m = ctx.mems[id]!
    if (m.suspect === null) yield m.node
  }
}

/**
 * Leader, every prune tick: members silent past their lapse become suspects and are checked; a
 * suspect silent for the whole window is removed. Returns what happened, for the trace.
 */
export function judgeMembers(ctx: FlockContext, now: number, out: Effect[]): { suspected: string[]; confirmed: string[] } {
  const suspected: string[] = []
  const confirmed: string[] = []
  const checking: Member[] = []
  const window = suspicionMs(ctx)
  for (const id in ctx.mems) {
    const m = ctx.mems[id]!
    if (m.expires >= now) continue
    if (m.suspect === null) {
      // Suspected since it lapsed, not since this tick noticed: the window then ends where the old
      // flat lapse did (a dead member is not judged half a prune period later).
      m.suspect = m.expires
      ctx.stats.suspected++
      suspected.push(id)
      checking.push(m)
    } else if (now - m.suspect >= window) {
      confirmed.push(id)
      ctx.stats.confirmed++
      dropMember(ctx, id, now, out, 'prune')
    } else checking.push(m)
  }
  if (checking.length === 0) return { suspected, confirmed }
  // One draw of helpers per tick serves every suspect (a pass over the members, as the prune is).
  const via = sample(ctx, memberNodes(ctx), ctx.cfg.checkHelpers + 1)
  for (const m of checking) check(ctx, out, m.node, via.filter((h) => h.id !== m.node.id).slice(0, ctx.cfg.checkHelpers), now)
  if (suspected.length > 0) out.push({ type: 'log', level: 'info', msg: 'members suspected', fields: { members: suspected, helpers: via.map((h) => h.id), windowMs: window } })
  if (confirmed.length > 0) out.push({ type: 'log', level: 'info', msg: 'suspicion confirmed: members removed', fields: { members: confirmed } })
  return { suspected, confirmed }
}

/** Member: our leader has been silent too long; check it directly and through a few other members. */
export function suspectLeader(ctx: FlockContext, now: number, out: Effect[]): void {
  if (ctx.leaderSuspect === null) {
    // Since this tick noticed (not backdated as a member's suspicion is at the leader: a member has
    // one sender to judge by, and at 30 % loss the shorter window gave up on live leaders).
    ctx.leaderSuspect = now
    ctx.stats.suspected++
  }
  const pool = Object.values(ctx.list.entries) as NodeId[]
  const via = sample(ctx, pool, ctx.cfg.checkHelpers, (n) => n.id === ctx.me.id || n.id === ctx.leader.id)
  check(ctx, out, ctx.leader, via, now)
  out.push({ type: 'log', level: 'info', msg: 'leader suspected', fields: { leader: ctx.leader.id, helpers: via.map((h) => h.id) } })
}

/**
 * Member: we are leaving the leader we suspect (for another leader, or to start over). Name it lost
 * for 10 HB, so that a node still following it cannot talk us back into following a dead node.
 */
export function leaveSuspected(ctx: FlockContext, now: number): void {
  if (ctx.leaderSuspect === null || isLeader(ctx)) return
  ctx.lost = { id: ctx.leader.id, until: now + hb(ctx, 10) }
}

/** Leader: member `m` was heard (its beat, or an `alive` about it). Returns true if it was suspected. */
export function refreshMember(ctx: FlockContext, m: Member, now: number, by: string, out: Effect[]): boolean {
  if (by === m.node.id) noteArrival(ctx, now - (m.expires - hb(ctx, ctx.cfg.memberLapseHb)))
  m.expires = now + hb(ctx, ctx.cfg.memberLapseHb)
  if (m.suspect === null) return false
  m.suspect = null
  ctx.stats.refuted++
  out.push({ type: 'log', level: 'info', msg: 'suspicion refuted', fields: { member: m.node.id, by } })
  return true
}

/** Member: our leader was heard. Returns true if we were suspecting it. */
export function refreshLeader(ctx: FlockContext, now: number, by: string, out: Effect[]): boolean {
  ctx.leaderExpires = Math.max(ctx.leaderExpires, now + hb(ctx, 1 + ctx.cfg.shortLeaderHb))
  if (ctx.leaderSuspect === null) return false
  ctx.leaderSuspect = null
  ctx.stats.refuted++
  out.push({ type: 'log', level: 'info', msg: 'leader suspicion refuted', fields: { leader: ctx.leader.id, by } })
  return true
}

/**
 * `check` and `alive` within our own flock (from elsewhere they are ordinary Infos and go through
 * the flock rules). Returns the rule, or null when the packet is not ours to handle here.
 */
export function onLiveness(ctx: FlockContext, p: Info, now: number, out: Effect[]): SuspicionRule | null {
  if ((p.kind !== 'check' && p.kind !== 'alive') || p.flock !== ctx.flock) return null
  if (p.kind === 'check') return onCheck(ctx, p, now, out)
  // Our own leader answers, but names another leader: it is alive and no longer leads. That is flock
  // news (rule 11a: follow the one it follows), not a refutation.
  if (p.me.id === ctx.leader.id && p.leader.id !== p.me.id && !isLeader(ctx)) return null
  const subject = p.dest
  // The subject answered a check we passed on: carry the answer back to whoever asked.
  let relayed = false
  if (subject.id === p.me.id) {
    ctx.relays = ctx.relays.filter((r) => {
      if (r.subject !== subject.id) return r.until >= now
      ping(ctx, out, r.to, 'alive', now, { dest: subject })
      relayed = true
      return false
    })
  }
  const m = isLeader(ctx) ? ctx.mems[subject.id] : undefined
  if (m !== undefined) return refreshMember(ctx, m, now, p.me.id, out) ? 'suspicion-refuted' : relayed ? 'alive-relayed' : 'alive'
  if (!isLeader(ctx) && subject.id === ctx.leader.id) return refreshLeader(ctx, now, p.me.id, out) ? 'leader-refuted' : relayed ? 'alive-relayed' : 'alive'
  return relayed ? 'alive-relayed' : 'alive'
}

function onCheck(ctx: FlockContext, p: Info, now: number, out: Effect[]): SuspicionRule {
  if (p.dest.id === ctx.me.id) {
    ping(ctx, out, p.me, 'alive', now, { dest: ctx.me })
    // A member checked on its leader's behalf also beats that leader at once: one more way through.
    if (!isLeader(ctx) && p.me.id !== ctx.leader.id) ping(ctx, out, ctx.leader, 'beat', now)
    return 'check-answered'
  }
  if (p.dest.id === p.me.id) return 'check-ignored'
  ctx.relays = ctx.relays.filter((r) => r.until >= now)
  if (ctx.relays.length >= MAX_RELAYS) return 'check-ignored'
  ctx.relays.push({ subject: p.dest.id, to: p.me, until: now + hb(ctx, 1) })
  ping(ctx, out, p.dest, 'check', now)
  return 'check-relayed'
}
