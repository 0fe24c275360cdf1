/**
 * Handling a received Info: the original's receive rules in their exact order (original §1.7), each
 * named so a trace says which one fired. Changes from the original, each in docs/PROTOCOL.md:
 * staleness is judged per sender on the sender's own clock (no clock sync), two stable leaders meeting
 * resolve by id instead of both starting over, reboot is asynchronous, and the leader's check-in also
 * tells the member whether its copy of the member list is current.
 */
import type { Effect } from '../effects.js'
import { CMD_CANDIDATE, CMD_LEAVE, CMD_REBOOT, VOTE_MAX } from './constants.js'
import { checkpoint, dropMember, hb, hurryCheckIn, isLeader, leadList, mon, ping, remember, resetMembers } from './context.js'
import { keepKnown, touchKnown } from './known.js'
import { requestList } from './list-sync.js'
import { entryOf, listPut, logChange } from './member-list.js'
import { below, drawEpoch, drawVote, epochSeq } from './random.js'
import { leaveSuspected, noteArrival, onLiveness, refreshLeader, refreshMember, type SuspicionRule } from './suspicion.js'
import type { FlockContext, Info } from './types.js'

/** The rule that decided a packet's fate. */
export type Rule =
  | 'admin-reboot'
  | 'admin-candidate'
  | 'admin-leave'
  | 'admin-unknown'
  | 'from-self'
  | 'stale'
  | 'rebooting'
  | 'join-bigger-flock'
  | 'invite-smaller-flock'
  | 'two-leaders'
  | 'higher-vote'
  | 'leader-moved'
  | 'leader-check-in'
  | 'member-beat'
  | 'better-leader'
  | 'worse-leader'
  | 'same'
  | 'lost-leader'
  | SuspicionRule

