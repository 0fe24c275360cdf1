/**
 * A client of a node's PicketService on the flock's mutual TLS, speaking as the node whose
 * certificates it holds (its reeve KeyID): the CLI with a data dir. Calls answer plain values; a
 * failure is a CruxError carrying the gRPC status as its code (runtime/peer-client.ts).
 */
import * as grpc from '@grpc/grpc-js'
import { PicketServiceService as M, type ServiceInfo } from '../../protos/gen/crux/v1/picket.js'
import { CALLER_HEADER, type PeerTls } from '../../runtime/grpc-tls.js'
import { callFailure, peerChannel, type ExpectedPeer } from '../../runtime/peer-client.js'
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
  const { credentials, options } = peerChannel(init.tls, init.expect)
  const client = new grpc.Client(init.address, credentials, options)
  const meta = new grpc.Metadata()
  meta.set(CALLER_HEADER, callerKeyId(init.tls))
  const failure = (err: grpc.ServiceError) => callFailure(err, `picket ${init.address}`, init.address, init.tls, init.expect)
  const timeoutMs = init.timeoutMs ?? 10_000
  const unary = <Req, Res>(def: { path: string; requestSerialize(r: Req): Buffer; responseDeserialize(b: Buffer): Res }, req: Req): Promise<Res> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, meta.clone(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? void failure(err).then(reject) : resolve(res!)))
    })
  // Every answer of a taken request carries the service; one without it is the server's fault.
  const service = async (p: Promise<{ service?: ServiceInfo | undefined }>): Promise<ServiceInfo> => {
    const r = await p
    if (r.service === undefined) throw new Error(`picket ${init.address} answered without the service`)
    return r.service
  }
  return {
    address: init.address,
    start: (name, hash) => service(unary(M.start, { name, hash })),
    stop: (name) => service(unary(M.stop, { name })),
    reset: async (name) => (await unary(M.reset, { name })).service ?? null,
    upgrade: (name, hash) => service(unary(M.upgrade, { name, hash })),
    list: async () => (await unary(M.list, {})).services,
    close: () => client.close(),
  }
}
