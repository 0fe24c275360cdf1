/**
 * A client of a node's PicketService on the flock's mutual TLS, speaking as the node whose
 * certificates it holds (its reeve KeyID): the CLI with a data dir. Calls answer plain values; a
 * failure is a CruxError carrying the gRPC status as its code (runtime/peer-client.ts).
 */
import { PicketServiceService as M, type ServiceInfo } from '../../protos/gen/crux/v1/picket.js'
import type { PeerTls } from '../../runtime/grpc-tls.js'
import { createPeerClient, type ExpectedPeer } from '../../runtime/peer-client.js'
import { callerKeyId } from '../pastiche/client.js'

export interface PicketClientInit {
  /** The node's gRPC address, HOST:PORT. */
  address: string
  /** The caller's channel material (`loadPeerTls(DATA_DIR)`). */
  tls: PeerTls
  /** Check the server's key (the CLI: its own node's). */
  expect?: ExpectedPeer
  /** Deadline of each call, ms. Default 10 000. */
  timeoutMs?: number
}

export interface PicketClient {
  readonly address: string
  start(name: string, hash: string): Promise<ServiceInfo>
  stop(name: string): Promise<ServiceInfo>
  /** Null: the service is forgotten already (its runs had ended). */
  reset(name: string): Promise<ServiceInfo | null>
  upgrade(name: string, hash: string): Promise<ServiceInfo>
  list(): Promise<ServiceInfo[]>
  close(): void
}

export function createPicketClient(init: PicketClientInit): PicketClient {
  const client = createPeerClient(init.address, { tls: init.tls, key: callerKeyId(init.tls), describe: `picket ${init.address}`, ...(init.expect === undefined ? {} : { expect: init.expect }), ...(init.timeoutMs === undefined ? {} : { timeoutMs: init.timeoutMs }) })
  // Every answer of a taken request carries the service; one without it is the server's fault.
  const service = async (p: Promise<{ service?: ServiceInfo | undefined }>): Promise<ServiceInfo> => {
    const r = await p
    if (r.service === undefined) throw new Error(`picket ${init.address} answered without the service`)
    return r.service
  }
  return {
    address: init.address,
    start: (name, hash) => service(client.unary(M.start, { name, hash })),
    stop: (name) => service(client.unary(M.stop, { name })),
    reset: async (name) => (await client.unary(M.reset, { name })).service ?? null,
    upgrade: (name, hash) => service(client.unary(M.upgrade, { name, hash })),
    list: async () => (await client.unary(M.list, {})).services,
    close: () => client.close(),
  }
}
