/**
 * The reeve's rules (original-crux.md §4.3; seed 002), one per node: it keeps the services registered
 * here, forwards their changes to the flock's steward, and caches the catalog the steward pushes, from
 * which it answers lookups and watches. When the steward changes (a new leader, a higher term) it
 * sends everything again, in full; a push from an older steward is ignored. A forward that failed is
 * retried, merged with whatever changed meanwhile. Mutates the context in place. Pure module.
 */
import type { Effect } from '../effects.js'
import type { CatalogEndpoint, Rule } from '../steward/types.js'

export interface ReeveContext {
  /** This reeve's NodeID, address and horde. */
  reeve: string
  address: string
  horde: string
  /** Services registered at this node, by NodeID. */
  local: Record<string, CatalogEndpoint>
  /** The steward to forward to, and its term. */
  steward: { address: string; term: number } | null
  /** Changes not yet confirmed by the steward. */
  pending: { full: boolean; upsert: Record<string, true>; remove: Record<string, true> }
  /** A forward is under way (its changes are in `sending`). */
  sending: { full: boolean; upsert: string[]; remove: string[] } | null
  /** A forward failed: nothing goes until the retry timer fires (or a new steward is named). */
  backoff: boolean
  /** The catalog as pushed, by NodeID. */
  catalog: { term: number; version: number; endpoints: Record<string, CatalogEndpoint>; rules: Rule[] }
  retryMs: number
  /** New changes wait this long for company before a forward goes (0: at once). */
  batchMs: number
  /** The batch timer is armed. */
  holding: boolean
  now: number
}

export function createReeveContext(o: { reeve: string; address: string; horde: string; retryMs?: number; batchMs?: number; now: number; local?: CatalogEndpoint[] }): ReeveContext {
  const local: Record<string, CatalogEndpoint> = Object.create(null)
  for (const e of o.local ?? []) local[e.nodeId] = e
  return {
    reeve: o.reeve,
    address: o.address,
    horde: o.horde,
    local,
    steward: null,
    pending: { full: true, upsert: Object.create(null), remove: Object.create(null) },
    sending: null,
    backoff: false,
    catalog: { term: 0, version: 0, endpoints: Object.create(null), rules: [] },
    retryMs: o.retryMs ?? 1_000,
    batchMs: o.batchMs ?? 0,
    holding: false,
    now: o.now,
  }
}

/** Sends what is pending, if there is a steward and nothing is on its way. */
export function forward(ctx: ReeveContext, out: Effect[]): void {
  if (ctx.steward === null || ctx.sending !== null || ctx.backoff) return
  const p = ctx.pending
  const upsert = Object.keys(p.upsert)
  const remove = Object.keys(p.remove)
  if (!p.full && upsert.length === 0 && remove.length === 0) return
  ctx.sending = { full: p.full, upsert, remove }
  ctx.pending = { full: false, upsert: Object.create(null), remove: Object.create(null) }
  const endpoints = (p.full ? Object.keys(ctx.local) : upsert).filter((id) => ctx.local[id] !== undefined).map((id) => ctx.local[id]!)
  out.push({ type: 'emit', record: { type: 'Forward', to: ctx.steward.address, term: ctx.steward.term, update: { reeve: ctx.reeve, address: ctx.address, horde: ctx.horde, full: p.full, upsert: endpoints, remove: p.full ? [] : remove } } })
}

/**
 * A local change: forwarded at once, or, with a batch window, after it — each forward costs the
 * steward a signed call, and a burst of registrations should cost one. A forward already on its way
 * takes the change with it when it is confirmed.
 */
function changed(ctx: ReeveContext, out: Effect[]): void {
  if (ctx.batchMs === 0) return forward(ctx, out)
  if (ctx.holding || ctx.sending !== null || ctx.steward === null) return
  ctx.holding = true
  out.push({ type: 'timer.set', name: 'batch', ms: ctx.batchMs })
}

/** The batch window is over. */
export function batchDone(ctx: ReeveContext, out: Effect[]): void {
  ctx.holding = false
  forward(ctx, out)
}

