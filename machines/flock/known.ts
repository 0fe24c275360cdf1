/**
 * Known-peer memory: every node remembers the members it has known, so that when its flock falls
 * apart (its leader died, it started over, it restarted) it can find them again without the seed
 * everyone joined through. Serf does the same with its snapshot and reconnect loop: a peer that does
 * not answer is probed less and less often (backoff doubling up to `knownBackoffMaxHb`) and
 * forgotten only after `knownForgetHb` without being heard.
 *
 * The list a node holds (a leader's members, a member's copy) is the live part of this memory; it
 * moves here when the node lets the list go (resetMembers), so steady state costs nothing.
 */
import { sample } from './random.js'
import type { FlockContext, NodeId } from './types.js'

/** Remembers `node` as known and heard at `now` (its backoff starts over). */
export function keepKnown(ctx: FlockContext, node: NodeId, now: number): void {
  if (node.id === ctx.me.id || node.addr === ctx.me.addr) return
  const k = ctx.known[node.id]
  if (k !== undefined) {
    k.node = node
    touchKnown(ctx, node.id, now)
    return
  }
  ctx.known[node.id] = { node, seen: now, tries: 0, next: now }
  ctx.knownOrder.push(node.id)
  if (ctx.knownOrder.length > ctx.cfg.knownMax) delete ctx.known[ctx.knownOrder.shift()!]
}

/** A known peer spoke to us: it answers, so its backoff starts over. O(1), on every packet. */
export function touchKnown(ctx: FlockContext, id: string, now: number): void {
  const k = ctx.known[id]
  if (k === undefined) return
  k.seen = now
  k.tries = 0
  k.next = now
}

/** A member that left for good (it said so): Serf does not reconnect to those either. */
export function forgetKnown(ctx: FlockContext, id: string): void {
  if (ctx.known[id] === undefined) return
  delete ctx.known[id]
  ctx.knownOrder = ctx.knownOrder.filter((k) => k !== id)
}

/** The node lets its member list go: every member on it becomes a known peer. */
export function keepList(ctx: FlockContext, now: number): void {
  for (const id in ctx.list.entries) {
    const e = ctx.list.entries[id]!
    keepKnown(ctx, { id: e.id, addr: e.addr, horde: e.horde }, now)
  }
}

/**
 * Up to `max` known peers due for a probe, chosen at random among those due (reservoir), skipping
 * the ones `skip` names (with us already). Each chosen one waits twice as long before the next probe
 * unless it answers; one not heard for `knownForgetHb` is forgotten.
 */
export function dueKnown(ctx: FlockContext, now: number, max: number, skip: (id: string) => boolean): NodeId[] {
  const forgetBefore = now - ctx.cfg.knownForgetHb * ctx.cfg.hbMs
  const kept = ctx.knownOrder.filter((id) => ctx.known[id]!.seen >= forgetBefore)
  if (kept.length < ctx.knownOrder.length) {
    for (const id of ctx.knownOrder) if (ctx.known[id]!.seen < forgetBefore) delete ctx.known[id]
    ctx.knownOrder = kept
  }
  const probeMs = ctx.cfg.probeEveryHb * ctx.cfg.hbMs
  return sample(ctx, kept, max, (id) => ctx.known[id]!.next > now || skip(id)).map((id) => {
    const k = ctx.known[id]!
    k.next = now + Math.min(ctx.cfg.knownBackoffMaxHb * ctx.cfg.hbMs, probeMs * 2 ** k.tries)
    k.tries = Math.min(k.tries + 1, 30)
    return k.node
  })
}

/** What the checkpoint keeps: the list we hold, then the most recently known peers (at most `max`). */
export function knownForCheckpoint(ctx: FlockContext, max: number): NodeId[] {
  const out: NodeId[] = []
  const ids = new Set<string>()
  for (const id in ctx.list.entries) {
    if (out.length >= max) break
    const e = ctx.list.entries[id]!
    if (e.id === ctx.me.id) continue
    ids.add(e.id)
    out.push({ id: e.id, addr: e.addr, horde: e.horde })
  }
  for (let i = ctx.knownOrder.length - 1; i >= 0 && out.length < max; i--) {
    const k = ctx.known[ctx.knownOrder[i]!]
    if (k !== undefined && !ids.has(k.node.id)) out.push(k.node)
  }
  return out
}
