/**
 * What each timer does (original §1.6). Timers are effects: each handler re-arms its own timer.
 * Changes: a lone leader still reports LeaderHeart (bug 15); pruning drops members whose heartbeats
 * stopped, judged on the leader's own clock, and logs each removal for list deltas; the checkpoint
 * is persisted (bug 2); members of a stable flock leave probing to their leader.
 */
import type { Effect } from '../effects.js'
import { VOTE_MAX } from './constants.js'
import { arm, byAddr, checkpoint, hb, isLeader, makeInfo, mon, ping, startOver } from './context.js'
import { dueKnown } from './known.js'
import { pullAgain } from './list-sync.js'
import { below, drawEpoch, probeRound } from './random.js'
import { judgeMembers, leaveSuspected, observeLoss, suspectLeader, suspicionMs } from './suspicion.js'
import type { FlockContext } from './types.js'

const NOBODY = Object.freeze({ id: '', addr: '', horde: '' })

export type { Tick } from './context.js'
export { arm } from './context.js'

/** Heartbeat: members check the leader is alive and beat to it; the leader promotes and beats to all. */
export function onHeartbeat(ctx: FlockContext, now: number, out: Effect[]): 'leader-expired' | 'suspect-leader' | 'beat' | 'lead' {
  arm(ctx, out, 'hb')
  ctx.hurry = false
  // A join storm's members are persisted within a couple of heartbeats, not at the next period.
  if (ctx.knownDirty !== null && now - ctx.knownDirty >= hb(ctx, 2)) checkpoint(ctx, out)
  if (!isLeader(ctx)) return memberHeartbeat(ctx, now, out)
  observeLoss(ctx)
  if (ctx.promotedAt === null) ctx.promotedAt = now
  else if (now >= ctx.promotedAt + hb(ctx, ctx.cfg.stableLeaderHb) && ctx.vote !== VOTE_MAX) {
    ctx.vote = VOTE_MAX
    ctx.lvote = VOTE_MAX
  }
  mon(ctx, out, 'LeaderHeart', now, 'heartbeat')
  if (ctx.memCount > 0) {
    ctx.leaderExpires = now + hb(ctx, ctx.cfg.shortLeaderHb * 2)
    if (ctx.rotate) {
      ctx.rotate = false
      ctx.epoch = drawEpoch(ctx, ctx.epoch)
      out.push({ type: 'emit', record: { type: 'Epoch', epoch: ctx.epoch, flock: ctx.flock } })
    }
    // One packet for all members (dest left blank: a check-in carries no horde instruction), so the
    // runtime can encode it once per heartbeat instead of once per member.
    const event = { type: 'info', info: makeInfo(ctx, 'leader-beat', NOBODY, now) }
    for (const id in ctx.mems) out.push({ type: 'send', to: ctx.mems[id]!.node.addr, event })
  }
  return 'lead'
}

/**
 * Member heartbeat: beat to the leader. A leader silent for 2 HB is suspected (checked directly and
 * through other members); one still silent past its expiry and the suspicion window is given up:
 * start over, remember it as lost, and look for the old flock's members at once.
 */
function memberHeartbeat(ctx: FlockContext, now: number, out: Effect[]): 'leader-expired' | 'suspect-leader' | 'beat' {
  observeLoss(ctx)
  ctx.promotedAt = null
  if (ctx.leaderSuspect !== null && now > ctx.leaderExpires && now - ctx.leaderSuspect >= suspicionMs(ctx)) {
    const old = ctx.leader
    leaveSuspected(ctx, now)
    startOver(ctx, out, now, 'leader-expired')
    ping(ctx, out, old, 'ping', now) // "remind old leader"
    out.push({ type: 'timer.set', name: 'probe', ms: 1 + below(ctx, Math.max(1, Math.floor(ctx.cfg.hbMs / 4))) })
    return 'leader-expired'
  }
  ping(ctx, out, ctx.leader, 'beat', now)
  pullAgain(ctx, now, out)
  if (now > ctx.leaderExpires - hb(ctx, 1)) {
    suspectLeader(ctx, now, out)
    return 'suspect-leader'
  }
  return 'beat'
}

