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
  reeves: Record<string, { address: string; horde: string }>
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
  return { term, version: 0, rules: rules ?? DEFAULT_RULES, batchMs, endpoints: Object.create(null), reeves: Object.create(null), dirty: false, now }
}

const sameEndpoint = (a: CatalogEndpoint, b: CatalogEndpoint) =>
  a.netId === b.netId && a.horde === b.horde && a.api === b.api && a.instance === b.instance && a.address === b.address && a.state === b.state && a.keyId === b.keyId

/** Applies one reeve's update; schedules a push if the catalog changed. */
export function update(ctx: StewardContext, u: EndpointUpdate, out: Effect[]): void {
  const known = ctx.reeves[u.reeve]
  const reeveChanged = known === undefined || known.address !== u.address || known.horde !== u.horde
  ctx.reeves[u.reeve] = { address: u.address, horde: u.horde }
  let changed = false
  if (u.full) {
    const keep = new Set(u.upsert.map((e) => e.nodeId))
    for (const id in ctx.endpoints) {
      if (ctx.endpoints[id]!.reeve === u.reeve && !keep.has(id)) {
        delete ctx.endpoints[id]
        changed = true
      }
    }
  }
  for (const e of u.upsert) {
    const old = ctx.endpoints[e.nodeId]
    if (old !== undefined && old.reeve === u.reeve && sameEndpoint(old, e)) continue
    ctx.endpoints[e.nodeId] = { ...e, reeve: u.reeve }
    changed = true
  }
  for (const id of u.remove) {
    if (ctx.endpoints[id]?.reeve !== u.reeve) continue // a reeve removes only what it registered
    delete ctx.endpoints[id]
    changed = true
  }
  if (changed) ctx.version++
  // A new reeve gets the catalog even if nothing changed: it has nothing yet.
  if ((changed || reeveChanged) && !ctx.dirty) {
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

/** Pushes every reeve its horde's catalog and rules (as emits the runtime sends over gRPC). */
export function push(ctx: StewardContext, out: Effect[]): void {
  ctx.dirty = false
  const byHorde = new Map<string, CatalogEndpoint[]>()
  for (const reeve of Object.keys(ctx.reeves).sort()) {
    const r = ctx.reeves[reeve]!
    let endpoints = byHorde.get(r.horde)
    if (endpoints === undefined) byHorde.set(r.horde, (endpoints = catalogOf(ctx, r.horde)))
    out.push({ type: 'emit', record: { type: 'PushCatalog', reeve, to: r.address, term: ctx.term, version: ctx.version, endpoints, rules: ctx.rules.filter((x) => ruleApplies(x, r.horde)) } })
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
