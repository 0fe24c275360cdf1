/**
 * The registry's rules (seed 004; original-crux.md §4.4): how a node's key gets on the local steward's
 * whitelist. The edge has opened the sealed request (factor 1: the flock secret) and checked it is for
 * this steward and fresh; here the protocol: the key must be the named node's own (a node id is made
 * from its key), the NetID must name that node, the node must be a member of the flock this node
 * leads, and the call-back host must be the host the flock knows it by (else a holder of the secret
 * could make the steward call any address). Then BUSY with the steward's key, the call-back (factor
 * 2: keys.pull, retried until a deadline), and DONE once the edge saw the key proven; the key is
 * persisted under `whitelist/<keyId>`. Forget drops a node's keys. Mutates the context in place.
 * Pure module.
 */
import type { Effect } from '../effects.js'
import { refuse, send } from '../strew/act.js'
import { actorOf, grpcAt, REEVE_REV } from '../strew/addresses.js'
import { IdFormatError, netIdAddress, parseKeyId, parseNetId, parseNodeId } from '../strew/ids.js'
import type { Base64, Inbound, Member, RegistryForget, RegistryInput, RegistryRegister } from '../strew/events.js'

/** A registration waiting for its call-back. */
export interface Pending {
  /** The register call: where its answers go, and its id. */
  from: string
  id: number
  node: string
  keyId: string
  publicKey: Base64
  callback: string
  challenge: Base64
  /** Give up after this (registry clock). */
  deadline: number
  /** The highest steward term the node has followed. */
  seenTerm: number
}

export interface RegistryContext {
  node: string
  /** The local steward's term while active; 0 while idle. */
  term: number
  stewardKeyId: string
  stewardKey: Base64
  /** The whitelisted KeyIDs. */
  keys: Record<string, true>
  /** The flock's members by node id → flock host (null: not told yet). */
  members: Record<string, string> | null
  /** Call-backs on their way or waiting to retry, by keys.pull id. */
  pending: Record<string, Pending>
  callbackMs: number
  retryMs: number
  nextId: number
  now: number
}

export function createRegistryContext(o: RegistryInput): RegistryContext {
  const keys: Record<string, true> = {}
  for (const k of o.keys) keys[k] = true
  return { node: o.node, term: 0, stewardKeyId: o.stewardKeyId, stewardKey: o.stewardKey, keys, members: null, pending: {}, callbackMs: o.callbackMs ?? 10_000, retryMs: o.retryMs ?? 500, nextId: 0, now: o.now }
}

export function setMembers(ctx: RegistryContext, list: Member[]): void {
  ctx.members = {}
  for (const m of list) ctx.members[m.node] = m.host
}

/** `parse(s)`, or null when `s` is not such an id. */
function parsed<T>(parse: (s: string) => T, s: string): T | null {
  try {
    return parse(s)
  } catch (err) {
    if (err instanceof IdFormatError) return null
    throw err
  }
}

/** Why registration `r` may not go ahead, or null. */
export function whyNot(ctx: RegistryContext, r: RegistryRegister): string | null {
  // A node id is made from its key: a key registers for its own node only, so a holder of the secret
  // cannot put its key on the whitelist as another node's and then speak for it.
  if (r.keyNode !== r.node) return "the key is not the named node's"
  if (parsed(parseNodeId, r.nodeId)?.node !== r.node) return 'the NodeID names another node'
  const net = parsed(parseNetId, r.netId)
  if (net === null) return 'the NetID is not /rev/principal/net/host:port'
  if (net.query || net.principal !== r.node) return 'the NetID names another node'
  if (netIdAddress(net) !== r.callback || net.host !== r.netHost) return "the call-back is not the NetID's address"
  const key = parsed(parseKeyId, r.keyId)
  if (key === null || key.query || key.rev !== REEVE_REV || key.principal !== r.node) return "the KeyID is not a reeve key of the node's"
  // The steward leads the flock: its member list says where each node is, and only there is called back.
  const host = ctx.members?.[r.node]
  if (host === undefined) return "the node is not a member of the steward's flock"
  if (net.host !== host) return `the call-back host ${net.host} is not the node's flock host ${host}`
  return null
}

function pull(ctx: RegistryContext, p: Pending, out: Effect[]): void {
  const id = ++ctx.nextId
  ctx.pending[String(id)] = p
  send(out, grpcAt(p.callback, 'reeve'), { type: 'keys.pull', id, keyId: p.keyId, challenge: p.challenge })
}

