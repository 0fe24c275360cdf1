/**
 * The clients strew's road calls peers with (runtime/grpc-road.ts `clientFor`). One channel per peer
 * address, key and pinned server: a call to a StewardService speaks as this node's reeve, a call to a
 * ReeveService (a push, a call-back) as its steward, a RegistryService call as nobody (it is open). The
 * server's key is pinned whenever the machines know whose it must be (`pin`): the steward the reeve
 * registered with, the reeve a push or a call-back is for, the flock leader a registration is for.
 */
import type * as grpc from '@grpc/grpc-js'
import type { PeerTls } from '../../runtime/grpc-tls.js'
import type { RoadClient } from '../../runtime/grpc-road.js'
import { createPeerClient, type ExpectedPeer, type MethodDef, type PeerClient } from '../../runtime/peer-client.js'

export interface PeerClientsInit {
  reeveKeyId: string
  stewardKeyId: string
  /** Per-call deadline when the road gives none, ms. */
  timeoutMs: number
  /** The server `hostPort` must be for a call of `path`, when known. */
  pin(hostPort: string, path: string): ExpectedPeer | undefined
}

/** The KeyID a call of `path` speaks as (none for the open registry). A proctor's call to a dean speaks as the node, as pastiche's peers do. */
export function keyFor(path: string, init: Pick<PeerClientsInit, 'reeveKeyId' | 'stewardKeyId'>): string | undefined {
  if (path.startsWith('/crux.v1.StewardService/') || path.startsWith('/crux.v1.DeanService/')) return init.reeveKeyId
  if (path.startsWith('/crux.v1.ReeveService/')) return init.stewardKeyId
  return undefined
}

const pinKey = (p: ExpectedPeer | undefined) => (p === undefined ? '' : (p.node ?? '') + (p.publicKey === undefined ? '' : Buffer.from(p.publicKey).toString('hex')))

/** Clients by address, key and pin; a new pin for an address and key replaces the old channel. */
export function createPeerClients(c: { tls: PeerTls }, init: PeerClientsInit): { clientFor(hostPort: string): RoadClient; close(): void } {
  const clients = new Map<string, { pin: string; client: PeerClient }>()
  const clientOf = (hostPort: string, path: string): PeerClient => {
    const key = keyFor(path, init)
    const slot = `${hostPort} ${key ?? ''}`
    const expect = init.pin(hostPort, path)
    const pin = pinKey(expect)
    const had = clients.get(slot)
    if (had !== undefined && had.pin === pin) return had.client
    had?.client.close()
    const client = createPeerClient(hostPort, { tls: c.tls, ...(key === undefined ? {} : { key }), ...(expect === undefined ? {} : { expect }), timeoutMs: init.timeoutMs, describe: hostPort })
    clients.set(slot, { pin, client })
    return client
  }
  return {
    clientFor: (hostPort) => ({
      unary: <Req, Res>(def: MethodDef<Req, Res>, req: Req, deadlineMs?: number) => clientOf(hostPort, def.path).unary(def, req, deadlineMs),
      stream: <Req, Res>(def: MethodDef<Req, Res>, req: Req): grpc.ClientReadableStream<Res> => clientOf(hostPort, def.path).stream(def, req),
    }),
    close() {
      for (const { client } of clients.values()) client.close()
      clients.clear()
    },
  }
}
