/**
 * The reeve's forwarding rules (original-crux.md §4.3; seed 002), one per node: it keeps the services
 * registered here and forwards their changes to its steward, one forward at a time, merged. When the
 * steward changes (a new leader, a higher term) or refuses it, it sends everything again, in full. The
 * machine's states say whether a forward may go (reeve.machine.ts); these rules keep the data.
 * Mutates the context in place. Pure module.
 */
import type { Effect } from '../effects.js'
import { send } from '../strew/act.js'
import { actorOf, grpcAt, HEALTH_PORT } from '../strew/addresses.js'
import type { Base64, CallCode, ReeveInput } from '../strew/events.js'
import { copyEndpoint, type CatalogEndpoint, type Rule } from '../steward/types.js'
import type { Listed } from './served.js'

/** A catalog watch (ReeveService.WatchCatalog) being served. */
export interface Watcher {
  id: number
  /** The watching service's horde and service name; null: the node itself (its whole horde). */
  as: { horde: string; service: string } | null
  api: string
}

export interface ReeveContext {
  node: string
  /** This reeve's NodeID, gRPC address, horde and KeyID. */
  reeve: string
  address: string
  horde: string
  keyId: string
  /** Services registered at this node, by NodeID. */
  local: Record<string, CatalogEndpoint>
  /** The steward to forward to, its term and key (whose pushes are taken). */
  steward: { address: string; term: number; keyId: string; key: Base64 } | null
  /** The steward key a registration named (BUSY): its call-back is answered. */
  callback: { keyId: string; key: Base64 } | null
  /** Changes not yet sent. */
  pending: { full: boolean; upsert: Record<string, true>; remove: Record<string, true> }
  /** The forward on its way (state `sending`). */
  sending: { id: number; address: string; term: number; full: boolean; upsert: string[]; remove: string[] } | null
  /** The catalog as pushed, by NodeID. */
  catalog: { term: number; version: number; endpoints: Record<string, CatalogEndpoint>; rules: Rule[] }
  /**
   * The nodes this node's flock lists (null: not known yet, or this node holds no member list):
   * what is served leaves out the endpoints of nodes not listed (machines/reeve/served.ts).
   */
  listed: Listed
  /** Counts the changes of `listed`: what is served changes with it, not only with the catalog's version. */
  listedVersion: number
  /** Catalog watches by their `from`. */
  watchers: Record<string, Watcher>
  retryMs: number
  batchMs: number
  nextId: number
  now: number
}

export function createReeveContext(o: ReeveInput): ReeveContext {
  const local: Record<string, CatalogEndpoint> = {}
  for (const e of o.local ?? []) local[e.nodeId] = e
  return {
    node: o.node,
    reeve: o.reeve,
    address: o.address,
    horde: o.horde,
    keyId: o.keyId,
    local,
    steward: null,
    callback: null,
    pending: { full: true, upsert: {}, remove: {} },
    sending: null,
    catalog: { term: 0, version: 0, endpoints: {}, rules: [] },
    listed: null,
    listedVersion: 0,
    watchers: {},
    retryMs: o.retryMs ?? 1_000,
    batchMs: o.batchMs ?? 0,
    nextId: 0,
    now: o.now,
  }
}

/** grpc.health.v1 follows each local service: what it is now (`gone`: deregistered, forgotten). */
export function health(ctx: ReeveContext, nodeId: string, up: boolean | 'gone', out: Effect[]): void {
  send(out, HEALTH_PORT, { type: 'health.status', service: nodeId, status: up === 'gone' ? 'SERVICE_UNKNOWN' : up ? 'SERVING' : 'NOT_SERVING' })
}

/** At start: every restored registration's health. */
export function restored(ctx: ReeveContext, out: Effect[]): void {
  for (const id of Object.keys(ctx.local).sort()) health(ctx, id, ctx.local[id]!.state === 'up', out)
}

/** Something waits to be sent. */
export const hasPending = (ctx: ReeveContext): boolean =>
  ctx.pending.full || Object.keys(ctx.pending.upsert).length > 0 || Object.keys(ctx.pending.remove).length > 0