/** Applies one received Info. Mutates `ctx`, pushes effects, returns the rule that fired. */
export function receive(ctx: FlockContext, p: Info, now: number, out: Effect[]): Rule {
  // 1. Admin commands (vote 0) skip history, staleness and flock logic.
  if (p.vote === 0) return admin(ctx, p, now, out)
  // 2. Remember the sender; ignore our own packets.
  if (p.me.id === ctx.me.id) return 'from-self'
  // History is for finding nodes that are not with us: a leader's own members' beats stay out of it,
  // or ten thousand members would churn a history of a thousand on every beat.
  if (ctx.mems[p.me.id] === undefined || !isLeader(ctx)) remember(ctx, p.me)
  // 3. Stale: older than a packet this sender already sent (its own clock; duplicates and reorders).
  const last = ctx.lastSent[p.me.id]
  if (last !== undefined && p.sent < last) {
    ctx.stats.dropped++
    return 'stale'
  }
  ctx.lastSent[p.me.id] = p.sent
  if (ctx.rebootUntil !== null) return 'rebooting'
  touchKnown(ctx, p.me.id, now)
  // The leader we gave up on speaks again: it is alive after all.
  if (p.me.id === ctx.lost.id) ctx.lost = { id: '', until: 0 }
  // 5. (crux) Liveness checks within our flock, before any rule can read them as flock news.
  const liveness = onLiveness(ctx, p, now, out)
  if (liveness !== null) return liveness
  // 4. Horde instruction.
  if (p.dest.horde !== '' && p.dest.id === ctx.me.id && p.dest.horde !== ctx.me.horde) setHorde(ctx, p.dest.horde)
  // (crux) News from a node that still follows a leader we suspect or gave up on (below) is not
  // followed, not even into a bigger flock: taking over its name would leave one flock name with a
  // leader in each half of a partition.
  if (p.me.id !== p.leader.id && discredited(ctx, p.leader.id, now)) return 'lost-leader'
  // 6. Join the bigger-named flock.
  if (p.flock > ctx.flock) return join(ctx, p, now, out)
  // 7. A smaller flock: send ourselves back so it joins us. (crux) It also becomes a known peer: if
  // our answer is lost, our own probes keep trying it, so two flocks that heard each other once
  // merge even if the one who probed dies or never probes again.
  if (p.flock < ctx.flock) {
    ping(ctx, out, p.me, 'ping', now)
    keepKnown(ctx, p.me, now)
    return 'invite-smaller-flock'
  }
  // 9. Two stable leaders in one flock. The original started over (churn); the lower leader yields.
  if (p.lvote === VOTE_MAX && ctx.lvote === VOTE_MAX && p.leader.id !== ctx.leader.id) {
    if (p.leader.id > ctx.leader.id) {
      follow(ctx, p, now, out, p.leader, ctx.cfg.specLeaderHb)
      // A promoted node that no longer leads draws a normal vote again, or it would outvote the
      // leader it just yielded to (rule 10) at every other member.
      if (!isLeader(ctx) && ctx.vote === VOTE_MAX) ctx.vote = drawVote(ctx, ctx.visitor)
    } else {
      movePastEpoch(ctx, p, out)
      ping(ctx, out, p.me, 'ping', now)
    }
    return 'two-leaders'
  }
  // 10. The prober's own vote beats our leader's: it becomes our leader.
  if (p.vote > ctx.lvote) {
    const wasPromoted = ctx.vote === VOTE_MAX
    follow(ctx, p, now, out, p.me, ctx.cfg.specLeaderHb)
    ctx.lvote = p.vote
    if (wasPromoted) ctx.vote = drawVote(ctx, ctx.visitor)
    return 'higher-vote'
  }
  // 11a. Our leader now follows another: follow that one too. The original stayed with the old
  // leader until it lapsed (3 HB) and then started over, which is what made big merges crawl.
  if (p.me.id === ctx.leader.id && !isLeader(ctx) && p.leader.id !== p.me.id) {
    follow(ctx, p, now, out, p.leader, ctx.cfg.specLeaderHb)
    ctx.lvote = p.lvote
    return 'leader-moved'
  }
  // 11. Our leader checking in (it refutes our suspicion of it, if any).
  if (p.me.id === ctx.leader.id && !isLeader(ctx)) {
    if (ctx.checkInAt > 0) noteArrival(ctx, now - ctx.checkInAt)
    ctx.checkInAt = now
    const refuted = refreshLeader(ctx, now, p.me.id, out)
    ctx.leaderExpires = now + hb(ctx, 1 + ctx.cfg.shortLeaderHb)
    adoptServices(ctx, p, out)
    ctx.lvote = p.lvote
    ctx.leader = p.me
    if (p.listVersion !== ctx.list.version) ctx.listChangedAt = now
    requestList(ctx, p, now, out)
    return refuted ? 'leader-refuted' : 'leader-check-in'
  }
  // 12. A member's heartbeat to us, its leader (a suspect's beat refutes the suspicion).
  if (isLeader(ctx) && p.leader.id === ctx.me.id) {
    const refuted = addMember(ctx, p, now, out)
    movePastEpoch(ctx, p, out)
    return refuted ? 'suspicion-refuted' : 'member-beat'
  }
  // 13. The sender follows a better leader: follow it too.
  if (p.lvote > ctx.lvote) {
    follow(ctx, p, now, out, p.leader, ctx.cfg.specLeaderHb)
    // Named leader ourselves (see follow): we announce our own vote, not the sender's idea of it.
    ctx.lvote = isLeader(ctx) ? ctx.vote : p.lvote
    return 'better-leader'
  }
  // 14. The sender follows a worse leader: send ourselves back — unless ours has gone silent, in
  // which case the sender's is the better one after all.
  if (p.lvote < ctx.lvote && ctx.leaderSuspect !== null && !isLeader(ctx)) {
    follow(ctx, p, now, out, p.leader, ctx.cfg.specLeaderHb)
    ctx.lvote = isLeader(ctx) ? ctx.vote : p.lvote
    return 'better-leader'
  }
  if (p.lvote < ctx.lvote) {
    movePastEpoch(ctx, p, out)
    ping(ctx, out, p.me, 'ping', now)
    return 'worse-leader'
  }
  movePastEpoch(ctx, p, out)
  return 'same'
}

/**
 * A leader we gave up on lately, or our own leader while we suspect it: its name carries no weight.
 * A third party naming it is old news about a node that has gone silent (and answering it would make
 * two such nodes ping each other forever); it will give up on that leader too and find us then.
 */
