/**
 * What each timer does (original §1.6). Timers are effects: each handler re-arms its own timer.
 * Changes: a lone leader still reports LeaderHeart (bug 15); pruning drops members whose heartbeats
 * stopped, judged on the leader's own clock, and logs each removal for list deltas; the checkpoint
 * is persisted (bug 2); members of a stable flock leave probing to their leader.
 */
import type { Effect } from '../effects.js'
import { VOTE_MAX } from './constants.js'
import { arm, byAddr, checkpoint, dropMember, hb, isLeader, makeInfo, mon, ping, startOver } from './context.js'
import { below, drawEpoch, probeRound } from './random.js'
import type { FlockContext } from './types.js'

const NOBODY = Object.freeze({ id: '', addr: '', horde: '' })

export type { Tick } from './context.js'
export { arm } from './context.js'

/** Heartbeat: members check the leader is alive and beat to it; the leader promotes and beats to all. */
export function onHeartbeat(ctx: FlockContext, now: number, out: Effect[]): 'leader-expired' | 'beat' | 'lead' {
  arm(ctx, out, 'hb')
  ctx.hurry = false
  if (!isLeader(ctx)) {
    if (now > ctx.leaderExpires) {
      const old = ctx.leader
      startOver(ctx, out, now, 'leader-expired')
      ping(ctx, out, old, 'ping', now) // "remind old leader"
      return 'leader-expired'
    }
    ping(ctx, out, ctx.leader, 'beat', now)
    ctx.promotedAt = null
    return 'beat'
  }
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

/** Probe round. */
export function onProbe(ctx: FlockContext, now: number, out: Effect[]): number {
  arm(ctx, out, 'probe')
  // Members of a stable flock leave finding other flocks to their leader (scaling change, PROTOCOL.md).
  if (!isLeader(ctx) && ctx.lvote === VOTE_MAX) {
    const every = ctx.cfg.memberProbeEveryHb
    if (every <= 0 || (ctx.lastProbe !== null && now - ctx.lastProbe < hb(ctx, every))) return 0
  }
  ctx.lastProbe = now
  const skip = (addr: string): boolean => addr === ctx.leader.addr || ctx.memByAddr[addr] !== undefined
  const addrs = probeRound(ctx, ctx.cfg.probeN, ctx.probe, ctx.history, ctx.historyOrder, skip, ctx.me.addr)
  mon(ctx, out, 'Probe', now, 'probe-round', { n: addrs.length })
  for (const a of addrs) ping(ctx, out, byAddr(a), 'probe', now)
  return addrs.length
}

/** Leader: drop members whose heartbeats stopped. */
export function onPrune(ctx: FlockContext, now: number, out: Effect[]): number {
  // Members have nothing to prune and let the timer lapse; leading again re-arms it (leadList).
  if (!isLeader(ctx)) return 0
  arm(ctx, out, 'prune')
  let dropped = 0
  for (const id in ctx.mems) {
    if (ctx.mems[id]!.expires >= now) continue
    dropMember(ctx, id, now, out, 'prune')
    dropped++
  }
  if (dropped > 0) mon(ctx, out, 'LeaderDelta', now, 'prune')
  return dropped
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
