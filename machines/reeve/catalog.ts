/**
 * The catalog a reeve holds (pushed by its steward) and the watches it serves from it. A push is taken
 * only from the steward the follower named, by its key; a whole catalog replaces ours, a delta applies
 * only on top of the version it was made from, and the answer (the version we hold) tells the steward
 * to send the whole catalog next after a gap. A push that drops endpoints of ours means the steward
 * retired this node (it was unreachable): everything goes again. A catalog never goes back to an older
 * (term, version). Each watch gets what its rules let it see of what is served (without the nodes the
 * flock no longer lists, machines/reeve/served.ts): a snapshot first, then what changed. Mutates the context in place. Pure module.
 */
import type { Effect } from '../effects.js'
import { refuse, send } from '../strew/act.js'
import { actorOf } from '../strew/addresses.js'
import { IdFormatError, parseNodeId } from '../strew/ids.js'
import type { CatalogPush, CatalogWatch, Inbound } from '../strew/events.js'
import { serviceOf, visibleTo } from '../steward/rules.js'
import type { CatalogEndpoint } from '../steward/types.js'
import { hasPending, type ReeveContext, type Watcher } from './rules.js'
import { listedOf, servedChanges, servedEndpoint, servedEndpoints } from './served.js'

/** What became of a push: taken (and what it changed: null for everything), and whether it raised the steward's term or is behind the catalog held. */
type Applied = { taken: boolean; changed: string[] | null; raised?: true; behind?: true }

const notTaken: Applied = { taken: false, changed: null }

/**
 * Takes a push if it is the current steward's and applies it. A catalog never goes back to an older
 * (term, version): a push under a term below the catalog's is not taken, and when it is the steward's
 * own term (it was named with a lower term than a steward followed before) the node must register
 * again to make it raise (`behind`). A whole push of a term above the steward's is its registry having
 * raised the term (machines/registry/rules.ts `raiseAbove`): taken, and forwards go under it (`raised`).
 */
function apply(ctx: ReeveContext, p: CatalogPush): Applied {
  const c = ctx.catalog
  const s = ctx.steward
  if (s === null) return notTaken
  if (p.term < c.term) return p.term >= s.term ? { ...notTaken, behind: true } : notTaken
  if (p.term < s.term || (p.term > s.term && !p.full)) return notTaken
  let raised: Applied['raised']
  if (p.term > s.term) {
    s.term = p.term
    raised = true
  }
  if (p.full) {
    if (p.term === c.term && p.version < c.version) return notTaken
    const endpoints: Record<string, CatalogEndpoint> = {}
    for (const e of p.endpoints) endpoints[e.nodeId] = e
    ctx.catalog = { term: p.term, version: p.version, endpoints, rules: p.rules }
    return { taken: true, changed: null, ...(raised ? { raised } : {}) }
  }
  if (p.term !== c.term || p.base !== c.version) return notTaken
  for (const e of p.endpoints) c.endpoints[e.nodeId] = e
  for (const id of p.remove) delete c.endpoints[id]
  c.version = p.version
  c.rules = p.rules
  return { taken: true, changed: p.endpoints.map((e) => e.nodeId).concat(p.remove) }
}

/** A push from the steward: refused unless its caller is the steward's key; answered with the version held. */
export function pushed(ctx: ReeveContext, ev: Inbound<CatalogPush>, out: Effect[]): void {
  if (ctx.steward === null || ev.caller !== ctx.steward.keyId) return refuse(out, ev, 'PERMISSION_DENIED', 'call refused')
  const r = apply(ctx, ev)
  send(out, ev.from, { type: 'catalog.pushed', id: ev.id, version: ctx.catalog.version })
  const follower = actorOf(ctx.node, 'follower')
  if (r.behind) send(out, follower, { type: 'reeve.behind', address: ctx.steward.address, term: ctx.catalog.term })
  if (r.raised) send(out, follower, { type: 'reeve.raised', address: ctx.steward.address, term: ctx.steward.term })
  if (!r.taken) return
  if (lostOurs(ctx, ev)) {
    ctx.pending.full = true
    out.push({ type: 'log', level: 'warn', msg: 'the steward dropped endpoints of this node; sending everything again', fields: { steward: ctx.steward.address } })
  }
  for (const from of Object.keys(ctx.watchers)) tell(ctx, from, r.changed, out)
}

