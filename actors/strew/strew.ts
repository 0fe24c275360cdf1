/**
 * The strew layer of one fulcrum (seeds 001, 002, 004; original-crux.md §4–§5): the follower, reeve,
 * heartbeater, steward and registry machines in the fulcrum's host, their messages on the one road.
 * Every change is a machine's step: a call arrives at its actor as an event from `reply:<n>`, a machine
 * sends to `grpc://HOST:PORT/<name>` and the answer comes back into its mailbox (runtime/grpc-road.ts,
 * with strew's route table, actors/strew/routes.ts). What is left here is the edge: binding the
 * server, the crypto the machines must not do, which keys the channel accepts, the stores, the flock
 * view fed to the follower, and reads that change nothing (actors/strew/reads.ts).
 *
 * Keys: the node's Ed25519 key speaks as `/Reeve1_0/<node>/keys/<fp>` (its reeve, and local clients
 * holding the data dir) and as `/Steward1_0/<node>/keys/<fp>` (its steward and registry).
 */
import type { FlockContext } from '../../machines/flock/types.js'
import type { ReeveContext } from '../../machines/reeve/rules.js'
import type { CatalogEndpoint, HealthStatus, Kept, Rule } from '../../machines/strew/events.js'
import type { Clock } from '../../runtime/clock.js'
import { createGrpcRoad, type GrpcRoad } from '../../runtime/grpc-road.js'
import type { ActorHost } from '../../runtime/host.js'
import type { LogStore } from '../../runtime/log-store.js'
import { addRoutes, type InboundService, type OutboundRoute } from '../../runtime/road-routes.js'
import type { PortHandler } from '../../runtime/router.js'
import type { Walrus } from '../../runtime/walrus.js'
import type { StrewServer } from './server.js'
import { createStrewCrypto } from './crypto.js'
import { contextOf, createStrewReads, followingOf, stewardTermOf, type StrewReadSide } from './reads.js'
import { keyIdOf } from './registration.js'
import { REEVE_REV } from './registry-client.js'
import { createStrewRoutes } from './routes.js'
import { createFlockViewFeed } from './flock-view.js'
import { createPeerClients } from './peers.js'
import { pinFor } from './pins.js'
import { reeveNodeIdOf, selfCallerOf, spawnStrewActors, strewActors, strewDeadlines } from './spawn.js'
import type { FileWhitelist } from './whitelist-store.js'

export { bindStrewServer, type StrewServer } from './server.js'
export { strewActors } from './spawn.js'

/** The rev under which a steward signs. */
export const STEWARD_REV = 'Steward1_0'

export interface StrewInit {
  /** The flock node id (derived from the identity key). */
  node: string
  bloc: string
  horde: string
  secret: Uint8Array
  hbMs: number
  /** This node's gRPC address as peers reach it (announced by the flock). */
  address: string
  /** The steward's batch window, ms. Default 50. */
  batchMs?: number
  /** Who may see whom (the steward's, while this node leads). Default: the original's. */
  rules?: Rule[]
  /** The reeve's: new changes wait this long before a forward, ms. Default 10. */
  forwardBatchMs?: number
  /** What the flock says must hold this long before it is acted on. Default: two heartbeats. */
  settleMs?: number
}


/** The road of one node's strew actors, made before its host: the host's router sends through it. */
export interface StrewRoad {
  readonly road: GrpcRoad
  /** The edge's ports (`port:health`), for the router. */
  readonly ports: Record<string, PortHandler>
  readonly reeveKeyId: string
  readonly stewardKeyId: string
  readonly reeveNodeId: string
  /** What the reads look at (the host, once attached): one for the road's direct reads and the fulcrum's. */
  readonly side: StrewReadSide
  /** The host the reads look at, once it exists. */
  attach(host: ActorHost): void
  close(): void
}

