/**
 * What the strew follower needs to know of the flock (machines/follower.machine.ts): whether this node
 * leads, who leads, the steward the leader announces, and — when this node holds the member list (it
 * leads, or members copy the list) — where each member is.
 * After each flock step the edge computes the view and sends it to the follower only when it changed,
 * so the follower's mailbox (and the journal) holds one event per change, not one per flock step.
 */
import { isLeader, servicesOf } from '../../machines/flock/context.js'
import type { FlockContext } from '../../machines/flock/types.js'
import type { FlockView, Member } from '../../machines/strew/events.js'

export type { FlockView, Member } from '../../machines/strew/events.js'

/** The host part of a flock address (`host:port`, `[v6]:port`, or a bare simulator name). */
export function hostOf(addr: string): string {
  const colon = addr.lastIndexOf(':')
  if (colon < 0) return addr
  const host = addr.slice(0, colon)
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}

/** Whether `ctx` holds the member list: the leader does, and members do when they copy it (list sync). */
const holdsList = (ctx: FlockContext, leading: boolean): boolean => leading || ctx.cfg.listSync

/** The view of `ctx` now. */
export function flockViewOf(ctx: FlockContext): FlockView {
  const leading = isLeader(ctx)
  const listHeld = holdsList(ctx, leading)
  const members: Member[] = []
  if (listHeld) {
    for (const node of Object.keys(ctx.list.entries).sort()) members.push({ node, host: hostOf(ctx.list.entries[node]!.addr) })
  }
  const view: FlockView = { type: 'flock.view', leading, leader: ctx.leader.id, steward: servicesOf(ctx).steward, members, listHeld }
  if (ctx.lost.id !== '') view.lost = { node: ctx.lost.id, until: ctx.lost.until }
  return view
}

/**
 * Remembers the last view sent; `next(ctx)` is the view to send, or null when nothing changed. The
 * flock steps many times a heartbeat: the check is a few fields and the list's version, not the list.
 */
export function createFlockViewFeed(): { next(ctx: FlockContext): FlockView | null } {
  let last = ''
  return {
    next(ctx) {
      const leading = isLeader(ctx)
      const key = `${leading ? 1 : 0} ${ctx.leader.id} ${servicesOf(ctx).steward} ${ctx.lost.id} ${holdsList(ctx, leading) ? `${ctx.list.version} ${ctx.list.size} ${ctx.list.lo} ${ctx.list.hi}` : ''}`
      if (key === last) return null
      last = key
      return flockViewOf(ctx)
    },
  }
}
