/** The steward's shapes (protos/crux/v1/reeve.proto and steward.proto, as machines see them). Pure module. */

export interface CatalogEndpoint {
  nodeId: string
  netId: string
  horde: string
  api: string
  instance: string
  address: string
  state: 'up' | 'down'
  keyId: string
  /** Labels the service gives itself (Consul's tags); absent when it gives none. Pastiche's blobs held. */
  tags?: string[]
}

/**
 * A copy of `e` with exactly its fields, built as one literal, so that every copy shares one V8 shape:
 * object spread (`{ ...e, x }`) gave each copy a shape of its own (20 000 registrations: 20 000
 * hidden classes and descriptor arrays, 7 MB of a steward's heap).
 */
export function copyEndpoint(e: CatalogEndpoint): CatalogEndpoint {
  const c: CatalogEndpoint = { nodeId: e.nodeId, netId: e.netId, horde: e.horde, api: e.api, instance: e.instance, address: e.address, state: e.state, keyId: e.keyId }
  // Tags are rare (pastiche's), so an endpoint without them keeps the one shape above.
  if (e.tags !== undefined) c.tags = e.tags
  return c
}

/** Whether two endpoints' tags are the same list (absent and empty are the same). */
export function sameTags(a: CatalogEndpoint, b: CatalogEndpoint): boolean {
  const x = a.tags ?? []
  const y = b.tags ?? []
  return x.length === y.length && x.every((t, i) => t === y[i])
}

/** A service `from` in `horde` may see endpoints of service `to` (`*` matches any horde). */
export interface Rule {
  horde: string
  from: string
  to: string
}

/** What a reeve sends (StewardService.UpdateEndpoints). */
export interface EndpointUpdate {
  /** The reeve's NodeID. */
  reeve: string
  /** Where the reeve listens (host:port), for pushes. */
  address: string
  horde: string
  /** True: replaces everything this reeve sent before. */
  full: boolean
  upsert: CatalogEndpoint[]
  remove: string[]
}

export interface StewardInput {
  /** Higher than any earlier steward's: reeves ignore pushes of an older term. */
  term: number
  rules?: Rule[]
  /** Updates arriving within this window go out as one push (the original's timebox, ms). Default 50. */
  batchMs?: number
}
