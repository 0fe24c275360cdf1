/**
 * The flock's nodes as the proctor sees them: every node whose muster (its `Picket1` endpoint) is up
 * in a catalog, with its address, labels and services (machines/picket/muster.ts). The steward retires
 * a dead node's endpoints, its muster with them, so a node the flock dropped leaves this list.
 */
import { parseMusterTags, PICKET_API } from '../../machines/picket/muster.js'
import type { MusterNode } from '../../machines/placement/types.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import { nodeOfNodeId } from '../../machines/strew/ids.js'

/** The muster nodes of `endpoints` (a catalog), in node order. */
export function musterNodes(endpoints: Iterable<CatalogEndpoint>): MusterNode[] {
  const nodes: MusterNode[] = []
  for (const e of endpoints) {
    if (e.api !== PICKET_API || e.state !== 'up') continue
    const m = parseMusterTags(e.tags ?? [])
    nodes.push({ node: nodeOfNodeId(e.nodeId), address: e.address, labels: m.labels, services: m.services.map((s) => ({ name: s.name, hash: s.hash, state: s.state, up: s.up })) })
  }
  return nodes.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
}
