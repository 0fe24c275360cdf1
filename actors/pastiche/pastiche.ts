/**
 * A fulcrum's pastiche edge: the blob store in `<data-dir>/pastiche/`, served as PasticheService on
 * the node's gRPC server (its mutual TLS, its own whitelist: trust.ts), and the Fetch call that pulls
 * a blob from a peer the caller names (fetch.ts). Transfers resumed after a break are the store's.
 * With `machine`, the node's pastiche machine runs in its host and keeps its declarative holdings
 * (machine-host.ts): Want and Unwant go to it, its transfers to the transfer edge.
 */
import { join } from 'node:path'
import type { PeerTls } from '../../runtime/grpc-tls.js'
import type { SecureServer } from '../../runtime/grpc-server.js'
import type { FetchResponse } from '../../protos/gen/crux/v1/pastiche.js'
import { createPasticheClient, type PasticheClient } from './client.js'
import { fetchBlob, FetchError } from './fetch.js'
import { PasticheServiceService, pasticheHandlers } from './service.js'
import { createBlobStore, type BlobStore } from './store.js'
import { pasticheTrust } from './trust.js'
import { DEFAULT_PASTICHE_LIMIT } from './limit.js'
import { startPasticheMachine, type PasticheMachine, type PasticheMachineInit } from './machine-host.js'
import type { TransferEdge } from './transfer-edge.js'

/** Breaks of one Fetch call resumed before it gives up (its caller may ask again: the bytes are kept). */
const FETCH_RESUMES = 3

export interface PasticheInit {
  dataDir: string
  /** The store's bound. Default {@link DEFAULT_PASTICHE_LIMIT}. */
  limitBytes?: number
  server: SecureServer
  /** The node's channel material: it dials peers with it. */
  tls: PeerTls
  /** The node ids of the flock's members now (this node's copy of the list). */
  members(): Readonly<Record<string, unknown>>
  log?: { warn(msg: string, fields?: Record<string, unknown>): void }
  /** Run the pastiche machine (a fulcrum): where, and how its ports reach the edge. */
  machine?: Omit<PasticheMachineInit, 'store' | 'peer' | 'log'> & { bind(edge: TransferEdge): void }
}

export interface Pastiche {
  readonly store: BlobStore
  /** A client of a peer's PasticheService, speaking as this node (one per address, kept). */
  peer(address: string): PasticheClient
  /** The pastiche machine, when it runs. */
  readonly machine: PasticheMachine | undefined
  close(): void
}

/** Opens the store and serves it. */
export async function startPastiche(init: PasticheInit): Promise<Pastiche> {
  const store = await createBlobStore({ dir: join(init.dataDir, 'pastiche'), limitBytes: init.limitBytes ?? DEFAULT_PASTICHE_LIMIT })
  const trust = pasticheTrust(init.tls.publicKey, init.members)
  const peers = new Map<string, PasticheClient>()
  const peer = (address: string): PasticheClient => {
    let c = peers.get(address)
    if (c === undefined) peers.set(address, (c = createPasticheClient({ address, tls: init.tls })))
    return c
  }
  const fetch = async (hash: string, from: string): Promise<FetchResponse> => {
    const t0 = performance.now()
    let moved = 0
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fetchBlob({ store, peer }, { hash, from })
        moved += r.moved
        return { hash: r.hash, bytes: r.bytes, moved, existed: r.existed && moved === 0, ms: Math.round(performance.now() - t0) }
      } catch (err) {
        if (!(err instanceof FetchError) || err.failure !== 'broken' || attempt >= FETCH_RESUMES) throw err
        moved += err.moved
        init.log?.warn('pastiche fetch broke; resuming from the bytes kept', { hash, from, moved: err.moved, error: err.message })
      }
    }
  }
  const m = init.machine
  const machine = m === undefined ? undefined : startPasticheMachine({ ...m, store, peer, ...(init.log === undefined ? {} : { log: init.log }) }, m.bind)
  const holdings =
    machine === undefined
      ? undefined
      : {
          wanted: () => Object.keys(machine.context()?.wants ?? {}),
          peers: () => Object.keys(machine.context()?.peers ?? {}).length,
          from: (hash: string) => machine.context()?.wants[hash]?.from ?? [],
          want: (hash: string, bytes?: number) => machine.tell(bytes === undefined ? { type: 'want', hash } : { type: 'want', hash, bytes }),
          unwant: (hash: string) => machine.tell({ type: 'unwant', hash }),
        }
  init.server.addService(PasticheServiceService, pasticheHandlers({ store, ownKeyId: trust.ownKeyId, fetch, ...(holdings === undefined ? {} : { holdings }) }), { lookup: trust.lookup })
  init.server.setStatus('crux.v1.PasticheService', 'SERVING')
  return {
    store,
    peer,
    machine,
    close() {
      machine?.close()
      for (const c of peers.values()) c.close()
      peers.clear()
    },
  }
}
