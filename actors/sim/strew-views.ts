/**
 * What the strew checker (actors/sim/strew-check.ts) reads of a node, taken from its machines'
 * contexts: the reeve's pushed catalog, the services its driver registered and when, and its
 * steward's term (above 0 while active). The simulator reads live hosts, `crux check` the replayed cells:
 * one reader for both, so they judge alike.
 */
import type { DriverContext } from '../../machines/strew/driver-rules.js'
import type { StrewCatalog, StrewNodeView } from './strew-check.js'

/** The strew actors of node `node` the checker reads. */
export const strewActorIds = (node: string): { reeve: string; driver: string; steward: string } => ({ reeve: `${node}/reeve`, driver: `${node}/driver`, steward: `${node}/steward` })

/** The view of one node from its contexts (`undefined`: the actor does not exist or failed). */
export function strewViewOf(node: string, reeve: unknown, driver: unknown, steward: unknown): StrewNodeView {
  const catalog = (reeve as { catalog?: StrewCatalog } | undefined)?.catalog ?? null
  const d = driver as DriverContext | undefined
  const services = d === undefined ? [] : d.services.map((s) => ({ id: s.endpoint.nodeId, registeredAt: s.registeredAt }))
  return { node, catalog, services, stewardTerm: (steward as { term?: number } | undefined)?.term ?? 0 }
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
