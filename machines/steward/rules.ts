/**
 * The steward's rules (original-crux.md §4.5; seed 002): it keeps the catalog of endpoints that the
 * reeves send, per horde, and after each batch of updates pushes to every reeve its horde's catalog
 * and rules. A reeve's full update replaces whatever it sent before, which is how a new steward (after
 * the leader changed) rebuilds the catalog: reeves re-send everything when they see a new term.
 * Mutates the context in place and pushes effects. Pure module.
 */
import type { Effect } from '../effects.js'
import type { CatalogEndpoint, EndpointUpdate, Rule } from './types.js'

export interface StewardContext {
  term: number
  version: number
  rules: Rule[]
  batchMs: number
  endpoints: Record<string, CatalogEndpoint & { reeve: string }>
  /** Each reeve, and the catalog version last pushed to it (-1: it gets the whole catalog next). */
  reeves: Record<string, { address: string; horde: string; version: number }>
  /** Endpoints changed since the last push, with the hordes they were or are in. */
  changed: Record<string, string[]>
  /** The version the last push carried. */
  pushedVersion: number
  /** A push is scheduled. */
  dirty: boolean
  now: number
}

/** The original's defaults (registrydb allowed.go, as the reeve comment summarises them). */
export const DEFAULT_RULES: Rule[] = [
  { horde: '*', from: 'Pastiche', to: 'Pastiche' },
  { horde: '*', from: 'Steward', to: 'Reeve' },
  { horde: '*', from: 'Reeve', to: 'Steward' },
]

export function createStewardContext(term: number, rules: Rule[] | undefined, batchMs: number, now: number): StewardContext {
  return { term, version: 0, rules: rules ?? DEFAULT_RULES, batchMs, endpoints: Object.create(null), reeves: Object.create(null), changed: Object.create(null), pushedVersion: 0, dirty: false, now }
}

const sameEndpoint = (a: CatalogEndpoint, b: CatalogEndpoint) =>
  a.netId === b.netId && a.horde === b.horde && a.api === b.api && a.instance === b.instance && a.address === b.address && a.state === b.state && a.keyId === b.keyId

/** Applies one reeve's update; schedules a push if the catalog changed. */
export function update(ctx: StewardContext, u: EndpointUpdate, out: Effect[]): void {
  const known = ctx.reeves[u.reeve]
  const reeveChanged = known === undefined || known.address !== u.address || known.horde !== u.horde
  // A reeve that sends everything again (new to us, or restarted) gets everything back.
  ctx.reeves[u.reeve] = { address: u.address, horde: u.horde, version: reeveChanged || u.full ? -1 : known.version }
  let changed = false
  const touch = (id: string, horde: string) => {
    const hordes = (ctx.changed[id] ??= [])
    if (!hordes.includes(horde)) hordes.push(horde)
  }
  const drop = (id: string) => {
    touch(id, ctx.endpoints[id]!.horde)
    delete ctx.endpoints[id]
    changed = true
  }
  if (u.full) {
    const keep = new Set(u.upsert.map((e) => e.nodeId))
    for (const id in ctx.endpoints) if (ctx.endpoints[id]!.reeve === u.reeve && !keep.has(id)) drop(id)
  }
  for (const e of u.upsert) {
    const old = ctx.endpoints[e.nodeId]
    if (old !== undefined && old.reeve === u.reeve && sameEndpoint(old, e)) continue
    if (old !== undefined) touch(e.nodeId, old.horde)
    ctx.endpoints[e.nodeId] = { ...e, reeve: u.reeve }
    touch(e.nodeId, e.horde)
    changed = true
  }
  for (const id of u.remove) {
    if (ctx.endpoints[id]?.reeve !== u.reeve) continue // a reeve removes only what it registered
    drop(id)
  }
  if (changed) ctx.version++
  // A reeve owed the whole catalog gets it even if nothing changed.
  if ((changed || ctx.reeves[u.reeve]!.version === -1) && !ctx.dirty) {
    ctx.dirty = true
    out.push({ type: 'timer.set', name: 'push', ms: ctx.batchMs })
  }
}