function discredited(ctx: FlockContext, id: string, now: number): boolean {
  if (id === ctx.lost.id && now < ctx.lost.until) return true
  return ctx.leaderSuspect !== null && id === ctx.leader.id && !isLeader(ctx)
}

/**
 * A leader that stays leader after a packet of its own flock carrying a later epoch moves past that
 * epoch, so the epochs it announces stay ordered even after another leader's members join it.
 */
function movePastEpoch(ctx: FlockContext, p: Info, out: Effect[]): void {
  if (!isLeader(ctx) || p.flock !== ctx.flock || p.epoch === ctx.epoch || epochSeq(p.epoch) < epochSeq(ctx.epoch)) return
  ctx.epoch = drawEpoch(ctx, p.epoch)
  out.push({ type: 'emit', record: { type: 'Epoch', epoch: ctx.epoch, flock: ctx.flock } })
}

function admin(ctx: FlockContext, p: Info, now: number, out: Effect[]): Rule {
  if (p.lvote === CMD_REBOOT) {
    mon(ctx, out, 'Reboot', now, 'admin-reboot')
    // Asynchronous (original bug 5 blocked the node): drop packets until the reboot timer fires.
    const ms = Math.round(hb(ctx, ctx.cfg.rebootHb) * (0.8 + (0.4 * below(ctx, 1_000_000)) / 1_000_000))
    ctx.rebootUntil = now + ms
    resetMembers(ctx, now)
    out.push({ type: 'timer.set', name: 'reboot', ms })
    return 'admin-reboot'
  }
  if (p.lvote === CMD_CANDIDATE) {
    // "Just send ourself to the address" in p.leader: an introduction.
    ping(ctx, out, p.leader, 'ping', now)
    return 'admin-candidate'
  }
  if (p.lvote === CMD_LEAVE) {
    // A member says goodbye: drop it now rather than 4 HB from now. Only its own notice counts.
    if (isLeader(ctx) && p.me.id !== ctx.me.id && ctx.mems[p.me.id] !== undefined) dropMember(ctx, p.me.id, now, out, 'member-left')
    return 'admin-leave'
  }
  return 'admin-unknown'
}

/** Our horde changes; a leader also announces it and changes its own entry in the member list. */
function setHorde(ctx: FlockContext, horde: string): void {
  const leading = isLeader(ctx)
  ctx.me = { ...ctx.me, horde }
  if (!leading) return
  ctx.leader = ctx.me
  const entry = entryOf(ctx.me)
  if (listPut(ctx.list, entry)) {
    ctx.list.version++
    logChange(ctx.changes, { version: ctx.list.version, op: 'add', entry }, ctx.cfg.listLogSize)
  }
}

/** Original rule 6: adopt the bigger flock's name; follow its leader or lead inside it. */
function join(ctx: FlockContext, p: Info, now: number, out: Effect[]): Rule {
  leaveSuspected(ctx, now)
  const oflock = ctx.flock
  const n = ctx.memCount
  ctx.stats.joins++
  // Cascade: tell our members about the new flock before forgetting them.
  const members = Object.values(ctx.mems)
  const oldLeader = ctx.leader
  ctx.flock = p.flock
  mon(ctx, out, 'Join', now, 'join-bigger-flock', { oflock, n })
  if (ctx.vote === VOTE_MAX) ctx.vote = drawVote(ctx, ctx.visitor)
  if ((p.lvote >= ctx.vote || ctx.vote === VOTE_MAX) && p.leader.id !== ctx.me.id) {
    ctx.leader = p.leader
    ctx.lvote = p.lvote
    ctx.promotedAt = null
    adoptServices(ctx, p, out)
    resetMembers(ctx, now)
  } else {
    ctx.leader = ctx.me
    ctx.lvote = ctx.vote
    ctx.promotedAt = now
    adoptServices(ctx, p, out)
    leadList(ctx, out, now)
  }
  for (const m of members) ping(ctx, out, m.node, 'ping', now)
  ping(ctx, out, p.leader, isLeader(ctx) ? 'ping' : 'beat', now)
  if (oldLeader.id !== ctx.me.id) ping(ctx, out, oldLeader, 'ping', now)
  // A member that just joined is not on its leader's list until a beat of its own arrives there, and
  // gets no check-in before: under loss that takes a while, so it waits 4 HB, not 2, before suspecting.
  ctx.leaderExpires = now + hb(ctx, isLeader(ctx) ? ctx.cfg.shortLeaderHb : 2 + ctx.cfg.shortLeaderHb)
  checkpoint(ctx, out)
  return 'join-bigger-flock'
}

