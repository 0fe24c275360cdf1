/**
 * Picket in a fulcrum (issue 17): the picket machine as actor `<node>/picket` in the flock's host, its
 * port `port:picket-run` served by the run edge (run-edge.ts: bundles, processes), and what a read of
 * it answers (PicketService.List). Requests arrive on the road (routes.ts) as the machine's events;
 * the run edge, the reeve and the heartbeater answer into its mailbox, so a fulcrum's journal holds
 * every step of every service's life.
 *
 * The machine's persisted keys (`svc/<name>`) are kept as file names, `/` as `~` (as pastiche's are).
 */
import { join } from 'node:path'
import { DEFAULT_PICKET_CONFIG, picketMachine, RUN_PORT, viewOf } from '../../machines/picket.machine.js'
import type { PersistedService, PicketContext, PicketMessage, ServiceView } from '../../machines/picket/types.js'
import type { ReeveContext } from '../../machines/reeve/rules.js'
import { servedEndpoints } from '../../machines/reeve/served.js'
import { pick } from '../../machines/strew/selector.js'
import { nodeIdPrefixOf, parseNodeId } from '../../machines/strew/ids.js'
import type { Clock } from '../../runtime/clock.js'
import type { ActorHost } from '../../runtime/host.js'
import type { PortHandler } from '../../runtime/router.js'
import type { Store } from '../../runtime/store.js'
import type { BlobStore } from '../pastiche/store.js'
import { createRunEdge, type RunEdge } from './run-edge.js'
import { unary, type KeyLookup } from '../../runtime/grpc-server.js'
import type { InboundService } from '../../runtime/road-routes.js'
import { UnavailableError } from '../../runtime/errors.js'
import { createPicketRoutes, toInfo } from './routes.js'

/** The run edge's port, as the router knows it (the machine sends to `port:picket-run`). */
const PICKET_PORT = RUN_PORT.slice('port:'.length)

export interface PicketInit {
  node: string
  host: ActorHost
  clock: Clock
  dataDir: string
  /** Where the machine's keys are persisted (file names: see the header). */
  persisted: Store
  /** The node's blob store: bundles come from it. */
  blobs: BlobStore
  /** Asks the node's pastiche to hold a blob (its `want`): a bundle this node lacks is fetched from the flock. */
  want(hash: string): void
  /** Withdraws a want whose blob never came. */
  unwant?(hash: string): void
  /** Whether no node can hold a blob, as far as the node's pastiche knows: such a bundle fails fast. */
  absent?(hash: string): boolean
  /** The reeve's NodeID (`/bloc/horde/node/Reeve/Reeve1`) and KeyID: services register beside it, as the node. */
  reeveNodeId: string
  reeveKeyId: string
  hbMs: number
  /** The host the node is reached at (its gRPC address's): services listen there. */
  serviceHost: string
  /** The node's gRPC address (PicketService's): the node's muster is registered there. Absent: no muster. */
  address?: string
  /** The node's labels, published in its muster. */
  labels?: string[]
  log: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void }
}

export interface Picket {
  readonly actor: string
  /** Every service as the machine has it now. */
  list(): ServiceView[]
  /** Stops every service (quit, then kill past their stopMs) and waits for them to be gone. */
  close(): Promise<void>
}

/** Late-bound handler of the run port: the router is built before the machine exists. */
export function picketPorts(): { ports: Record<string, PortHandler>; bind(edge: RunEdge): void } {
  let edge: RunEdge | undefined
  return { ports: { [PICKET_PORT]: (ev) => edge?.take(ev as PicketMessage) }, bind: (e) => void (edge = e) }
}

/**
 * PicketService for the road, made before the machine exists: List (read by the edge, changing
 * nothing) answers UNAVAILABLE until `bind` gives it the running picket. `trust` says whose keys are
 * taken (pastiche's: the node's own and its flock's members', actors/pastiche/trust.ts).
 */
export function picketRoutes(node: string, trust: { lookup: KeyLookup }): { service: InboundService; bind(p: Picket): void } {
  let picket: Picket | undefined
  // The flock's members may call (List); the machine lets only the node's own key change anything.
  const service = { ...createPicketRoutes({ node }), lookup: trust.lookup }
  service.direct = {
    list: unary(() => {
      if (picket === undefined) throw new UnavailableError('picket is not running yet')
      return { services: picket.list().map((v) => toInfo(node, v)) }
    }),
  }
  return { service, bind: (p) => void (picket = p) }
}

/** Spawns the machine with what it ran before, and its run edge. */
export function startPicket(init: PicketInit, bind: (edge: RunEdge) => void): Picket {
  const { host, node } = init
  const actor = `${node}/picket`
  const deliver = (ev: Parameters<ActorHost['send']>[1]) => void host.send(actor, ev, 'control')
  const reeve = `${node}/reeve`
  // A service's confab.lookup: what a client on this node would connect to (actors/strew/connect.ts's rule).
  const lookup = (api: string) => {
    if (!host.has(reeve)) return null
    const r = host.state(reeve).context as ReeveContext
    const e = pick(servedEndpoints(r.catalog, r.listed), { api })
    return e === undefined ? null : { address: e.address, instance: e.instance, nodeId: e.nodeId }
  }
  // A bundle pastiche must fetch first has a minute (at least 60 heartbeats) to arrive.
  const edge = createRunEdge({ store: init.blobs, want: init.want, deliver, log: init.log, lookup, ...(init.absent === undefined ? {} : { absent: init.absent }), ...(init.unwant === undefined ? {} : { unwant: init.unwant }) }, { dir: join(init.dataDir, 'picket'), fetchMs: Math.max(60_000, 60 * init.hbMs), host: init.serviceHost })
  bind(edge)
  const services = init.persisted
    .keys(actor)
    .filter((k) => k.startsWith('svc/'))
    .map((k) => init.persisted.get(actor, k) as PersistedService | null)
    .filter((s): s is PersistedService => s !== null && typeof s === 'object' && typeof s.name === 'string' && typeof s.hash === 'string')
  host.spawn(actor, picketMachine.name, {
    node,
    now: init.clock.now(),
    config: { ...DEFAULT_PICKET_CONFIG, hbMs: init.hbMs },
    reeve,
    heartbeater: `${node}/heartbeater`,
    keyId: init.reeveKeyId,
    self: actor,
    nodeIdPrefix: nodeIdPrefixOf(init.reeveNodeId),
    horde: parseNodeId(init.reeveNodeId).horde,
    services,
    ...(init.address === undefined ? {} : { address: init.address }),
    ...(init.labels === undefined ? {} : { labels: init.labels }),
  })
  const context = (): PicketContext | undefined => (host.has(actor) && host.status(actor) !== 'failed' ? (host.state(actor).context as PicketContext) : undefined)
  return {
    actor,
    list: () => Object.values(context()?.services ?? {}).map(viewOf),
    close: () => edge.closeAll(),
  }
}
