/**
 * What the strew checker (actors/sim/strew-check.ts) reads of a node, taken from its machines'
 * contexts: the reeve's pushed catalog as it serves it (without the nodes its flock no longer lists), the services its driver registered and when, and its
 * steward's term (above 0 while active). The simulator reads live hosts, `crux check` the replayed cells:
 * one reader for both, so they judge alike.
 */
import type { ReeveContext } from '../../machines/reeve/rules.js'
import { isServed, servedChanges, type Listed } from '../../machines/reeve/served.js'
import type { DriverContext } from '../../machines/strew/driver-rules.js'
import type { StrewCatalog, StrewNodeView } from './strew-check.js'

/** The strew actors of node `node` the checker reads. */
export const strewActorIds = (node: string): { reeve: string; driver: string; steward: string } => ({ reeve: `${node}/reeve`, driver: `${node}/driver`, steward: `${node}/steward` })

/** The view of one node from its contexts (`undefined`: the actor does not exist or failed). */
export function strewViewOf(node: string, reeve: unknown, driver: unknown, steward: unknown): StrewNodeView {
  const r = reeve as Partial<Pick<ReeveContext, 'catalog' | 'listed' | 'listedVersion'>> | undefined
  // What the reeve serves (machines/reeve/served.ts), as lookups and watches see it.
  // As the reeve serves it (machines/reeve/served.ts): judged per endpoint read, not by copying the catalog.
  const listed = r?.listed ?? null
  const catalog: StrewCatalog | null = r?.catalog === undefined ? null : { ...r.catalog, served: r.listedVersion ?? 0, ...(listed === null ? {} : { hides: (id: string) => !isServed(listed, id) }) }
  const d = driver as DriverContext | undefined
  const services = d === undefined ? [] : d.services.map((s) => ({ id: s.endpoint.nodeId, registeredAt: s.registeredAt }))
  return { node, catalog, services, stewardTerm: (steward as { term?: number } | undefined)?.term ?? 0, listed: r?.listed != null }
}

/**
 * The endpoints a `catalog.push` to a reeve may have changed: those it carries and removes, or null
 * for a whole catalog (anything may have come or gone). What the checker times visibility by.
 */
export function pushedIds(event: { readonly [k: string]: unknown }): string[] | null {
  if (event.full === true) return null
  const ids: string[] = []
  if (Array.isArray(event.endpoints)) for (const e of event.endpoints) if (typeof (e as { nodeId?: unknown }).nodeId === 'string') ids.push((e as { nodeId: string }).nodeId)
  if (Array.isArray(event.remove)) for (const id of event.remove) if (typeof id === 'string') ids.push(id)
  return ids
}

/**
 * Per reeve, what a step of it changed in what it serves, for the checker's timing: a push's endpoints
 * ({@link pushedIds}), or, for `reeve.members`, the endpoints whose node left or came back (the
 * catalog is unchanged by that step, so it is read after it). `undefined`: nothing served changed.
 */
export function createServedChanges(): (reeveActor: string, event: { readonly [k: string]: unknown }, reeve: unknown) => string[] | null | undefined {
  const listed = new Map<string, Listed>()
  return (actor, event, reeve) => {
    if (event.type === 'catalog.push') return pushedIds(event)
    if (event.type !== 'reeve.members') return undefined
    const r = reeve as Pick<ReeveContext, 'catalog' | 'listed'> | undefined
    if (r === undefined) return null
    const before = listed.get(actor) ?? null
    listed.set(actor, r.listed)
    return servedChanges(r.catalog, before, r.listed)
  }
}