/** Builds the road for node `init.node`: `createStrewRoad({ clock, identity, log, bound, store }, init)`. */
export function createStrewRoad(
  c: {
    clock: Clock
    identity: { secretKey: Uint8Array; publicKey: Uint8Array }
    log: Walrus
    bound: StrewServer
    store: LogStore
    /** Other subsystems' inbound services on the same road and server (picket's, placement's). */
    inbound?: InboundService[]
    /** Other subsystems' outbound calls on the same road (placement's `dean.assign`). */
    outbound?: Record<string, OutboundRoute>
  },
  init: StrewInit,
): StrewRoad {
  const actors = strewActors(init.node)
  const reeveKeyId = keyIdOf(REEVE_REV, init.node, c.identity.publicKey)
  const stewardKeyId = keyIdOf(STEWARD_REV, init.node, c.identity.publicKey)
  const reeveNodeId = reeveNodeIdOf(init.bloc, init.horde, init.node)
  let host: ActorHost | undefined
  const side: StrewReadSide = { host: () => host, actors, node: init.node, reeveNodeId, reeveKeyId }
  const crypto = createStrewCrypto({ secret: init.secret, identity: c.identity, now: () => c.clock.now() })
  const routes = createStrewRoutes(
    { crypto, refused: (why, fields) => c.log.warn('registry refused a sealed request', { ...fields, why }) },
    { node: init.node, reeveNodeId, ...strewDeadlines(init.hbMs) },
  )
  const reads = createStrewReads(side)
  const [reeve, steward, registry] = routes.inbound as [typeof routes.inbound[0], typeof routes.inbound[0], typeof routes.inbound[0]]
  reeve.direct = reads.reeve
  steward.direct = reads.steward
  registry.direct = reads.registry
  // A registration or deregistration is acknowledged once the reeve's log has it on disk (one fdatasync
  // for every call that arrived meanwhile), as etcd acknowledges a put once its WAL is synced.
  // A lone call (a sequential client) flushes inline, sparing the thread pool's round trip; with
  // others waiting for a flush or still in the reeve's mailbox, one flush on the pool serves them all
  // (runtime/log-store.ts sync) and the main thread goes on taking calls meanwhile. An answer the
  // heartbeater may persist for (the reeve says so: it keeps the service, or may have) waits for what
  // the heartbeater does too: with mail waiting for it, the flush goes after this drain of the host,
  // which takes that mail. A first registration without heartbeats does not wait for the heartbeater's
  // mail (its `unkeep` of a service it never kept persists nothing).
  // Flushed inline, the answer goes out in the same step (no promise): a sequential client's next
  // call does not wait for the rest of the host's drain.
  let settling = 0
  const mail = (actor: string) => host?.mailbox(actor)?.size ?? 0
  const durable = (answer: { heartbeater: boolean }): Promise<void> | undefined => {
    const alone = settling === 0 && mail(actors.reeve) === 0 && (!answer.heartbeater || mail(actors.heartbeater) === 0)
    if (alone && c.store.syncNow()) return undefined
    settling++
    return c.store.sync().finally(() => void settling--)
  }
  addRoutes(routes, c)
  reeve.methods.registerService!.settle = durable
  reeve.methods.deregisterService!.settle = durable
  const peers = createPeerClients({ tls: c.bound.tls }, { reeveKeyId, stewardKeyId, timeoutMs: Math.max(5_000, 4 * init.hbMs), pin: (hostPort, path) => pinFor(host, actors, hostPort, path) })
  const road = createGrpcRoad(
    { clock: c.clock, clientFor: peers.clientFor, server: c.bound.server },
    // A looped call presents the key its sender would present on a channel.
    { node: init.node, routes, self: init.address, selfCaller: selfCallerOf(init.node, { reeveKeyId, stewardKeyId }) },
  )
  const health: PortHandler = (ev) => {
    const h = ev as HealthStatus
    c.bound.server.setStatus(h.service, h.status)
  }
  return {
    road,
    ports: { health },
    reeveKeyId,
    stewardKeyId,
    reeveNodeId,
    side,
    attach(h) {
      host = h
      road.attach(h)
    },
    close: () => peers.close(),
  }
}

export interface StrewComponents {
  host: ActorHost
  clock: Clock
  identity: { secretKey: Uint8Array; publicKey: Uint8Array }
  /** The reeve's registrations and the heartbeater's kept registrations (one key each). */
  store: LogStore
  /** Keys of registered reeves, for this node's steward. */
  whitelist: FileWhitelist
  flock(): FlockContext
  log: Walrus
}

