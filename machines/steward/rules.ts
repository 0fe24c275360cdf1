/**
 * The steward's catalog rules (original-crux.md §4.5; seed 002): it keeps the catalog of endpoints the
 * reeves send, per horde, and after each batch of updates pushes every reeve its horde's catalog and
 * rules. A reeve's full update replaces whatever it sent before, which is how a new steward is rebuilt
 * (reeves re-send everything to a new term). A reeve whose node the flock no longer lists is retired:
 * its endpoints leave the catalog at once, and it is forgotten until it sends everything again.
 * Mutates the context in place and pushes effects. Pure module.
 */
import type { Effect } from '../effects.js'
import { send } from '../strew/act.js'
import { grpcAt } from '../strew/addresses.js'
import type { CatalogPushBody, Member } from '../strew/events.js'
import { copyEndpoint, sameTags, type CatalogEndpoint, type EndpointUpdate, type Rule } from './types.js'

/** A reeve the steward pushes to. */
export interface ReeveSlot {
  address: string
  horde: string
  /** Its node (from its NodeID): retired when the flock drops that node. */
  node: string
  /** The catalog version last pushed to it (-1: it gets the whole catalog next). */
  version: number
  /** The push on its way (one at a time per reeve, in order), and those waiting behind it. */
  inflight: { id: number; version: number } | null
  queue: CatalogPushBody[]
  /**
   * Its node left the flock: its endpoints are gone from the catalog and its deltas are refused until
   * it sends everything. While its node is not listed it is pushed only when `owed`: once when retired
   * (a reeve alive after all learns from that push that its endpoints are gone, and sends everything
   * again); once its node is listed again, the whole catalog, then every push as any reeve.
   */
  retired: boolean
  owed: boolean
}

export interface StewardContext {
  node: string
  /** The term while active; 0 while idle. */
  term: number
  version: number
  rules: Rule[]
  batchMs: number
  endpoints: Record<string, CatalogEndpoint & { reeve: string }>
  /** Each reeve by NodeID. */
  reeves: Record<string, ReeveSlot>
  /** Pushes on their way: call id → reeve NodeID. */
  pushes: Record<string, string>
  /** Endpoints changed since the last push, with the hordes they were or are in. */
  changed: Record<string, string[]>
  /** The version the last push carried. */
  pushedVersion: number
  /** The push timer is armed. */
  dirty: boolean
  /** The flock's members by node id while leading (null: not told yet, nothing is retired). */
  members: Record<string, string> | null
  nextId: number
  now: number
}

/** The original's defaults (registrydb allowed.go, as the reeve comment summarises them). */
export const DEFAULT_RULES: Rule[] = [
  { horde: '*', from: 'Pastiche', to: 'Pastiche' },
  { horde: '*', from: 'Steward', to: 'Reeve' },
  { horde: '*', from: 'Reeve', to: 'Steward' },
]

export function createStewardContext(o: { node: string; rules?: Rule[]; batchMs?: number; now: number }): StewardContext {
  return {
    node: o.node,
    term: 0,
    version: 0,
    rules: o.rules ?? DEFAULT_RULES,
    batchMs: o.batchMs ?? 50,
    endpoints: {},
    reeves: {},
    pushes: {},
    changed: {},
    pushedVersion: 0,
    dirty: false,
    members: null,
    nextId: 0,
    now: o.now,
  }
}

/** A new steward under `term`: an empty catalog, rebuilt from the reeves' full re-sends. */
export function lead(ctx: StewardContext, term: number, out: Effect[]): void {
  Object.assign(ctx, { term, version: 0, endpoints: {}, reeves: {}, pushes: {}, changed: {}, pushedVersion: 0, dirty: false })
  out.push({ type: 'timer.cancel', name: 'push' })
  out.push({ type: 'log', level: 'info', msg: 'steward started', fields: { term } })
}

/**
 * The registry raised the term above one a registering node had followed: the catalog, the reeves and
 * their slots stay, and every reeve gets the whole catalog under the new term (a reeve takes a whole
 * push of a higher term from its steward's key, and forwards under it from then on). Pushes already
 * queued carry the old term and are dropped; the one on its way is answered as usual. Updates under
 * the old term are refused (machines/steward/admit.ts): their reeve forwards again under the new one.
 */
export function raise(ctx: StewardContext, term: number, out: Effect[]): void {
  if (!(term > ctx.term)) return
  ctx.term = term
  for (const slot of Object.values(ctx.reeves)) {
    slot.queue = []
    slot.version = -1
  }
  out.push({ type: 'log', level: 'info', msg: 'steward term raised', fields: { term, version: ctx.version } })
  schedule(ctx, out)
}