/** Rules 10 and 13: `leader` becomes ours; cascade to our members and forget them. */
function follow(ctx: FlockContext, p: Info, now: number, out: Effect[], leader: Info['leader'], waitHb: number): void {
  if (leader.id !== ctx.leader.id) leaveSuspected(ctx, now)
  const members = Object.values(ctx.mems)
  adoptServices(ctx, p, out)
  if (leader.id === ctx.me.id) {
    // The sender names us as the better leader: we lead, with a list that starts with ourselves.
    ctx.leader = ctx.me
    ctx.promotedAt = now
    leadList(ctx, out, now)
    for (const m of members) ping(ctx, out, m.node, 'ping', now)
    return
  }
  // Re-adopting the leader we already follow (its vote just rose to voteMax, rule 10) keeps our copy
  // of its member list and any pull in flight; a new leader starts us from an empty copy.
  const same = !isLeader(ctx) && ctx.leader.id === leader.id
  ctx.leader = leader
  ctx.promotedAt = null
  if (!same) resetMembers(ctx, now)
  ping(ctx, out, leader, 'beat', now)
  // The leader we already follow just spoke: that is a check-in, not a new leader to wait for.
  ctx.leaderExpires = now + hb(ctx, same ? 1 + ctx.cfg.shortLeaderHb : 2 + ctx.cfg.shortLeaderHb)
  // It is a check-in for the loss estimate too (the one carrying its promotion, rule 10). Uncounted,
  // the next one came 2 HB after the last counted and read as a lost check-in at every member: from
  // a clean 0.057 to 0.134, which widened the suspicion window to 3 HB for the next ~12 HB, and a
  // leader dying then was given up on 5–6 HB after its death instead of 4.
  if (same && p.me.id === leader.id) {
    if (ctx.checkInAt > 0) noteArrival(ctx, now - ctx.checkInAt)
    ctx.checkInAt = now
  }
  for (const m of members) ping(ctx, out, m.node, 'ping', now)
}

/** Steward, registry, yurt, beacon and epoch travel from the leader. */
function adoptServices(ctx: FlockContext, p: Info, out: Effect[]): void {
  ctx.steward = p.steward
  ctx.registry = p.registry
  ctx.yurt = p.yurt
  if (p.beacon !== '') ctx.beacon = p.beacon
  if (p.epoch !== ctx.epoch && p.epoch !== '') {
    ctx.epoch = p.epoch
    out.push({ type: 'emit', record: { type: 'Epoch', epoch: p.epoch, flock: p.flock } })
  }
}

/**
 * Leader: add or refresh a member; a new one is a list change (version + 1, logged for deltas).
 * Returns true when the beat refuted a suspicion of it.
 */
function addMember(ctx: FlockContext, p: Info, now: number, out: Effect[]): boolean {
  const expires = now + hb(ctx, ctx.cfg.memberLapseHb)
  const m = ctx.mems[p.me.id]
  if (m !== undefined && m.node.addr === p.me.addr && m.node.horde === p.me.horde) return refreshMember(ctx, m, now, p.me.id, out)
  if (m === undefined) {
    ctx.memCount++
    ctx.listChangedAt = now
    if (ctx.knownDirty === null) ctx.knownDirty = now
  } else if (ctx.memByAddr[m.node.addr] === p.me.id) delete ctx.memByAddr[m.node.addr]
  ctx.mems[p.me.id] = { node: p.me, expires, suspect: null }
  ctx.memByAddr[p.me.addr] = p.me.id
  const entry = entryOf(p.me)
  if (listPut(ctx.list, entry)) {
    ctx.list.version++
    logChange(ctx.changes, { version: ctx.list.version, op: 'add', entry }, ctx.cfg.listLogSize)
    hurryCheckIn(ctx, out)
  }
  return false
}