/** Probe round. */
export function onProbe(ctx: FlockContext, now: number, out: Effect[]): number {
  // A leader alone or whose flock changed lately probes twice the slots every heartbeat instead of
  // every probe period (6× the rate): a flock that settled leaves probing to its leader, so otherwise
  // only a few leaders look for the last stragglers. Once its list has not changed for 2 ×
  // `youngFlockHb` it falls back to the normal rate: a settled flock costs no more than before.
  const lonely = isLeader(ctx) && now - Math.max(ctx.listChangedAt, ctx.promotedAt ?? 0) < hb(ctx, 2 * ctx.cfg.youngFlockHb)
  if (lonely) out.push({ type: 'timer.set', name: 'probe', ms: hb(ctx, 1) })
  else arm(ctx, out, 'probe')
  // Members of a stable flock leave finding other flocks to their leader (scaling change, PROTOCOL.md),
  // once its list has stopped changing: while the flock still grows, other flocks are likely near,
  // and a few leaders probing alone find them slowly.
  const young = now - ctx.listChangedAt < hb(ctx, ctx.cfg.youngFlockHb)
  if (!isLeader(ctx) && ctx.lvote === VOTE_MAX && !young) {
    const every = ctx.cfg.memberProbeEveryHb
    if (every <= 0 || (ctx.lastProbe !== null && now - ctx.lastProbe < hb(ctx, every))) return 0
  }
  ctx.lastProbe = now
  const skip = (addr: string): boolean => addr === ctx.leader.addr || ctx.memByAddr[addr] !== undefined
  const addrs = probeRound(ctx, lonely ? 2 * ctx.cfg.probeN : ctx.cfg.probeN, ctx.probe, ctx.history, ctx.historyOrder, skip, ctx.me.addr)
  // Known peers not with us, each with its own backoff: how islands find each other again.
  const withUs = (id: string): boolean => id === ctx.leader.id || ctx.mems[id] !== undefined || ctx.list.entries[id] !== undefined
  const known = dueKnown(ctx, now, Math.ceil(ctx.cfg.probeN / 2), withUs).filter((n) => !addrs.includes(n.addr))
  mon(ctx, out, 'Probe', now, 'probe-round', { n: addrs.length + known.length })
  for (const a of addrs) ping(ctx, out, byAddr(a), 'probe', now)
  for (const n of known) ping(ctx, out, n, 'probe', now)
  return addrs.length + known.length
}

/**
 * Leader: suspect members whose heartbeats stopped, check them, and drop the ones nobody heard for
 * the suspicion window (suspicion.ts). Returns the rule for the trace.
 */
export function onPrune(ctx: FlockContext, now: number, out: Effect[]): 'prune' | 'suspect-member' | 'suspicion-confirmed' {
  // Members have nothing to prune and let the timer lapse; leading again re-arms it (leadList).
  if (!isLeader(ctx)) return 'prune'
  arm(ctx, out, 'prune')
  const { suspected, confirmed } = judgeMembers(ctx, now, out)
  if (confirmed.length > 0) mon(ctx, out, 'LeaderDelta', now, 'prune')
  return confirmed.length > 0 ? 'suspicion-confirmed' : suspected.length > 0 ? 'suspect-member' : 'prune'
}

export function onCheckpoint(ctx: FlockContext, out: Effect[]): void {
  arm(ctx, out, 'checkpoint')
  checkpoint(ctx, out)
}

/** Key period: the leader picks a new epoch at its next heartbeat. */
export function onKeyPeriod(ctx: FlockContext, out: Effect[]): void {
  arm(ctx, out, 'key')
  ctx.rotate = true
}

/** The asynchronous reboot is over: start over. */
export function onRebootDone(ctx: FlockContext, now: number, out: Effect[]): void {
  ctx.rebootUntil = null
  startOver(ctx, out, now, 'reboot')
  // Probe at once: history still names the flock we were in, so we are back within a round trip
  // instead of waiting up to a whole probe period (the re-agreement time of a reboot storm).
  out.push({ type: 'timer.set', name: 'probe', ms: 1 + below(ctx, Math.max(1, Math.floor(ctx.cfg.hbMs / 4))) })
}
