/**
 * The pastiche machine in a fulcrum, as actors/sim/pastiche-sim.ts runs it in the simulator: actor
 * `<node>/pastiche` in the flock's host, spawned with what the store holds and the holdings it
 * persisted (`want/<hash>`), its two ports served by the transfer edge (transfer-edge.ts). What feeds it,
 * each an event in its mailbox (so in the journal):
 * - the store's changes made by other ways than its own assemblies (a Put, gc, eviction, a failed
 *   verify): `blob.held` / `blob.gone`;
 * - its peers whenever the flock's members or their pastiche entries in the catalog change: each at
 *   the address its entry gives, with the blobs it announced (peers.ts); a member the catalog lacks
 *   yet at the host the flock knows it by and the port of this node's gRPC server;
 * - `want` / `unwant` from the Want and Unwant calls (service.ts);
 * - the reeve's answers to its announcements (`announce`: it registers this node's pastiche in the
 *   catalog, naming what it holds).
 */
import type { FlockContext } from '../../machines/flock/types.js'
import { pasticheMachine } from '../../machines/pastiche.machine.js'
import type { PasticheContext, PasticheInput, PasticheMessage, PersistedWant } from '../../machines/pastiche/types.js'
import type { Clock } from '../../runtime/clock.js'
import type { ActorHost } from '../../runtime/host.js'
import type { PortHandler } from '../../runtime/router.js'
import type { Store } from '../../runtime/store.js'
import type { ReeveContext } from '../../machines/reeve/rules.js'
import { createFlockViewFeed, flockViewOf, type Member } from '../strew/flock-view.js'
import type { PasticheClient } from './client.js'
import { announceOf, createPeerFeed } from './peers.js'
import type { BlobStore } from './store.js'
import { createTransferEdge, type TransferEdge } from './transfer-edge.js'

/** The ports' names, as the router knows them (`port:<name>`). */
export const PASTICHE_PORTS = ['pastiche-transfer', 'pastiche-store'] as const

export interface PasticheMachineInit {
  node: string
  host: ActorHost
  clock: Clock
  store: BlobStore
  /** Where the actor's persisted holdings are. */
  persisted: Store
  peer(address: string): PasticheClient
  flock(): FlockContext
  /** The port of this node's gRPC server: its peers' pastiche is at their host and this port. */
  grpcPort: number
  hbMs: number
  /**
   * Announce in the catalog through this node's reeve (a fulcrum running strew): the reeve's NodeID and
   * KeyID, and the gRPC address peers reach this node's pastiche at. Absent: peers come from the flock only.
   */
  catalog?: { reeveNodeId: string; reeveKeyId: string; address: string }
  log?: { warn(msg: string, fields?: Record<string, unknown>): void }
}

export interface PasticheMachine {
  readonly actor: string
  readonly edge: TransferEdge
  /** The machine's context now (undefined if it failed). */
  context(): PasticheContext | undefined
  /**
   * Whether no node can hold `hash` as far as the machine knows: this node lacks it, every peer
   * announced all it holds without naming it, no peer said it holds it, and none is being asked.
   */
  absent(hash: string): boolean
  /** Puts `want` / `unwant` into its mailbox. */
  tell(ev: { type: 'want'; hash: string; bytes?: number } | { type: 'unwant'; hash: string }): boolean
  close(): void
}

/**
 * The machine's persisted keys (`want/<hash>`) in a store whose keys are file names: `/` is kept as
 * `~` on disk (no blob name has either), and read back as `/`.
 */
export function pasticheKeys(files: Store): Store {
  const disk = (key: string) => key.replaceAll('/', '~')
  return {
    put: (actor, key, value) => files.put(actor, disk(key), value),
    get: (actor, key) => files.get(actor, disk(key)),
    keys: (actor) => files.keys(actor).map((k) => k.replaceAll('~', '/')),
  }
}

/** Late-bound handlers of the two ports: the router is built before the machine exists. */
export function pastichePorts(): { ports: Record<string, PortHandler>; bind(edge: TransferEdge): void } {
  let edge: TransferEdge | undefined
  const take: PortHandler = (ev) => edge?.take(ev as PasticheMessage)
  return { ports: Object.fromEntries(PASTICHE_PORTS.map((p) => [p, take])), bind: (e) => void (edge = e) }
}