/**
 * The steward dropped endpoints we still have and have sent (it retired this node while it could not
 * hear from it): everything must go again. Only judged when nothing is on its way or waiting, so a
 * push made before our last forward is not mistaken for a loss.
 */
function lostOurs(ctx: ReeveContext, p: CatalogPush): boolean {
  if (ctx.sending !== null || hasPending(ctx)) return false
  if (p.full) return Object.keys(ctx.local).some((id) => ctx.catalog.endpoints[id] === undefined)
  return p.remove.some((id) => ctx.local[id] !== undefined)
}

/** What watcher `w` may see of `endpoints`. */
function visible(ctx: ReeveContext, w: Watcher, endpoints: CatalogEndpoint[]): CatalogEndpoint[] {
  if (w.as === null) return w.api === '' ? endpoints : endpoints.filter((e) => e.api === w.api)
  return visibleTo(endpoints, ctx.catalog.rules, w.as, w.api)
}

/** Tells the watcher at `from` what changed (`changed` null: everything, as a snapshot), of what is served. */
function tell(ctx: ReeveContext, from: string, changed: string[] | null, out: Effect[]): void {
  const w = ctx.watchers[from]!
  const cat = ctx.catalog
  if (changed === null) {
    send(out, from, { type: 'catalog.snapshot', id: w.id, endpoints: visible(ctx, w, servedEndpoints(cat, ctx.listed)), version: cat.version })
    return
  }
  // Only the changed endpoints are judged, not the whole catalog again.
  const now = changed.map((id) => servedEndpoint(cat, ctx.listed, id))
  const endpoints = visible(ctx, w, now.filter((e): e is CatalogEndpoint => e !== undefined))
  const removed = changed.filter((_id, i) => now[i] === undefined)
  if (endpoints.length > 0 || removed.length > 0) send(out, from, { type: 'catalog.delta', id: w.id, endpoints, removed, version: cat.version })
}

/**
 * The nodes the local flock lists now (null: not known): the endpoints of a node no longer listed
 * stop being served, those of one listed again are served again; each watcher gets a delta of them.
 */
export function members(ctx: ReeveContext, nodes: string[] | null, out: Effect[]): void {
  const after = listedOf(nodes)
  const changed = servedChanges(ctx.catalog, ctx.listed, after)
  ctx.listed = after
  ctx.listedVersion++
  if (changed.length === 0) return
  for (const from of Object.keys(ctx.watchers)) tell(ctx, from, changed, out)
}

/** A watch starts: local callers only; a snapshot at once. */
export function watch(ctx: ReeveContext, ev: Inbound<CatalogWatch>, out: Effect[]): void {
  if (ev.caller !== ctx.keyId) return refuse(out, ev, 'PERMISSION_DENIED', 'call refused')
  let as: Watcher['as'] = null
  if (ev.nodeId !== undefined && ev.nodeId !== '') {
    try {
      as = { horde: parseNodeId(ev.nodeId).horde, service: serviceOf(ev.nodeId) }
    } catch (err) {
      if (err instanceof IdFormatError) return refuse(out, ev, 'INVALID_ARGUMENT', `node_id: ${err.message}`)
      throw err
    }
  }
  ctx.watchers[ev.from] = { id: ev.id, as, api: ev.api ?? '' }
  tell(ctx, ev.from, null, out)
}

/** A watch's client went away. */
export function unwatch(ctx: ReeveContext, from: string): void {
  delete ctx.watchers[from]
}