const ruleApplies = (r: Rule, horde: string) => r.horde === '*' || r.horde === horde

/** The endpoints of `horde` (the catalog a reeve of that horde gets). */
export function catalogOf(ctx: StewardContext, horde: string): CatalogEndpoint[] {
  const out: CatalogEndpoint[] = []
  for (const id of Object.keys(ctx.endpoints).sort()) {
    const { reeve: _reeve, ...e } = ctx.endpoints[id]!
    if (e.horde === horde) out.push(e)
  }
  return out
}

/** What changed in `horde` since the last push: endpoints to upsert, NodeIDs to remove. */
function deltaOf(ctx: StewardContext, horde: string): { endpoints: CatalogEndpoint[]; remove: string[] } {
  const endpoints: CatalogEndpoint[] = []
  const remove: string[] = []
  for (const id of Object.keys(ctx.changed).sort()) {
    if (!ctx.changed[id]!.includes(horde)) continue
    const e = ctx.endpoints[id]
    if (e !== undefined && e.horde === horde) {
      const { reeve: _reeve, ...plain } = e
      endpoints.push(plain)
    } else remove.push(id)
  }
  return { endpoints, remove }
}

/**
 * Pushes every reeve its horde's changes since the last push (as emits the runtime sends over gRPC):
 * a reeve that holds the last push's version gets only the delta; one that is new, sent everything
 * again, or missed a push gets its horde's whole catalog.
 */
export function push(ctx: StewardContext, out: Effect[]): void {
  ctx.dirty = false
  const full = new Map<string, CatalogEndpoint[]>()
  const delta = new Map<string, { endpoints: CatalogEndpoint[]; remove: string[] }>()
  for (const reeve of Object.keys(ctx.reeves).sort()) {
    const r = ctx.reeves[reeve]!
    const rules = ctx.rules.filter((x) => ruleApplies(x, r.horde))
    const base = { type: 'PushCatalog', reeve, to: r.address, term: ctx.term, version: ctx.version, rules }
    if (r.version === ctx.pushedVersion && r.version >= 0) {
      if (r.version === ctx.version) continue
      let d = delta.get(r.horde)
      if (d === undefined) delta.set(r.horde, (d = deltaOf(ctx, r.horde)))
      out.push({ type: 'emit', record: { ...base, full: false, base: r.version, endpoints: d.endpoints, remove: d.remove } })
    } else {
      let endpoints = full.get(r.horde)
      if (endpoints === undefined) full.set(r.horde, (endpoints = catalogOf(ctx, r.horde)))
      out.push({ type: 'emit', record: { ...base, full: true, base: 0, endpoints, remove: [] } })
    }
    r.version = ctx.version
  }
  ctx.pushedVersion = ctx.version
  ctx.changed = Object.create(null)
}

/** A push did not reach a reeve, or it could not apply it: it gets the whole catalog next. */
export function pushFailed(ctx: StewardContext, reeve: string, out: Effect[]): void {
  const r = ctx.reeves[reeve]
  if (r === undefined || r.version === -1) return
  r.version = -1
  if (!ctx.dirty) {
    ctx.dirty = true
    out.push({ type: 'timer.set', name: 'push', ms: ctx.batchMs })
  }
}

/**
 * What a caller may see (ReeveService.GetCatalog): endpoints of the services its rules allow it to
 * call, in its horde. Used by reeves on the pushed catalog; here so the steward and the reeves judge
 * alike.
 */
export function visibleTo(endpoints: readonly CatalogEndpoint[], rules: readonly Rule[], caller: { horde: string; service: string }, api = ''): CatalogEndpoint[] {
  const to = new Set(rules.filter((r) => ruleApplies(r, caller.horde) && r.from === caller.service).map((r) => r.to))
  return endpoints.filter((e) => e.horde === caller.horde && to.has(serviceOf(e.nodeId)) && (api === '' || e.api === api))
}

/** The service field of a NodeID (/bloc/horde/node/service/api). */
export const serviceOf = (nodeId: string): string => nodeId.split('/')[4] ?? ''