/** Spawns the machine and feeds it; `bind` gives its edge to the ports. */
export function startPasticheMachine(init: PasticheMachineInit, bind: (edge: TransferEdge) => void): PasticheMachine {
  const { host, store, node } = init
  const actor = `${node}/pastiche`
  const deliver = (ev: Parameters<ActorHost['send']>[1]) => void host.send(actor, ev, 'control')
  const context = (): PasticheContext | undefined => (host.has(actor) && host.status(actor) !== 'failed' ? (host.state(actor).context as PasticheContext) : undefined)
  const edge = createTransferEdge({
    store,
    peer: init.peer,
    deliver,
    wanted: (hash) => context()?.wants[hash] !== undefined,
    // A range with no bytes for 4 heartbeats (at least 10 s) is cut: the simulator's fetch deadline.
    stallMs: Math.max(10_000, 4 * init.hbMs),
    ...(init.log === undefined ? {} : { log: init.log }),
  })
  bind(edge)
  store.watch((hash, bytes) => {
    if (edge.placing(hash)) return // the edge says it itself, after `assembled`
    deliver(bytes === null ? { type: 'blob.gone', hash } : { type: 'blob.held', hash, bytes })
  })
  const wants = init.persisted
    .keys(actor)
    .filter((k) => k.startsWith('want/'))
    .map((k) => init.persisted.get(actor, k) as PersistedWant | null)
    .filter((w): w is PersistedWant => w !== null && typeof w === 'object' && typeof w.hash === 'string')
    .map((w) => (w.bytes === null ? { hash: w.hash } : { hash: w.hash, bytes: w.bytes }))
  const c = init.catalog
  const input: PasticheInput = {
    node,
    now: init.clock.now(),
    held: store.ls().map((b) => ({ hash: b.hash, bytes: b.bytes })),
    wants,
    ...(c === undefined ? {} : { announce: announceOf(node, c) }),
  }
  host.spawn(actor, pasticheMachine.name, input)
  const flockFeed = createFlockViewFeed()
  const fallback = (m: Member) => `${m.host.includes(':') ? `[${m.host}]` : m.host}:${init.grpcPort}`
  const peerFeed = createPeerFeed({ node, ...(c === undefined ? {} : { reeveNodeId: c.reeveNodeId }), fallback })
  const reeveActor = `${node}/reeve`
  let members: readonly Member[] | null = null
  const tell = (): void => {
    if (flockFeed.next(init.flock()) !== null) {
      const view = flockViewOf(init.flock())
      // A member that does not hold the list knows no peers to tell: it keeps the last ones.
      if (view.listHeld) members = view.members
    }
    if (members === null) return
    const reeve = c !== undefined && host.has(reeveActor) ? (host.state(reeveActor).context as ReeveContext) : undefined
    const peers = peerFeed.next(members, reeve?.catalog, reeve?.listed ?? null)
    if (peers !== null) deliver({ type: 'peers', peers })
  }
  tell()
  const flockActor = `${node}/flock`
  // Only a push and a new member list change what the reeve serves (machines/reeve/catalog.ts): the
  // reeve's other steps (every registration a node makes) need no look at its catalog.
  const catalogEvents = new Set(['catalog.push', 'reeve.members'])
  host.onStep((step) => {
    if (step.actor === flockActor || (step.actor === reeveActor && catalogEvents.has(step.event.type))) tell()
  })
  return {
    actor,
    edge,
    context,
    absent(hash) {
      const ctx = context()
      if (ctx === undefined || ctx.held[hash] !== undefined) return false
      const named = Object.values(ctx.peers).some((p) => p.holds === undefined || p.holds.includes(hash))
      return !named && Object.keys(ctx.holders[hash] ?? {}).length === 0 && (ctx.asking[hash] ?? 0) === 0
    },
    tell: (ev) => host.send(actor, ev, 'control') === 'accepted',
    close: () => edge.close(),
  }
}
