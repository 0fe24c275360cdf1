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
