/**
 * Every member learns the full member list (the original's TBD, bug 1). The leader's check-in carries
 * the list's version and digest; a member whose copy differs pulls the changes since its version (or
 * the whole list when the leader's log no longer reaches back that far), in chunks that each fit one
 * datagram. A member verifies the digest once a pull is applied and starts again from scratch on a
 * mismatch, so a lost or reordered chunk costs one more round, never a wrong list.
 */
import type { Effect } from '../effects.js'
import { hb, isLeader } from './context.js'
import { answerPull, dict, digestOf, emptyList, listPut, listRemove } from './member-list.js'
import type { FlockContext, Info, ListChunk, ListPull } from './types.js'

/** Member, on the leader's check-in: pull if our copy is not the leader's. */
export function requestList(ctx: FlockContext, p: Info, now: number, out: Effect[]): void {
  if (!ctx.cfg.listSync) return
  if (p.listVersion === ctx.list.version && p.listDigest === digestOf(ctx.list)) {
    ctx.pulling = null
    return
  }
  // One pull in flight at a time; answers take milliseconds, so one unanswered after most of a
  // heartbeat was lost and is asked again at this check-in.
  if (ctx.pulling !== null && now - ctx.pulling < hb(ctx, 0.75)) return
  ctx.pulling = now
  // Same version but another digest means our copy is corrupt: ask for all of it.
  const since = p.listVersion > ctx.list.version && ctx.list.version > 0 ? ctx.list.version : 0
  const pull: ListPull = { flock: ctx.flock, me: ctx.me, since }
  sendLossy(ctx, out, p.me.addr, { type: 'list.pull', pull })
}

/** Loss above which list-sync messages are sent twice (a duplicate costs nothing: chunks are deduplicated). */
const LOSSY = 0.1

/**
 * Sends `event`, twice when this node observes more than 10 % loss: a list answer needs the pull and
 * every chunk to arrive, so at 30 % loss one try in two fails and a member could lag its leader for
 * many heartbeats; a clean network pays nothing.
 */
function sendLossy(ctx: FlockContext, out: Effect[], to: string, event: { type: string; [k: string]: unknown }): void {
  out.push({ type: 'send', to, event })
  if (ctx.loss > LOSSY) out.push({ type: 'send', to, event })
}

/**
 * Member, on its own heartbeat: a pull unanswered for most of a heartbeat is asked again now rather
 * than at the next check-in, so under loss a member gets two tries a heartbeat instead of one (at 20 %
 * loss a pull and its answer get through together about two times in three). The chunks already
 * received are kept: only the missing ones matter.
 */
export function pullAgain(ctx: FlockContext, now: number, out: Effect[]): void {
  if (!ctx.cfg.listSync || isLeader(ctx) || ctx.pulling === null || now - ctx.pulling < hb(ctx, 0.75)) return
  ctx.pulling = now
  const since = ctx.pending === null && ctx.list.version > 0 ? ctx.list.version : ctx.pending?.since ?? 0
  sendLossy(ctx, out, ctx.leader.addr, { type: 'list.pull', pull: { flock: ctx.flock, me: ctx.me, since } satisfies ListPull })
}

/** Leader: answer a member's pull with delta or full chunks. Pulls from outside the flock are ignored. */
export function answerListPull(ctx: FlockContext, pull: ListPull, out: Effect[]): boolean {
  if (!isLeader(ctx) || pull.flock !== ctx.flock || ctx.mems[pull.me.id] === undefined) return false
  for (const chunk of answerPull(ctx.list, ctx.changes, pull.since, ctx.cfg.listChunkBytes, ctx.flock, ctx.me, ctx.answers)) {
    sendLossy(ctx, out, pull.me.addr, { type: 'list.chunk', chunk })
  }
  return true
}

/**
 * Member: apply one chunk from our leader. Chunks of one answer are collected (duplicates ignored, any
 * order) and applied together once all have arrived, so a lost chunk never leaves a half-applied
 * list. Returns true when the copy is now the leader's.
 */
export function applyListChunk(ctx: FlockContext, c: ListChunk, now: number): boolean {
  if (isLeader(ctx) || c.flock !== ctx.flock || c.leader.id !== ctx.leader.id) return false
  if (!c.full && c.since !== ctx.list.version) return false // a delta for a copy we no longer have
  // A late duplicate of an answer already applied. (Not any version ≤ ours: a leader whose list
  // started again from 1, or whose copy we took from another leader, sends lower versions, and a
  // member that refused them lagged forever.)
  if (ctx.pending === null && c.version === ctx.list.version && c.digest === digestOf(ctx.list) && ctx.list.size > 0) return false
  const p = ctx.pending
  if (p === null || p.version !== c.version || p.count !== c.count || p.full !== c.full || p.since !== c.since) {
    ctx.pending = { version: c.version, since: c.since, full: c.full, count: c.count, got: 0, seen: [], entries: dict(), removed: [] }
  }
  const pend = ctx.pending!
  if (pend.seen.includes(c.index)) return false // a duplicated datagram
  pend.seen.push(c.index)
  pend.got++
  for (const e of c.added) pend.entries[e.id] = e
  for (const id of c.removed) pend.removed.push(id)
  if (pend.got < pend.count) return false
  ctx.pending = null
  if (c.full) {
    const list = emptyList()
    for (const e of Object.values(pend.entries)) listPut(list, e)
    list.version = c.version
    return settle(ctx, list, c, now)
  }
  for (const id of pend.removed) listRemove(ctx.list, id)
  for (const e of Object.values(pend.entries)) listPut(ctx.list, e)
  ctx.list.version = c.version
  return settle(ctx, ctx.list, c, now)
}

function settle(ctx: FlockContext, list: typeof ctx.list, c: ListChunk, now: number): boolean {
  if (digestOf(list) !== c.digest) {
    // Our copy cannot be trusted: start from nothing; the next check-in pulls the whole list.
    ctx.list = emptyList()
    ctx.pulling = null
    return false
  }
  ctx.list = list
  ctx.pulling = null
  // A member's copy names the members a restart must find again: persist it soon, as a leader does
  // when its list grows.
  ctx.knownDirty ??= now
  return true
}