/** No longer the steward: everything is dropped (a later steward is rebuilt from the reeves). */
export function retire(ctx: StewardContext, out: Effect[]): void {
  out.push({ type: 'log', level: 'info', msg: 'steward retired', fields: { term: ctx.term, version: ctx.version } })
  Object.assign(ctx, { term: 0, endpoints: {}, reeves: {}, pushes: {}, changed: {}, dirty: false })
  out.push({ type: 'timer.cancel', name: 'push' })
}

const sameEndpoint = (a: CatalogEndpoint, b: CatalogEndpoint) =>
  a.netId === b.netId && a.horde === b.horde && a.api === b.api && a.instance === b.instance && a.address === b.address && a.state === b.state && a.keyId === b.keyId && sameTags(a, b)

function touch(ctx: StewardContext, id: string, horde: string): void {
  const hordes = (ctx.changed[id] ??= [])
  if (!hordes.includes(horde)) hordes.push(horde)
}

function drop(ctx: StewardContext, id: string): void {
  touch(ctx, id, ctx.endpoints[id]!.horde)
  delete ctx.endpoints[id]
}

function schedule(ctx: StewardContext, out: Effect[]): void {
  if (ctx.dirty) return
  ctx.dirty = true
  out.push({ type: 'timer.set', name: 'push', ms: ctx.batchMs })
}

/** Applies one reeve's update (already judged admissible); schedules a push if the catalog changed. */
export function update(ctx: StewardContext, u: EndpointUpdate, node: string, out: Effect[]): void {
  const known = ctx.reeves[u.reeve]
  const reeveChanged = known === undefined || known.address !== u.address || known.horde !== u.horde
  // A reeve that sends everything again (new to us, or restarted) gets everything back.
  const version = reeveChanged || u.full ? -1 : known.version
  ctx.reeves[u.reeve] = { address: u.address, horde: u.horde, node, version, inflight: known?.inflight ?? null, queue: known?.queue ?? [], retired: false, owed: false }
  let changed = false
  if (u.full) {
    const keep = new Set(u.upsert.map((e) => e.nodeId))
    for (const id of Object.keys(ctx.endpoints)) {
      if (ctx.endpoints[id]!.reeve !== u.reeve || keep.has(id)) continue
      drop(ctx, id)
      changed = true
    }
  }
  for (const e of u.upsert) {
    const old = ctx.endpoints[e.nodeId]
    if (old !== undefined && old.reeve === u.reeve && sameEndpoint(old, e)) continue
    if (old !== undefined) touch(ctx, e.nodeId, old.horde)
    // One literal, then one property added: every stored endpoint shares a shape (types.ts copyEndpoint).
    const stored = copyEndpoint(e) as CatalogEndpoint & { reeve: string }
    stored.reeve = u.reeve
    ctx.endpoints[e.nodeId] = stored
    touch(ctx, e.nodeId, e.horde)
    changed = true
  }
  for (const id of u.remove) {
    if (ctx.endpoints[id]?.reeve !== u.reeve) continue // a reeve removes only what it registered
    drop(ctx, id)
    changed = true
  }
  if (changed) ctx.version++
  // A reeve owed the whole catalog gets it even if nothing changed.
  if (changed || version === -1) schedule(ctx, out)
}

/**
 * The flock's members now. Every reeve of a node not listed is retired: its endpoints leave the
 * catalog at once (pushed to the others with the next batch). It gets that push too: a reeve alive
 * after all (the node was only unreachable) learns from it that its endpoints are gone and sends
 * everything again (machines/reeve/catalog.ts). A retired reeve whose node is listed again gets the
 * whole catalog, which lacks its endpoints, to the same end; its deltas are refused meanwhile.
 */
export function members(ctx: StewardContext, list: Member[], out: Effect[]): string[] {
  const before = ctx.members
  ctx.members = {}
  for (const m of list) ctx.members[m.node] = m.host
  const retired: string[] = []
  let push = false
  for (const reeve of Object.keys(ctx.reeves).sort()) {
    const slot = ctx.reeves[reeve]!
    const listed = ctx.members[slot.node] !== undefined
    if (slot.retired) {
      if (!listed || before?.[slot.node] !== undefined) continue
      // Back in the flock: the whole catalog, once, at once. A push still on its way to it (sent while
      // it was cut off, waiting for its deadline) is given up: its late answer names an id no longer on
      // record, and the reeve takes no push older than what it holds.
      if (slot.inflight !== null) delete ctx.pushes[String(slot.inflight.id)]
      slot.inflight = null
      slot.queue = []
      slot.owed = true
      slot.version = -1
      push = true
      continue
    }
    if (listed) continue
    retired.push(reeve)
    slot.retired = true
    slot.owed = true
    push = true
    let changed = false
    for (const id of Object.keys(ctx.endpoints)) {
      if (ctx.endpoints[id]!.reeve !== reeve) continue
      drop(ctx, id)
      changed = true
    }
    if (changed) ctx.version++
  }
  if (retired.length > 0) out.push({ type: 'log', level: 'info', msg: 'retired the reeves of nodes the flock dropped', fields: { reeves: retired } })
  if (push) schedule(ctx, out)
  return retired
}

