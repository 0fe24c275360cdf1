/**
 * A client of a node's PlacementService on the flock's mutual TLS, speaking as the node whose
 * certificates it holds (the CLI with a data dir). A failure is a CruxError carrying the gRPC status
 * (runtime/peer-client.ts).
 */
import { PlacementServiceService as M, type ApplyResponse, type PlacementServiceListResponse } from '../../protos/gen/crux/v1/placement.js'
import type { PeerTls } from '../../runtime/grpc-tls.js'
import { createPeerClient } from '../../runtime/peer-client.js'
import { callerKeyId } from '../pastiche/client.js'

export interface PlacementClient {
  readonly address: string
  apply(text: string, bundles: Record<string, string>): Promise<ApplyResponse>
  list(): Promise<PlacementServiceListResponse>
  close(): void
}

/** A client of the PlacementService at `init.address` (HOST:PORT). */
export function createPlacementClient(init: { address: string; tls: PeerTls; timeoutMs?: number }): PlacementClient {
  const client = createPeerClient(init.address, { tls: init.tls, key: callerKeyId(init.tls), describe: `placement ${init.address}`, ...(init.timeoutMs === undefined ? {} : { timeoutMs: init.timeoutMs }) })
  return {
    address: init.address,
    apply: (text, bundles) => client.unary(M.apply, { text, bundles }),
    list: () => client.unary(M.list, {}),
    close: () => client.close(),
  }
}