export function register(ctx: ReeveContext, e: CatalogEndpoint, out: Effect[]): void {
  ctx.local[e.nodeId] = e
  delete ctx.pending.remove[e.nodeId]
  ctx.pending.upsert[e.nodeId] = true
  out.push({ type: 'persist', key: `local${e.nodeId}`, value: e })
  changed(ctx, out)
}

export function deregister(ctx: ReeveContext, nodeId: string, out: Effect[]): void {
  if (ctx.local[nodeId] === undefined) return
  delete ctx.local[nodeId]
  delete ctx.pending.upsert[nodeId]
  ctx.pending.remove[nodeId] = true
  out.push({ type: 'persist', key: `local${nodeId}`, value: null })
  changed(ctx, out)
}

/** The heartbeater judged a local service up or down. */
export function serviceState(ctx: ReeveContext, nodeId: string, state: 'up' | 'down', out: Effect[]): void {
  const e = ctx.local[nodeId]
  if (e === undefined || e.state === state) return
  ctx.local[nodeId] = { ...e, state }
  ctx.pending.upsert[nodeId] = true
  changed(ctx, out)
}

/**
 * The flock names its steward (the runtime has registered with it). Another address is another
 * steward, whatever its term: the flock decides who leads. At the same address only a higher term is
 * a new one (that node leads again). A new steward gets everything again.
 */
export function stewardIs(ctx: ReeveContext, address: string, term: number, out: Effect[]): void {
  const s = ctx.steward
  if (s !== null && s.address === address && term <= s.term) return
  ctx.steward = { address, term }
  ctx.pending.full = true
  ctx.backoff = false
  forward(ctx, out)
}

/** The steward confirmed the forward under way. */
export function forwarded(ctx: ReeveContext, out: Effect[]): void {
  ctx.sending = null
  forward(ctx, out)
}

/** The forward under way failed: its changes go back to pending, and a retry is timed. */
export function forwardFailed(ctx: ReeveContext, out: Effect[]): void {
  const s = ctx.sending
  ctx.sending = null
  if (s === null) return
  if (s.full) ctx.pending.full = true
  for (const id of s.upsert) if (ctx.pending.remove[id] === undefined) ctx.pending.upsert[id] = true
  for (const id of s.remove) if (ctx.pending.upsert[id] === undefined) ctx.pending.remove[id] = true
  ctx.backoff = true
  out.push({ type: 'timer.set', name: 'retry', ms: ctx.retryMs })
}

/** The retry time is up. */
export function retry(ctx: ReeveContext, out: Effect[]): void {
  ctx.backoff = false
  forward(ctx, out)
}

/** A push from the steward: the whole catalog of its horde, or what changed since version `base`. */
export interface CatalogPush {
  term: number
  version: number
  full: boolean
  base: number
  endpoints: CatalogEndpoint[]
  remove: string[]
  rules: Rule[]
}

/**
 * Takes a push from the current steward: a whole catalog replaces ours; a delta applies only on top
 * of the version it was made from. Anything else is ignored, and the runtime's answer (our version)
 * tells the steward to send the whole catalog next.
 */
export function pushed(ctx: ReeveContext, p: CatalogPush, out: Effect[]): boolean {
  const c = ctx.catalog
  if (ctx.steward === null || p.term !== ctx.steward.term) return false
  if (p.full) {
    if (p.term === c.term && p.version < c.version) return false
    const endpoints: Record<string, CatalogEndpoint> = Object.create(null)
    for (const e of p.endpoints) endpoints[e.nodeId] = e
    ctx.catalog = { term: p.term, version: p.version, endpoints, rules: p.rules }
  } else {
    if (p.term !== c.term || p.base !== c.version) return false
    for (const e of p.endpoints) c.endpoints[e.nodeId] = e
    for (const id of p.remove) delete c.endpoints[id]
    c.version = p.version
    c.rules = p.rules
  }
  // Watchers get what changed; after a whole catalog, everything.
  out.push({ type: 'emit', record: { type: 'CatalogChanged', term: p.term, version: p.version, full: p.full, ...(p.full ? {} : { changed: p.endpoints.map((e) => e.nodeId).concat(p.remove) }) } })
  return true
}
