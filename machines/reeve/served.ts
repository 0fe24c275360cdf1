/**
 * What a reeve serves of the catalog its steward pushed: the endpoints of the nodes its own flock
 * lists. Liveness is the local flock's: when a node dies, every node's flock drops it within the
 * detection bound, whoever was the steward, so its services stop being served then and there, without
 * waiting for a steward (a dead leader's steward cannot retire anything; the next one settles first).
 * The pushed catalog itself, its (term, version), is left as it was. The one filter for every reader:
 * lookups (actors/strew/reads.ts), watches (machines/reeve/catalog.ts) and the simulator's checker
 * (actors/sim/strew-views.ts). Pure module.
 */
import type { CatalogEndpoint, Rule } from '../steward/types.js'

/** The nodes the local flock lists, as a set; null when not known (then nothing is left out). */
export type Listed = Readonly<Record<string, true>> | null

/** A catalog as a reeve holds it. */
export interface HeldCatalog {
  term: number
  version: number
  endpoints: Readonly<Record<string, CatalogEndpoint>>
  rules: Rule[]
}

/**
 * The node an endpoint's NodeID (`/bloc/horde/node/service/api`) names, or null when it has not that
 * shape (such an endpoint is not left out). Only the shape: the steward and the edge checked the ids
 * a push carries, and this runs for every endpoint of every catalog read.
 */
export function nodeOfEndpoint(nodeId: string): string | null {
  if (nodeId.charCodeAt(0) !== 47) return null
  const a = nodeId.indexOf('/', 1)
  const b = a < 0 ? -1 : nodeId.indexOf('/', a + 1)
  const c = b < 0 ? -1 : nodeId.indexOf('/', b + 1)
  const d = c < 0 ? -1 : nodeId.indexOf('/', c + 1)
  // Five slashes: before bloc, horde, node, service and api; a node between the third and fourth.
  if (d < 0 || nodeId.indexOf('/', d + 1) >= 0 || c === b + 1) return null
  return nodeId.slice(b + 1, c)
}

/** Whether endpoint `nodeId` is served while the flock lists `listed`. */
export function isServed(listed: Listed, nodeId: string): boolean {
  if (listed === null) return true
  const node = nodeOfEndpoint(nodeId)
  return node === null || listed[node] === true
}

/** The endpoints of `catalog` as served: without those of nodes not listed (all of them while `listed` is null). */
export function servedEndpoints(catalog: HeldCatalog, listed: Listed): CatalogEndpoint[] {
  const all = Object.values(catalog.endpoints)
  return listed === null ? all : all.filter((e) => isServed(listed, e.nodeId))
}

/** The catalog as served: the same term, version and rules, without the endpoints of nodes not listed. */
export function servedCatalog<C extends HeldCatalog>(catalog: C, listed: Listed): C {
  if (listed === null) return catalog
  const served = servedEndpoints(catalog, listed)
  if (served.length === Object.keys(catalog.endpoints).length) return catalog
  const endpoints: Record<string, CatalogEndpoint> = {}
  for (const e of served) endpoints[e.nodeId] = e
  return { ...catalog, endpoints }
}

/** The endpoint `nodeId` as served, or undefined (not in the catalog, or of a node not listed). */
export function servedEndpoint(catalog: HeldCatalog, listed: Listed, nodeId: string): CatalogEndpoint | undefined {
  const e = catalog.endpoints[nodeId]
  return e !== undefined && isServed(listed, nodeId) ? e : undefined
}

/** The endpoints of `catalog` served under one of `before` and `after` but not the other, sorted. */
export function servedChanges(catalog: HeldCatalog, before: Listed, after: Listed): string[] {
  return Object.keys(catalog.endpoints)
    .filter((id) => isServed(before, id) !== isServed(after, id))
    .sort()
}

/** A node list as a set (null stays null). */
export function listedOf(nodes: readonly string[] | null): Listed {
  if (nodes === null) return null
  const out: Record<string, true> = {}
  for (const n of nodes) out[n] = true
  return out
}