const ruleApplies = (r: Rule, horde: string) => r.horde === '*' || r.horde === horde

/** The endpoints of `horde` (the catalog a reeve of that horde gets). */
export function catalogOf(ctx: StewardContext, horde: string): CatalogEndpoint[] {
  const out: CatalogEndpoint[] = []
  for (const id of Object.keys(ctx.endpoints).sort()) {
    const e = ctx.endpoints[id]!
    if (e.horde === horde) out.push(copyEndpoint(e))
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
    if (e !== undefined && e.horde === horde) endpoints.push(copyEndpoint(e))
    else remove.push(id)
  }
  return { endpoints, remove }
}

/** Sends `reeve` its next push if none is on its way. */
function pump(ctx: StewardContext, reeve: string, out: Effect[]): void {
  const slot = ctx.reeves[reeve]
  if (slot === undefined || slot.inflight !== null) return
  const body = slot.queue.shift()
  if (body === undefined) return
  const id = ++ctx.nextId
  slot.inflight = { id, version: body.version }
  ctx.pushes[String(id)] = reeve
  send(out, grpcAt(slot.address, 'reeve'), { type: 'catalog.push', id, ...body })
}

/**
 * Pushes every reeve its horde's changes since the last push: a reeve that holds the last push's
 * version gets only the delta; one that is new, sent everything again, or missed a push gets its
 * horde's whole catalog. Pushes to one reeve go one at a time, in order.
 */
export function push(ctx: StewardContext, out: Effect[]): void {
  ctx.dirty = false
  const full = new Map<string, CatalogEndpoint[]>()
  const delta = new Map<string, { endpoints: CatalogEndpoint[]; remove: string[] }>()
  for (const reeve of Object.keys(ctx.reeves).sort()) {
    const r = ctx.reeves[reeve]!
    // A retired reeve whose node is listed again is pushed like any other (its deltas are still refused
    // until it sends everything): one with no endpoints of its own never sends, and would otherwise
    // hold the catalog of the moment it came back for as long as it registers nothing.
    if (r.retired && !r.owed && ctx.members?.[r.node] === undefined) continue
    r.owed = false
    const rules = ctx.rules.filter((x) => ruleApplies(x, r.horde))
    if (r.version === ctx.pushedVersion && r.version >= 0) {
      if (r.version === ctx.version) continue
      let d = delta.get(r.horde)
      if (d === undefined) delta.set(r.horde, (d = deltaOf(ctx, r.horde)))
      r.queue.push({ term: ctx.term, version: ctx.version, full: false, base: r.version, endpoints: d.endpoints, remove: d.remove, rules })
    } else {
      let endpoints = full.get(r.horde)
      if (endpoints === undefined) full.set(r.horde, (endpoints = catalogOf(ctx, r.horde)))
      r.queue.push({ term: ctx.term, version: ctx.version, full: true, base: 0, endpoints, remove: [], rules })
    }
    r.version = ctx.version
    pump(ctx, reeve, out)
  }
  ctx.pushedVersion = ctx.version
  ctx.changed = {}
}

/** A reeve answered push `id` holding `version`: the next push goes, or, if it could not apply it, the whole catalog next time. */
export function pushed(ctx: StewardContext, id: number, version: number | null, out: Effect[]): void {
  const reeve = ctx.pushes[String(id)]
  if (reeve === undefined) return
  delete ctx.pushes[String(id)]
  const slot = ctx.reeves[reeve]
  if (slot === undefined || slot.inflight?.id !== id) return
  const sent = slot.inflight.version
  slot.inflight = null
  if (version === sent) return pump(ctx, reeve, out)
  // The push did not reach it, or it could not apply it: what is queued builds on it, so it goes too.
  slot.queue = []
  slot.version = -1
  if (!slot.retired) return schedule(ctx, out)
  // Retired, but its node is listed again (the push failed across a partition that has healed since):
  // the whole catalog it was owed was queued behind this push, and must still go, or it never learns
  // its endpoints are gone and never sends them again.
  if (ctx.members?.[slot.node] !== undefined) {
    slot.owed = true
    schedule(ctx, out)
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
