/**
 * The follower's rules: how a node follows what its flock says. Two concerns, each a region of the
 * machine (follower.machine.ts):
 *
 * - Leading: once this node has led for the settle window, its steward and registry start under a new
 *   term (its clock, always above the last one: reeves take a higher term at the same address as a new
 *   steward), and get the member list while it leads; they retire when it stops leading.
 * - Following: once the steward the flock names (address, leader) has held for the settle window, the
 *   node registers with it (two factors, machines/registry/rules.ts), accepts it only if its key is the
 *   flock leader's (a node id is made from its key, so a holder of the secret cannot pose as the
 *   steward), and tells the reeve where to forward and whose pushes to take. A failed registration is
 *   retried each heartbeat; a refusal reported by the reeve means registering again. A registration
 *   tells the highest steward term the node has followed, so the steward raises its own above it
 *   (after a partition heals, the merged flock may keep the steward of the lower term).
 * - Liveness: the reeve is told the nodes the flock lists, and serves only their endpoints.
 *
 * While a flock forms, a node may lead alone for a moment and the steward named changes several times a
 * second: acting on each cost 20 converging fulcrums 0.1–0.2 s of CPU apiece, hence the window.
 * Mutates the context in place. Pure module.
 */
import type { Effect } from '../effects.js'
import { send } from '../strew/act.js'
import { actorOf, grpcAt } from '../strew/addresses.js'
import type { Base64, FlockView, FollowerInput, Member } from '../strew/events.js'

/** A steward as the flock names it: its gRPC address and the leader whose it is. */
export interface Named {
  address: string
  leader: string
}

export interface FollowerContext {
  node: string
  nodeId: string
  netId: string
  publicKey: Base64
  hbMs: number
  settleMs: number
  /** The last term this node's steward had (a new one is above it). */
  lastTerm: number
  /**
   * The highest steward term this node has followed: DONE's term, and a term its reeve took a push of
   * or holds a catalog of. A registration carries it, so that a steward at or below it raises its term
   * first and the reeve's catalog never goes back.
   */
  seenTerm: number
  /** The members as last sent to the steward and registry (a key to compare). */
  sentMembers: string
  /** The latest view's members. */
  members: Member[]
  /** The node set last sent to the reeve (a key to compare; '-' : not known). */
  reeveMembers: string
  /** What the flock names, and since when (state `settling` of the follow region). */
  candidate: (Named & { since: number }) | null
  /** What the node registers, or registered, with. */
  target: Named | null
  /** The registration under way: its call id, and the steward key BUSY named. */
  call: { id: number; busy: { keyId: string; key: Base64 } | null } | null
  /** The steward registered with. */
  steward: (Named & { term: number; keyId: string; key: Base64 }) | null
  nextId: number
  now: number
}

export function createFollowerContext(o: FollowerInput): FollowerContext {
  return {
    node: o.node,
    nodeId: o.nodeId,
    netId: o.netId,
    publicKey: o.publicKey,
    hbMs: o.hbMs,
    settleMs: o.settleMs ?? 2 * o.hbMs,
    lastTerm: 0,
    seenTerm: 0,
    sentMembers: '',
    members: [],
    reeveMembers: '-',
    candidate: null,
    target: null,
    call: null,
    steward: null,
    nextId: 0,
    now: o.now,
  }
}

const membersKey = (members: Member[]) =>
  members
    .map((m) => `${m.node}@${m.host}`)
    .sort()
    .join(' ')

/** What the view names ('' steward: nothing). */
export const namedBy = (v: FlockView): Named | null => (v.steward === '' ? null : { address: v.steward, leader: v.leader })

export const sameNamed = (a: Named | null, b: Named | null): boolean => a !== null && b !== null && a.address === b.address && a.leader === b.leader

/**
 * The reeve serves only the endpoints of nodes the flock lists: it gets the node set whenever it
 * changes; null (nothing left out) when this node holds no list (a member that copies none). A list
 * without this node in it is one being copied (a member switching leaders starts its copy afresh): the
 * last set stays, since serving everything meanwhile would bring a dead leader's services back; less
 * the leader the flock just gave up on, if it names one: a node suspecting its leader often joins
 * the flock of a node that already started over, and the copy took 1–1.5 HB more to arrive, which
 * kept a dead leader's services served past the flock's own judgement.
 */
export function sendReeveMembers(ctx: FollowerContext, v: FlockView, out: Effect[]): void {
  const held = v.listHeld ?? v.leading
  let nodes: string[] | null
  if (held && !v.members.some((m) => m.node === ctx.node)) {
    if (v.lost === undefined || ctx.now >= v.lost.until || ctx.reeveMembers === '-') return
    const lost = v.lost.node
    nodes = ctx.reeveMembers.split(' ').filter((n) => n !== lost)
  } else nodes = held ? v.members.map((m) => m.node).sort() : null
  const key = nodes === null ? '-' : nodes.join(' ')
  if (key === ctx.reeveMembers) return
  ctx.reeveMembers = key
  send(out, actorOf(ctx.node, 'reeve'), { type: 'reeve.members', nodes })
}

// ---- leading ----

