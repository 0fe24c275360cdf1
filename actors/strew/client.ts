/**
 * The client side of the strew layer, for the CLI, for services and for tests: a ReeveService client
 * on the flock's mutual TLS with the node's own certificate (whoever can read the data dir's node.key
 * and the certificates its fulcrum wrote beside it speaks for the node to its own reeve, and takes only
 * a reeve holding that same key), and promise wrappers for its calls.
 */
import * as grpc from '@grpc/grpc-js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import { ServiceState, type Heartbeat } from '../../protos/gen/crux/v1/heartbeat.js'
import { ReeveServiceService as M, type Endpoint, type GetCatalogRequest, type WatchCatalogResponse } from '../../protos/gen/crux/v1/reeve.js'
import type { CruxError } from '../../runtime/errors.js'
import { nodeIdOf } from '../../runtime/node-identity.js'
import type { PeerTls } from '../../runtime/grpc-tls.js'
import { callFailure, createPeerClient } from '../../runtime/peer-client.js'
import { keyIdOf } from './registration.js'
import { REEVE_REV } from './registry-client.js'
import { fromEndpoint } from './codec.js'

export interface ReeveClientInit {
  /** The reeve's gRPC address (host:port). */
  address: string
  /** The node's channel material: `loadPeerTls(DATA_DIR)` (runtime/grpc-tls.ts). */
  tls: PeerTls
  /** Per-call deadline, ms. Default 10 000. */
  timeoutMs?: number
}

/** A service registration as the CLI and services give it. */
export interface ServicePoint {
  service: string
  api: string
  /** Default: the node id. */
  instance?: string
  address: string
  /** Keep it up by heartbeats: each holds this long. Without it the registration stays up until deregistered. */
  ttlMs?: number
  /** Labels in the catalog (at most 64, each 1–128 characters, no two the same). */
  tags?: string[]
  /** The heartbeat uuid; default the NodeID's service/api. */
  uuid?: string
}

/** The heartbeat uuid a registration with a TTL gets unless it names one: SERVICE/API, unique on a node as its NodeID is. */
export const heartbeatUuid = (p: Pick<ServicePoint, 'service' | 'api'>): string => `${p.service}/${p.api}`


export interface ReeveClient {
  /** The reeve's NodeID and the steward it follows. */
  ping(): Promise<{ nodeId: string; steward: string; term: number }>
  /** The NodeID a service point gets on this reeve. */
  nodeIdOf(p: Pick<ServicePoint, 'service' | 'api'>): Promise<string>
  register(p: ServicePoint): Promise<string>
  deregister(nodeId: string): Promise<void>
  heartbeat(beats: Array<{ uuid: string; ttlMs: number; state?: 'up' | 'down' }>): Promise<void>
  catalog(req?: Partial<GetCatalogRequest>): Promise<{ endpoints: CatalogEndpoint[]; version: number }>
  /** Streams the catalog: first whole, then changes; returns a cancel function. */
  watch(req: { nodeId?: string; api?: string }, on: (m: { endpoints: CatalogEndpoint[]; removed: string[]; full: boolean; version: number }) => void, onEnd: (err: CruxError | null) => void): () => void
  close(): void
}

export function createReeveClient(init: ReeveClientInit): ReeveClient {
  const node = nodeIdOf(init.tls.publicKey)
  const key = keyIdOf(REEVE_REV, node, init.tls.publicKey)
  // The reeve to reach is this node's own: its server holds the same key.
  const expect = { publicKey: init.tls.publicKey }
  const rpc = createPeerClient(init.address, { tls: init.tls, key, expect, timeoutMs: init.timeoutMs ?? 10_000, describe: `reeve ${init.address}` })
  let reeveId: Promise<string> | undefined
  const self: ReeveClient = {
    async ping() {
      const r = await rpc.unary(M.ping, { text: 'ping' })
      return { nodeId: r.nodeId, steward: r.steward, term: r.term }
    },
    async nodeIdOf(p) {
      reeveId ??= self.ping().then((r) => r.nodeId)
      const parts = (await reeveId).split('/')
      return `/${parts[1]}/${parts[2]}/${parts[3]}/${p.service}/${p.api}`
    },
    async register(p) {
      const nodeId = await self.nodeIdOf(p)
      const endpoint: Endpoint = { nodeId, netId: '', horde: '', api: p.api, instance: p.instance ?? '', address: p.address, state: ServiceState.SERVICE_STATE_UP, keyId: '', tags: p.tags ?? [] }
      const at = Date.now()
      const heartbeat: Heartbeat | undefined = p.ttlMs === undefined ? undefined : { uuid: p.uuid ?? heartbeatUuid(p), state: ServiceState.SERVICE_STATE_UP, netId: '', atMs: at, expiresMs: at + p.ttlMs, various: '' }
      await rpc.unary(M.registerService, { endpoint, heartbeat })
      return nodeId
    },
    async deregister(nodeId) {
      await rpc.unary(M.deregisterService, { nodeId })
    },
    async heartbeat(beats) {
      const at = Date.now()
      const heartbeats = beats.map((b) => ({ uuid: b.uuid, state: b.state === 'down' ? ServiceState.SERVICE_STATE_DOWN : ServiceState.SERVICE_STATE_UP, netId: '', atMs: at, expiresMs: at + b.ttlMs, various: '' }))
      await rpc.unary(M.sendHeartbeats, { heartbeats })
    },
    async catalog(req = {}) {
      const r = await rpc.unary(M.getCatalog, { nodeId: '', api: '', endpoint: '', ...req })
      return { endpoints: r.endpoints.map(fromEndpoint), version: r.version }
    },
    watch(req, on, onEnd) {
      const stream = rpc.stream(M.watchCatalog, { nodeId: req.nodeId ?? '', api: req.api ?? '' })
      let ended = false
      const end = (err: CruxError | null) => {
        if (!ended) onEnd(err)
        ended = true
      }
      stream.on('data', (m: WatchCatalogResponse) => on({ endpoints: m.endpoints.map(fromEndpoint), removed: m.removed, full: m.full, version: m.version }))
      stream.on('error', (err: grpc.ServiceError) => (err.code === grpc.status.CANCELLED ? end(null) : void callFailure(err, `reeve ${init.address}`, init.address, init.tls, expect).then(end)))
      stream.on('end', () => end(null))
      return () => {
        ended = true
        stream.cancel()
      }
    },
    close: () => rpc.close(),
  }
  return self
}