/** Sends what is pending to the steward (the caller's state guarantees one is named and nothing is on its way). */
export function forward(ctx: ReeveContext, out: Effect[]): void {
  const s = ctx.steward
  if (s === null) return
  const p = ctx.pending
  const upsert = Object.keys(p.upsert)
  const remove = Object.keys(p.remove)
  const id = ++ctx.nextId
  ctx.sending = { id, address: s.address, term: s.term, full: p.full, upsert, remove }
  ctx.pending = { full: false, upsert: {}, remove: {} }
  const endpoints = (p.full ? Object.keys(ctx.local) : upsert).filter((n) => ctx.local[n] !== undefined).map((n) => ctx.local[n]!)
  send(out, grpcAt(s.address, 'steward'), {
    type: 'endpoints.update',
    id,
    term: s.term,
    update: { reeve: ctx.reeve, address: ctx.address, horde: ctx.horde, full: p.full, upsert: endpoints, remove: p.full ? [] : remove },
  })
}

export function register(ctx: ReeveContext, e: CatalogEndpoint, out: Effect[]): void {
  ctx.local[e.nodeId] = e
  delete ctx.pending.remove[e.nodeId]
  ctx.pending.upsert[e.nodeId] = true
  out.push({ type: 'persist', key: `local${e.nodeId}`, value: e })
}

export function deregister(ctx: ReeveContext, nodeId: string, out: Effect[]): void {
  delete ctx.local[nodeId]
  delete ctx.pending.upsert[nodeId]
  ctx.pending.remove[nodeId] = true
  out.push({ type: 'persist', key: `local${nodeId}`, value: null })
}

/** The heartbeater judged a local service up or down. */
export function serviceState(ctx: ReeveContext, nodeId: string, state: 'up' | 'down', out: Effect[]): void {
  const e = ctx.local[nodeId]
  if (e === undefined) return
  health(ctx, nodeId, state === 'up', out)
  if (e.state === state) return
  const changed = copyEndpoint(e)
  changed.state = state
  ctx.local[nodeId] = changed
  ctx.pending.upsert[nodeId] = true
}

/**
 * Whether the follower names a new steward: another address is another steward, whatever its term
 * (the flock decides who leads); at the same address only a higher term is a new one.
 */
export const isNewSteward = (ctx: ReeveContext, address: string, term: number): boolean =>
  ctx.steward === null || ctx.steward.address !== address || term > ctx.steward.term

/** The follower registered with a steward. A new one gets everything again. */
export function stewardIs(ctx: ReeveContext, s: { address: string; term: number; keyId: string; key: Base64 }): void {
  if (isNewSteward(ctx, s.address, s.term)) ctx.pending.full = true
  else if (s.term < ctx.steward!.term) return
  ctx.steward = { address: s.address, term: s.term, keyId: s.keyId, key: s.key }
}

/** The forward under way is confirmed. */
export function forwarded(ctx: ReeveContext): void {
  ctx.sending = null
}

/**
 * The forward under way failed: its changes go back to pending. A steward that refused us no longer
 * knows us (it restarted, retired, forgot our key, or dropped our node): everything goes again, and the
 * follower registers again.
 */
export function forwardFailed(ctx: ReeveContext, code: CallCode, out: Effect[]): void {
  const s = ctx.sending
  ctx.sending = null
  if (s === null) return
  if (s.full) ctx.pending.full = true
  for (const id of s.upsert) if (ctx.pending.remove[id] === undefined) ctx.pending.upsert[id] = true
  for (const id of s.remove) if (ctx.pending.upsert[id] === undefined) ctx.pending.remove[id] = true
  // Refused for a term the steward has since raised (its whole push under the new one came meanwhile):
  // it still knows us, so the changes simply go again under the new term.
  if (code === 'FAILED_PRECONDITION' && ctx.steward !== null && s.address === ctx.steward.address && s.term < ctx.steward.term) return
  if (code === 'PERMISSION_DENIED' || code === 'FAILED_PRECONDITION') {
    ctx.pending.full = true
    send(out, actorOf(ctx.node, 'follower'), { type: 'reeve.refused', address: s.address, term: s.term, code })
  }
}

/** The failed forward went to the steward still named (else a new one is waiting: no back-off). */
export const failedAtCurrent = (ctx: ReeveContext): boolean =>
  ctx.steward !== null && ctx.sending !== null && ctx.sending.address === ctx.steward.address && ctx.sending.term === ctx.steward.term
