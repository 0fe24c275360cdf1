/**
 * The flock's inventory as a catalog holds it (`crux service ls --all`): every node's muster (its
 * `Picket1` endpoint, whose tags describe what the node runs: machines/picket/muster.ts), with an up
 * service's address taken from its own endpoint in the same catalog. A node whose muster is partial
 * (it runs more services than one registration describes) is named, for the caller to ask it.
 */
import { parseMusterTags, PICKET_API, type MusteredService } from '../../machines/picket/muster.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import { nodeOfNodeId } from '../../machines/strew/ids.js'

/** One service of the inventory (CLI.md's fields, and `since`). */
export type InventoryRow = Omit<MusteredService, 'pid'> & { node: string; pid: number | null; address: string | null; reason: string | null }


/** What `endpoints` (a whole catalog) say every node runs, and the nodes to ask for the rest. */
export function inventoryOf(endpoints: readonly CatalogEndpoint[]): { services: InventoryRow[]; partial: Array<{ node: string; address: string }> } {
  const served = new Map<string, string>()
  for (const e of endpoints) if (e.state === 'up') served.set(`${nodeOfNodeId(e.nodeId)} ${e.api} ${e.instance}`, e.address)
  const services: InventoryRow[] = []
  const partial: Array<{ node: string; address: string }> = []
  for (const e of endpoints) {
    if (e.api !== PICKET_API || e.state !== 'up') continue
    const node = nodeOfNodeId(e.nodeId)
    const m = parseMusterTags(e.tags ?? [])
    if (m.partial) partial.push({ node, address: e.address })
    else for (const s of m.services) services.push({ node, ...s, address: s.up ? (served.get(`${node} ${s.api} ${s.instance}`) ?? null) : null, reason: null })
  }
  return { services, partial }
}
