/**
 * Muster (seed 001's inventory; issue 17: "each node publishes what it runs through the steward"). The
 * machine registers its node's picket with the node's reeve as `/bloc/horde/<node>/Picket/Picket1` at
 * the node's gRPC address (where PicketService answers), the endpoint's tags describing every service
 * it has, and registers again whenever that description changes, one registration at a time (as
 * pastiche announces its blobs: machines/pastiche/announce.ts). The steward spreads it to every node's
 * catalog, so `crux service ls --all` reads the flock's inventory from any node's catalog, and a dead
 * node's muster goes with its other endpoints.
 *
 * First one tag per node label, `label <name>` (`crux fulcrum --label`: khan's `label(NAME)` selects
 * the nodes carrying it); then two tags per service, in name order, fields separated by one space (no field holds a space):
 * - `svc <name> <state> <restarts> <up|down> <pid|-> <since|-> <hash>`: `since` is when its current
 *   run was spawned (ms on the node's clock), `hash` the bundle it should run;
 * - `api <name> <api> <instance>`, once its manifest is known.
 * The longest pair fits the catalog's tags of at most 256 characters. The catalog takes at most 64 tags
 * per endpoint, so at most {@link MAX_MUSTERED} services are described; when a node has more, the tag
 * {@link PARTIAL_MUSTER} says so (a reader asks that node for the rest). Mutates the context in place
 * and pushes effects. Pure module.
 */
import type { Effect } from '../effects.js'
import type { CatalogEndpoint, PicketContext, Service, ServiceState, ServiceView } from './types.js'

/** The API picket registers under. */
export const PICKET_API = 'Picket1'
/** Heartbeats before a refused muster registration is tried again. */
export const MUSTER_RETRY_HB = 4
/** Services described in one registration (two tags each, one tag kept for {@link PARTIAL_MUSTER}). */
export const MAX_MUSTERED = 31
/** A node label (`crux fulcrum --label`), as a muster's `label <name>` tag carries it. */
export const NODE_LABEL = /^[A-Za-z0-9_][A-Za-z0-9_.=:-]{0,62}$/
/** At most this many labels per node. */
export const MAX_LABELS = 8
/** The tag that says the node runs more services than are described. */
export const PARTIAL_MUSTER = 'partial'

/** The muster endpoint of node `node` of `horde` reached at gRPC `address`, under NodeID prefix `/bloc/horde/node`. */
export function musterEndpoint(at: { nodeIdPrefix: string; horde: string }, node: string, address: string): CatalogEndpoint {
  const { nodeIdPrefix, horde } = at
  return { nodeId: `${nodeIdPrefix}/Picket/${PICKET_API}`, netId: `/${PICKET_API}/${node}/net/${address}`, horde, api: PICKET_API, instance: node, address, state: 'up', keyId: '' }
}

function tagsOfService(s: Service, v: ServiceView): string[] {
  const since = s.current === null || s.state === 'preparing' ? '-' : String(s.current.since)
  const tags = [`svc ${s.name} ${s.state} ${s.restarts} ${v.up ? 'up' : 'down'} ${v.pid ?? '-'} ${since} ${s.hash}`]
  if (s.manifest !== null) tags.push(`api ${s.name} ${s.manifest.api} ${s.manifest.instance}`)
  return tags
}

/** The tags describing the node's labels and the services of `ctx` now; `view` is how `ls` shows a service. */
export function musterTags(ctx: PicketContext, view: (s: Service) => ServiceView): string[] {
  const labels = (ctx.input.labels ?? []).map((l) => `label ${l}`)
  // Each label takes one of the catalog's 64 tags, so a labelled node describes fewer services.
  const room = Math.floor((2 * MAX_MUSTERED - labels.length) / 2)
  const names = Object.keys(ctx.services).sort()
  const tags = [...labels, ...names.slice(0, room).flatMap((n) => tagsOfService(ctx.services[n]!, view(ctx.services[n]!)))]
  if (names.length > room) tags.push(PARTIAL_MUSTER)
  return tags
}

/** One service as a muster describes it. */
export type MusteredService = Omit<ServiceView, 'address' | 'reason'> & { since: number | null }

const STATES: readonly string[] = ['preparing', 'starting', 'running', 'backoff', 'stopping', 'stopped', 'failed'] satisfies ServiceState[]
const COUNT = /^\d{1,15}$/

/** What a node's muster tags say (malformed tags skipped: they come from the catalog, written by anyone the reeve let register). */
export function parseMusterTags(tags: readonly string[]): { services: MusteredService[]; partial: boolean; labels: string[] } {
  const byName = new Map<string, MusteredService>()
  const labels: string[] = []
  const apis = new Map<string, { api: string; instance: string }>()
  let partial = false
  for (const t of tags) {
    const f = t.split(' ')
    if (t === PARTIAL_MUSTER) partial = true
    else if (f[0] === 'label' && f.length === 2 && NODE_LABEL.test(f[1]!)) labels.push(f[1]!)
    else if (f[0] === 'svc' && f.length === 8 && STATES.includes(f[2]!) && COUNT.test(f[3]!) && (f[4] === 'up' || f[4] === 'down') && (f[5] === '-' || COUNT.test(f[5]!)) && (f[6] === '-' || COUNT.test(f[6]!))) {
      const [, name, state, restarts, up, pid, since, hash] = f as [string, string, ServiceState, string, string, string, string, string]
      byName.set(name, { name, hash, api: '', instance: '', state, pid: pid === '-' ? null : Number(pid), restarts: Number(restarts), up: up === 'up', since: since === '-' ? null : Number(since) })
    } else if (f[0] === 'api' && f.length === 4) apis.set(f[1]!, { api: f[2]!, instance: f[3]! })
  }
  const services = [...byName.values()].map((s) => ({ ...s, ...apis.get(s.name) }))
  return { services, partial, labels }
}

const same = (a: readonly string[] | null, b: readonly string[]) => a !== null && a.length === b.length && a.every((t, i) => t === b[i])

/** Registers again if what the node runs changed since the last registration the reeve took, and none is on its way. */
export function muster(ctx: PicketContext, view: (s: Service) => ServiceView, out: Effect[]): void {
  const m = ctx.muster
  if (m === null || m.sending !== null || ctx.now < m.notBefore) return
  const tags = musterTags(ctx, view)
  if (same(m.announced, tags)) return
  const id = ctx.nextId++
  m.sending = { id, tags }
  const event = { type: 'reeve.register', id, endpoint: { ...m.endpoint, tags }, from: ctx.input.self, caller: ctx.input.keyId }
  out.push({ type: 'send', to: ctx.input.reeve, event, cls: 'control' })
}

/** Whether call `id` is the muster's registration on its way. */
export const isMuster = (ctx: PicketContext, id: number | undefined): boolean => ctx.muster?.sending?.id === id && id !== undefined

/** The reeve took the muster's registration `id`. */
export function mustered(ctx: PicketContext, id: number): void {
  const m = ctx.muster
  if (m === null || m.sending?.id !== id) return
  m.announced = m.sending.tags
  m.sending = null
}

/** The muster's registration was refused or failed: tried again after {@link MUSTER_RETRY_HB} heartbeats (the `muster` timer). */
export function musterFailed(ctx: PicketContext, out: Effect[]): void {
  const m = ctx.muster
  if (m === null || m.sending === null) return
  m.sending = null
  const ms = MUSTER_RETRY_HB * ctx.config.hbMs
  m.notBefore = ctx.now + ms
  out.push({ type: 'timer.set', name: 'muster', ms })
}
