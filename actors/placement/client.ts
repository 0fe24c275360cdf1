/**
 * A client of a node's PlacementService on the flock's mutual TLS, speaking as the node whose
 * certificates it holds (the CLI with a data dir). A failure is a CruxError carrying the gRPC status
 * (runtime/peer-client.ts).
 */
import * as grpc from '@grpc/grpc-js'
import { PlacementServiceService as M, type ApplyResponse, type PlacementServiceListResponse } from '../../protos/gen/crux/v1/placement.js'
import { CALLER_HEADER, type PeerTls } from '../../runtime/grpc-tls.js'
import { callFailure, peerChannel } from '../../runtime/peer-client.js'
import { callerKeyId } from '../pastiche/client.js'

export interface PlacementClient {
  readonly address: string
  apply(text: string, bundles: Record<string, string>): Promise<ApplyResponse>
  list(): Promise<PlacementServiceListResponse>
  close(): void
}

/** A client of the PlacementService at `init.address` (HOST:PORT). */
export function createPlacementClient(init: { address: string; tls: PeerTls; timeoutMs?: number }): PlacementClient {
  const { credentials, options } = peerChannel(init.tls)
  const client = new grpc.Client(init.address, credentials, options)
  const meta = new grpc.Metadata()
  meta.set(CALLER_HEADER, callerKeyId(init.tls))
  const timeoutMs = init.timeoutMs ?? 10_000
  const unary = <Req, Res>(def: { path: string; requestSerialize(r: Req): Buffer; responseDeserialize(b: Buffer): Res }, req: Req): Promise<Res> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, meta.clone(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? void callFailure(err, `placement ${init.address}`, init.address, init.tls).then(reject) : resolve(res!),
      )
    })
  return {
    address: init.address,
    apply: (text, bundles) => unary(M.apply, { text, bundles }),
    list: () => unary(M.list, {}),
    close: () => client.close(),
  }
}