/** This node has led for the window: its steward and registry start under a new term. */
export function lead(ctx: FollowerContext, out: Effect[]): void {
  // Above any term it has followed too: its own reeve and those of its former steward's flock take it as new.
  const term = Math.max(ctx.now, ctx.lastTerm + 1, ctx.seenTerm + 1)
  ctx.lastTerm = term
  send(out, actorOf(ctx.node, 'steward'), { type: 'steward.lead', term })
  send(out, actorOf(ctx.node, 'registry'), { type: 'registry.lead', term })
  ctx.sentMembers = ''
  sendMembers(ctx, out)
  out.push({ type: 'log', level: 'info', msg: 'leading: steward started', fields: { term } })
}

/** While leading: the member list, when it changed. */
export function sendMembers(ctx: FollowerContext, out: Effect[]): void {
  const key = membersKey(ctx.members)
  if (key === ctx.sentMembers) return
  ctx.sentMembers = key
  const members = ctx.members.map((m) => ({ node: m.node, host: m.host }))
  send(out, actorOf(ctx.node, 'steward'), { type: 'steward.members', members })
  send(out, actorOf(ctx.node, 'registry'), { type: 'registry.members', members })
}

/** No longer leading: the steward and registry retire. */
export function retire(ctx: FollowerContext, out: Effect[]): void {
  send(out, actorOf(ctx.node, 'steward'), { type: 'steward.retire' })
  send(out, actorOf(ctx.node, 'registry'), { type: 'registry.retire' })
  ctx.sentMembers = ''
  out.push({ type: 'log', level: 'info', msg: 'no longer leading: steward retired', fields: { term: ctx.lastTerm } })
}

// ---- following ----

/** The flock names `named`: the settle window starts. */
export function settle(ctx: FollowerContext, named: Named, out: Effect[]): void {
  ctx.candidate = { ...named, since: ctx.now }
  ctx.call = null
  out.push({ type: 'timer.set', name: 'settle', ms: ctx.settleMs })
}

/** Registers with the target (sealed by the edge for its leader). */
export function register(ctx: FollowerContext, out: Effect[]): void {
  const t = ctx.target
  if (t === null) return
  const id = ++ctx.nextId
  ctx.call = { id, busy: null }
  send(out, grpcAt(t.address, 'registry'), { type: 'registry.register', id, steward: t.leader, nodeId: ctx.nodeId, netId: ctx.netId, publicKey: ctx.publicKey, seenTerm: seenTermFor(ctx, t) })
}

/**
 * The term a registration with `t` tells: the highest followed, except when registering again with
 * the steward that gave it (same leader, nothing higher seen since): it holds that term or a higher
 * one, and a registry raises on an equal term (two stewards may start under the same clock reading).
 */
export function seenTermFor(ctx: FollowerContext, t: Named): number {
  const s = ctx.steward
  return s !== null && s.leader === t.leader && ctx.seenTerm <= s.term ? 0 : ctx.seenTerm
}

/** The reeve took a whole push of a higher term from the steward at `address`, or holds a catalog of `term`. */
export function seen(ctx: FollowerContext, address: string, term: number, raisedSteward: boolean): void {
  ctx.seenTerm = Math.max(ctx.seenTerm, term)
  if (raisedSteward && ctx.steward !== null && ctx.steward.address === address && term > ctx.steward.term) ctx.steward.term = term
}

/** BUSY: the steward's key, to be accepted only if it is the flock leader's; the reeve is told to answer its call-back. */
export function busy(ctx: FollowerContext, keyId: string, key: Base64, out: Effect[]): void {
  ctx.call!.busy = { keyId, key }
  send(out, actorOf(ctx.node, 'reeve'), { type: 'reeve.registering', keyId, key })
}

/** DONE: the reeve forwards to this steward under its term, and takes its pushes. */
export function registered(ctx: FollowerContext, ev: { term: number; stewardKeyId: string; stewardKey: Base64 }, out: Effect[]): void {
  const t = ctx.target!
  ctx.steward = { ...t, term: ev.term, keyId: ev.stewardKeyId, key: ev.stewardKey }
  ctx.seenTerm = Math.max(ctx.seenTerm, ev.term)
  ctx.call = null
  send(out, actorOf(ctx.node, 'reeve'), { type: 'reeve.steward', address: t.address, term: ev.term, keyId: ev.stewardKeyId, key: ev.stewardKey })
  out.push({ type: 'log', level: 'info', msg: 'registered with steward', fields: { steward: t.address, term: ev.term } })
}

/** The reeve will not take the steward's pushes, of a term below the catalog it holds: it registers again, telling that term. */
export function behind(ctx: FollowerContext, ev: { address: string; term: number }, out: Effect[]): void {
  seen(ctx, ev.address, ev.term, false)
  out.push({ type: 'log', level: 'warn', msg: "the steward's term is below the catalog held; registering again", fields: { steward: ev.address, term: ev.term } })
}

/** The registration failed: again after a heartbeat. */
export function failed(ctx: FollowerContext, why: string, out: Effect[]): void {
  ctx.call = null
  out.push({ type: 'log', level: 'warn', msg: 'registration with steward failed; retrying', fields: { steward: ctx.target?.address ?? '', error: why } })
  out.push({ type: 'timer.set', name: 'retry', ms: ctx.hbMs })
}
