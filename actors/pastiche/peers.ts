/**
 * Who a node's pastiche machine may fetch from, and what they hold: the `peers` event
 * (machines/pastiche/types.ts), from the node's catalog and its flock. Each member's pastiche
 * registers in the catalog as `/bloc/horde/<node>/Pastiche/Pastiche1` at its gRPC address, its tags
 * naming the blobs it holds (machines/pastiche/announce.ts); a member whose registration the catalog
 * does not hold yet (it just joined, or the catalog has not reached this node) is still a peer, at an
 * address the caller assumes for it, announcing nothing (it is asked). Used by a fulcrum
 * (machine-host.ts); the simulator's pastiche does not announce yet (docs/PASTICHE.md).
 */
import { PASTICHE_API, parseHoldTags, type AnnounceInput } from '../../machines/pastiche/announce.js'
import type { Peer } from '../../machines/pastiche/types.js'
import type { HeldCatalog, Listed } from '../../machines/reeve/served.js'
import { servedEndpoint } from '../../machines/reeve/served.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import type { Member } from '../strew/flock-view.js'

/** The NodeID a member's pastiche registers under, given this node's reeve NodeID (same bloc and horde). */
export function pasticheNodeIdOf(reeveNodeId: string, node: string): string {
  const [, bloc, horde] = reeveNodeId.split('/')
  return `/${bloc}/${horde}/${node}/Pastiche/${PASTICHE_API}`
}

/** A peer as its catalog entry says. */
function fromEndpoint(node: string, e: CatalogEndpoint): Peer {
  const { holds, partial } = parseHoldTags(e.tags ?? [])
  return { node, address: e.address, holds, ...(partial ? { partial } : {}) }
}

export interface PeerFeed {
  /**
   * The peers now, given the flock's members (this node excluded by the caller or not) and the
   * catalog the reeve serves; null when nothing changed since the last call. Cheap when nothing did:
   * one catalog lookup per member, compared by identity (the reeve replaces an entry when it changes).
   */
  next(members: readonly Member[], catalog: HeldCatalog | undefined, listed: Listed): Peer[] | null
}

/**
 * `node`'s feed; `fallback(member)` is where a member the catalog lacks is assumed to serve (a fulcrum:
 * its flock host and this node's gRPC port); without `reeveNodeId`, no catalog is read.
 */
export function createPeerFeed(init: { node: string; reeveNodeId?: string; fallback(m: Member): string }): PeerFeed {
  let lastMembers: readonly Member[] | null = null
  let lastEntries: Array<CatalogEndpoint | undefined> = []
  return {
    next(members, catalog, listed) {
      const others = members.filter((m) => m.node !== init.node)
      const entries = others.map((m) => {
        const e = catalog === undefined || init.reeveNodeId === undefined ? undefined : servedEndpoint(catalog, listed, pasticheNodeIdOf(init.reeveNodeId, m.node))
        return e?.state === 'up' ? e : undefined
      })
      if (members === lastMembers && entries.every((e, i) => e === lastEntries[i])) return null
      lastMembers = members
      lastEntries = entries
      return others.map((m, i) => {
        const e = entries[i]
        if (e !== undefined) return fromEndpoint(m.node, e)
        return { node: m.node, address: init.fallback(m) }
      })
    },
  }
}

/** What node `node`'s pastiche machine registers: `/bloc/horde/<node>/Pastiche/Pastiche1` at `address`, as the node's own caller. */
export function announceOf(node: string, c: { reeveNodeId: string; reeveKeyId: string; address: string }): AnnounceInput {
  const nodeId = pasticheNodeIdOf(c.reeveNodeId, node)
  const horde = c.reeveNodeId.split('/')[2]!
  const endpoint: CatalogEndpoint = { nodeId, netId: `/${PASTICHE_API}/${node}/net/${c.address}`, horde, api: PASTICHE_API, instance: node, address: c.address, state: 'up', keyId: '' }
  return { endpoint, reeve: `${node}/reeve`, keyId: c.reeveKeyId, self: `${node}/pastiche` }
}