export interface Strew {
  /** host:port of the gRPC server, as announced. */
  readonly address: string
  readonly reeveNodeId: string
  readonly reeveKeyId: string
  readonly actors: ReturnType<typeof strewActors>
  readonly server: StrewServer['server']
  readonly road: GrpcRoad
  /** The steward the reeve forwards to (null until registered with one). */
  following(): { address: string; term: number } | null
  /** This node's steward's term, or null when it is not the steward. */
  stewardTerm(): number | null
  /** Tells the follower what the flock says, if it changed. Call after each flock step. */
  follow(): void
  close(): Promise<void>
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')

/** Spawns the strew actors in `c.host` (which sends through `road`) and serves them. */
export function startStrew(c: StrewComponents, init: StrewInit, bound: StrewServer, road: StrewRoad): Strew {
  const { host, clock, identity } = c
  const { side } = road
  const actors = strewActors(init.node)
  const server = bound.server
  road.attach(host)
  // The keys a channel may present: this node's own, the steward its reeve registers or registered
  // with (named by the follower to the reeve), and the reeves on this node's steward's whitelist.
  bound.trust((key: string) => {
    if (key === road.reeveKeyId || key === road.stewardKeyId) return identity.publicKey
    const r = contextOf<ReeveContext>(host, actors.reeve)
    for (const s of [r?.steward, r?.callback]) if (s != null && s.keyId === key) return new Uint8Array(Buffer.from(s.key, 'base64'))
    return c.whitelist.get(key)
  })
  server.setStatus('crux.v1.ReeveService', 'SERVING')
  server.setStatus('crux.v1.StewardService', 'NOT_SERVING')
  server.setStatus('crux.v1.RegistryService', 'NOT_SERVING')
  const now = clock.now()
  const local = c.store.values(actors.reeve, 'local') as CatalogEndpoint[]
  // The heartbeater keeps only services the reeve has: a kill between the two logs' writes of one
  // flush could leave it one the reeve never acknowledged; the reeve tells it to let go of a service
  // only if it had registered it, so such a one is dropped here.
  const registered = new Set(local.map((e) => e.nodeId))
  const kept = (c.store.values(actors.heartbeater, 'beat/') as Kept[]).filter((k) => {
    if (registered.has(k.nodeId)) return true
    c.store.put(actors.heartbeater, `beat/${k.uuid}`, null)
    c.log.warn('dropped a heartbeat-kept service the reeve does not have (a kill mid-write?)', { uuid: k.uuid, nodeId: k.nodeId })
    return false
  })
  spawnStrewActors(host, {
    node: init.node,
    reeveNodeId: road.reeveNodeId,
    address: init.address,
    horde: init.horde,
    hbMs: init.hbMs,
    reeveKeyId: road.reeveKeyId,
    stewardKeyId: road.stewardKeyId,
    publicKey: b64(identity.publicKey),
    kept,
    local,
    keys: c.whitelist.keyIds(),
    ...(init.rules === undefined ? {} : { rules: init.rules }),
    batchMs: init.batchMs ?? 50,
    forwardBatchMs: init.forwardBatchMs ?? 10,
    ...(init.settleMs === undefined ? {} : { settleMs: init.settleMs }),
    now,
  })
  // Restored registrations without heartbeats serve at once; the heartbeater judges the others.
  const beating = new Set(kept.map((k) => k.nodeId))
  for (const e of local) if (!beating.has(e.nodeId)) server.setStatus(e.nodeId, 'SERVING')
  // grpc.health.v1 of the steward's services follows the steward machine's state.
  let leading = false
  host.onStep((info) => {
    if (info.actor !== actors.steward) return
    const active = stewardTermOf(side) !== null
    if (active === leading) return
    leading = active
    const status = active ? 'SERVING' : 'NOT_SERVING'
    server.setStatus('crux.v1.StewardService', status)
    server.setStatus('crux.v1.RegistryService', status)
    c.log.info(active ? 'steward started' : 'steward retired', { term: (host.state(actors.steward).context as { term: number }).term })
  })
  const feed = createFlockViewFeed()
  let closed = false
  return {
    address: init.address,
    reeveNodeId: road.reeveNodeId,
    reeveKeyId: road.reeveKeyId,
    actors,
    server,
    road: road.road,
    following: () => followingOf(side),
    stewardTerm: () => stewardTermOf(side),
    follow() {
      if (closed) return
      const view = feed.next(c.flock())
      if (view !== null) host.send(actors.follower, view, 'control')
    },
    async close() {
      closed = true
      road.close()
      await server.close()
    },
  }
}