/** A registration: refused, or BUSY and the call-back. */
export function register(ctx: RegistryContext, r: Inbound<RegistryRegister>, out: Effect[]): void {
  const why = whyNot(ctx, r)
  if (why !== null) {
    out.push({ type: 'log', level: 'warn', msg: 'registry refused a sealed request', fields: { why, node: r.node, netId: r.netId } })
    return send(out, r.from, { type: 'registry.failed', id: r.id, error: 'registration refused' })
  }
  send(out, r.from, { type: 'registry.busy', id: r.id, stewardKeyId: ctx.stewardKeyId, stewardKey: ctx.stewardKey, stewardNode: ctx.node })
  pull(ctx, { from: r.from, id: r.id, node: r.node, keyId: r.keyId, publicKey: r.publicKey, callback: r.callback, challenge: r.challenge, deadline: ctx.now + ctx.callbackMs, seenTerm: r.seenTerm ?? 0 }, out)
}

/** The call-back answered: the key goes on the whitelist (once) if the edge saw it proven. */
export function pulled(ctx: RegistryContext, id: number, proven: boolean, out: Effect[]): void {
  const p = ctx.pending[String(id)]
  if (p === undefined) return
  delete ctx.pending[String(id)]
  if (!proven) return send(out, p.from, { type: 'registry.failed', id: p.id, error: 'the reeve did not prove the key' })
  if (ctx.keys[p.keyId] === undefined) {
    ctx.keys[p.keyId] = true
    out.push({ type: 'persist', key: `whitelist/${p.keyId}`, value: p.publicKey })
  }
  raiseAbove(ctx, p.seenTerm, out)
  send(out, p.from, { type: 'registry.done', id: p.id, term: ctx.term, stewardKeyId: ctx.stewardKeyId, stewardKey: ctx.stewardKey, stewardNode: ctx.node })
}

/**
 * A registering node has followed a steward under `seen`, at or above this steward's term: the term
 * goes above it before DONE names it, so the node's catalog never goes back to an older term. (After a
 * partition heals, the merged flock keeps one side's leader, whose term may be the lower one.) The local
 * steward keeps its catalog under the new term and pushes it whole; the follower leads above it next
 * time. Equal counts: two stewards may start under the same clock reading.
 */
export function raiseAbove(ctx: RegistryContext, seen: number, out: Effect[]): void {
  if (!(seen >= ctx.term) || !Number.isSafeInteger(seen + 1)) return
  const term = seen + 1
  ctx.term = term
  send(out, actorOf(ctx.node, 'steward'), { type: 'steward.raise', term })
  send(out, actorOf(ctx.node, 'follower'), { type: 'follower.raised', term })
  out.push({ type: 'log', level: 'info', msg: 'steward term raised above one a registering node followed', fields: { term, seen } })
}

/** The call-back failed: again after `retryMs`, unless that is past the deadline. */
export function pullFailed(ctx: RegistryContext, id: number, out: Effect[]): void {
  const p = ctx.pending[String(id)]
  if (p === undefined) return
  if (ctx.now + ctx.retryMs > p.deadline) {
    delete ctx.pending[String(id)]
    return send(out, p.from, { type: 'registry.failed', id: p.id, error: 'the reeve did not answer' })
  }
  out.push({ type: 'timer.set', name: `pull:${id}`, ms: ctx.retryMs })
}

/** A retry timer: the call-back again, as a new call. */
export function retry(ctx: RegistryContext, name: string, out: Effect[]): void {
  if (!name.startsWith('pull:')) return
  const old = name.slice('pull:'.length)
  const p = ctx.pending[old]
  if (p === undefined) return
  delete ctx.pending[old]
  pull(ctx, p, out)
}

/** No longer the steward: every registration under way fails. */
export function retire(ctx: RegistryContext, out: Effect[]): void {
  for (const id of Object.keys(ctx.pending)) {
    const p = ctx.pending[id]!
    out.push({ type: 'timer.cancel', name: `pull:${id}` })
    send(out, p.from, { type: 'registry.failed', id: p.id, error: 'not the steward' })
  }
  ctx.pending = {}
  ctx.term = 0
}

/** Drops every key of a node. */
export function forget(ctx: RegistryContext, f: Inbound<RegistryForget>, out: Effect[]): void {
  const removed = Object.keys(ctx.keys).filter((k) => parsed(parseKeyId, k)?.principal === f.node).sort()
  if (removed.length === 0) return refuse(out, f, 'NOT_FOUND', `no key of node ${f.node} is on the steward's whitelist`)
  for (const k of removed) {
    delete ctx.keys[k]
    out.push({ type: 'persist', key: `whitelist/${k}`, value: null })
  }
  send(out, f.from, { type: 'registry.forgotten', id: f.id, term: ctx.term, removed })
}
