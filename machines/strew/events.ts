/**
 * Every event of the strew machines (follower, steward, registry, reeve, heartbeater), as typed
 * discriminated unions, and what each machine is spawned with. Messages leave a machine only as `send`
 * effects; the address forms (`<node>/<name>`, `grpc://HOST:PORT/<name>`, `reply:<n>`, `port:<name>`)
 * are the road's (see machines/strew/addresses.ts). Conventions:
 *
 * - A request that expects an answer carries `id` (a counter of the sending machine); its answer
 *   carries the same `id`. A failed call comes back as {@link CallFailed}.
 * - An inbound call arrives with `from` (`reply:<n>`, where the answer goes) and `caller` (the KeyID
 *   the channel authenticated, '' for open methods): {@link Inbound}. The machine answers with a send
 *   to `from`: the route's answer type, or {@link CallRefused}.
 * - Bytes travel as base64 strings. No crypto in machines: the edge seals, signs, verifies and hashes,
 *   and puts the results in the event (`keyNode`, `stewardNode`, `proven`).
 * - `now` (ms on the node's clock) is stamped by the host on every delivery.
 *
 * Pure module: types only.
 */
import type { Beat } from '../heartbeater/rules.js'
import type { CatalogEndpoint, EndpointUpdate, Rule } from '../steward/types.js'

export type { Beat, CatalogEndpoint, EndpointUpdate, Rule }

/** A base64 string (keys, challenges). */
export type Base64 = string

/** Why a call failed, by name (gRPC status numbers exist only at the gRPC edge). */
export type CallCode =
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'FAILED_PRECONDITION'
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL'

/** Stamped by the host on delivery. */
type Stamped = { now?: number }

/** What the road adds to a request it delivers as an inbound call. */
export type Inbound<T> = T & {
  /** `reply:<n>`: where the answer (or answers, for a stream) goes. */
  from: string
  /** The KeyID the channel authenticated ('' for a method open to anyone). */
  caller: string
}

// ---------------------------------------------------------------- the road's own events

/** A request this machine sent got no answer of its route's type. Sent by the road to the requester. */
export type CallFailed = Stamped & { type: 'call.failed'; id: number; request: string; code: CallCode; message: string }

/**
 * A machine refusing an inbound call: sent by the machine to `from`. A requester on the same node may
 * also get it as is (when the road delivers a call to a local mailbox), so requesters take it like
 * {@link CallFailed}.
 */
export type CallRefused = Stamped & { type: 'call.refused'; id?: number; code: CallCode; message: string }

/** The client of an inbound streaming call went away. Sent by the road to the actor that holds `from`. */
export type CallCancelled = Stamped & { type: 'call.cancelled'; from: string }

/** A timer the machine set fired (the host delivers it). */
export type TimerFired = Stamped & { type: 'timer.fired'; name: string }

// ---------------------------------------------------------------- shared shapes

/** A member of the flock as the leader's list has it: its node id and the host of its flock address. */
export type Member = { node: string; host: string }

/** A catalog push's body (ReeveService.PushCatalog). */
export type CatalogPushBody = {
  term: number
  version: number
  /** True: the whole catalog of the reeve's horde; false: what changed since `base`. */
  full: boolean
  base: number
  endpoints: CatalogEndpoint[]
  remove: string[]
  rules: Rule[]
}

/** A heartbeat-kept registration: what the heartbeater holds and persists under `beat/<uuid>`. */
export type Kept = { uuid: string; nodeId: string; holdMs: number }

// ---------------------------------------------------------------- the follower (`<node>/follower`)

/**
 * What the flock says now. Sent by the edge to `<node>/follower` after a flock step whenever one of
 * these changed.
 */
export type FlockView = Stamped & {
  type: 'flock.view'
  /** This node leads its flock. */
  leading: boolean
  /** The leader's node id. */
  leader: string
  /** The gRPC HOST:PORT the leader announces for its steward ('' if none). */
  steward: string
  /**
   * This node's member list when it holds one (`listHeld`): the leader's own, or a member's copy of it
   * (list sync); else empty. The steward and registry get it while this node leads; the reeve serves
   * only the endpoints of nodes it lists.
   */
  members: Member[]
  /** This node holds the member list (it leads, or members copy the leader's); absent: only while leading. */
  listHeld?: boolean
  /**
   * The leader this node gave up on (it left it while suspecting it) and until when, on this node's
   * clock, it will not follow it again; absent: none, or it spoke again since.
   */
  lost?: { node: string; until: number }
}

/** Registration accepted for call-back (status BUSY). Sent by the registry to the register call's `from`; reaches the follower. */
export type RegistryBusy = Stamped & {
  type: 'registry.busy'
  id: number
  stewardKeyId: string
  stewardKey: Base64
  /** The node id the steward's key makes (the receiving edge computes it from `stewardKey`). */
  stewardNode: string
}

/** Registration done (status DONE): the key is on the steward's whitelist. Terminal. Sent like {@link RegistryBusy}. */
export type RegistryDone = Stamped & {
  type: 'registry.done'
  id: number
  term: number
  stewardKeyId: string
  stewardKey: Base64
  stewardNode: string
}

/** Registration failed (status FAILED). Terminal. Sent like {@link RegistryBusy}. */
export type RegistryFailed = Stamped & { type: 'registry.failed'; id: number; error: string }

/**
 * The steward refused the reeve (PERMISSION_DENIED or FAILED_PRECONDITION): register again. Sent by
 * the reeve to `<node>/follower`.
 */
export type ReeveRefused = Stamped & { type: 'reeve.refused'; address: string; term: number; code: CallCode }

/**
 * The steward at `address` now leads under `term`, higher than the term the reeve registered under
 * (its registry raised it above a term another steward had): the reeve took its whole catalog and
 * forwards under `term` from now on. Sent by the reeve to `<node>/follower`, which keeps the term as
 * the highest it has seen.
 */
export type ReeveRaised = Stamped & { type: 'reeve.raised'; address: string; term: number }

/**
 * The steward at `address` pushes under a term below the catalog the reeve holds (`term`): the reeve
 * will not go back, so the node registers again, telling the steward `term` so that it raises its own
 * above it. Sent by the reeve to `<node>/follower`.
 */
export type ReeveBehind = Stamped & { type: 'reeve.behind'; address: string; term: number }

/**
 * This node's registry raised its steward's term to `term` (a registering node had followed a steward
 * under a term at least as high): a later `lead` starts above it. Sent by the registry to `<node>/follower`.
 */
export type FollowerRaised = Stamped & { type: 'follower.raised'; term: number }

/** The follower's inputs. */
export type FollowerEvent = FlockView | RegistryBusy | RegistryDone | RegistryFailed | CallFailed | CallRefused | ReeveRefused | ReeveRaised | ReeveBehind | FollowerRaised | TimerFired

// ---------------------------------------------------------------- the steward (`<node>/steward`)

/** This node has led for the settle window: be the steward under `term`. Sent by the follower to `<node>/steward`. */
export type StewardLead = Stamped & { type: 'steward.lead'; term: number }

/** This node no longer leads: stop being the steward. Sent by the follower to `<node>/steward`. */
export type StewardRetire = Stamped & { type: 'steward.retire' }

/**
 * The flock's members, while this node leads (sent after `steward.lead` and whenever the list
 * changes). Sent by the follower to `<node>/steward`. A reeve of a node not listed is retired.
 */
export type StewardMembers = Stamped & { type: 'steward.members'; members: Member[] }

/**
 * A reeve's endpoints (StewardService.UpdateEndpoints). Sent by a reeve to `grpc://STEWARD/steward`
 * (the steward it registered with); arrives as {@link Inbound}. Answer {@link EndpointsUpdated} or
 * {@link CallRefused}.
 */
export type EndpointsUpdate = Stamped & {
  type: 'endpoints.update'
  id: number
  /** The steward's term the reeve registered under: another term's steward refuses it. */
  term: number
  update: EndpointUpdate
}

/** The update was applied. Sent by the steward to the update's `from`. */
export type EndpointsUpdated = Stamped & { type: 'endpoints.updated'; id: number; term: number; version: number }

/** The reeve took a push, and holds `version` now. Sent by the reeve to the push's `from`; reaches the steward. */
export type CatalogPushed = Stamped & { type: 'catalog.pushed'; id: number; version: number }

/**
 * Lead under `term`, higher than the current one, keeping the catalog: the registry raised the term
 * above one a registering node had followed (after a partition heals, the merged flock may keep the
 * steward with the lower term). Every reeve gets the whole catalog under the new term. Sent by the
 * registry to `<node>/steward`; ignored unless active and higher.
 */
export type StewardRaise = Stamped & { type: 'steward.raise'; term: number }

/** The steward's inputs. */
export type StewardEvent = StewardLead | StewardRaise | StewardRetire | StewardMembers | Inbound<EndpointsUpdate> | CatalogPushed | CallFailed | CallRefused | TimerFired

// ---------------------------------------------------------------- the registry (`<node>/registry`)

/** Take registrations under `term` (the local steward's). Sent by the follower to `<node>/registry`. */
export type RegistryLead = Stamped & { type: 'registry.lead'; term: number }

/** Stop taking registrations. Sent by the follower to `<node>/registry`. */
export type RegistryRetire = Stamped & { type: 'registry.retire' }

/** The flock's members, while leading. Sent by the follower to `<node>/registry`. */
export type RegistryMembers = Stamped & { type: 'registry.members'; members: Member[] }

/**
 * A node registers, as its follower sends it, to `grpc://STEWARD/registry`. The edge seals it under the
 * flock secret for steward `steward` (with its time and a nonce).
 */
export type RegistryRegisterRequest = Stamped & {
  type: 'registry.register'
  id: number
  /** The node id of the steward it is meant for (the flock's leader). */
  steward: string
  /** The reeve's NodeID, NetID (where it is called back) and public key. */
  nodeId: string
  netId: string
  publicKey: Base64
  /**
   * The highest steward term the node has followed (0: none, or only the steward it registers with
   * again): a steward at or below it raises its term above it before answering DONE.
   */
  seenTerm: number
}

/**
 * A registration as the registry receives it ({@link Inbound}, `caller` ''): the edge has opened the
 * seal and checked it is for this steward and fresh. Answers, to `from`: {@link RegistryBusy}, then
 * {@link RegistryDone} or {@link RegistryFailed}.
 */
export type RegistryRegister = Stamped & {
  type: 'registry.register'
  id: number
  /** The node the NodeID names. */
  node: string
  nodeId: string
  netId: string
  /** The KeyID the key is whitelisted under (`/Reeve1_0/<node>/keys/<fingerprint>`, computed by the edge). */
  keyId: string
  publicKey: Base64
  /** The node id the key makes (computed by the edge). */
  keyNode: string
  /** Where the reeve is called back: the NetID's HOST:PORT. */
  callback: string
  /** The NetID's host. */
  netHost: string
  /** A fresh random challenge for the call-back (the edge draws it: machines have no randomness). */
  challenge: Base64
  /** The highest steward term the node has followed ({@link RegistryRegisterRequest}); absent from old callers. */
  seenTerm?: number
}

/**
 * Drop every key of `node` from the whitelist (RegistryService.Forget). Arrives as {@link Inbound}
 * (`caller` ''), the edge having opened the seal and checked it. Answer {@link RegistryForgotten} or
 * {@link CallRefused} (FAILED_PRECONDITION when not the steward, NOT_FOUND when no key of the node).
 */
export type RegistryForget = Stamped & { type: 'registry.forget'; id: number; node: string }

/** The keys removed. Sent by the registry to the forget's `from`. */
export type RegistryForgotten = Stamped & { type: 'registry.forgotten'; id: number; term: number; removed: string[] }

/**
 * Factor 2: prove key `keyId` over `challenge` (ReeveService.PullKeys). Sent by the registry to
 * `grpc://CALLBACK/reeve`; arrives at the reeve as {@link Inbound}. Answer {@link KeysProof}.
 */
export type KeysPull = Stamped & { type: 'keys.pull'; id: number; keyId: string; challenge: Base64 }

/** The reeve's answer to a pull, before the edge signs it (the edge adds the keys and the signature). Sent by the reeve to `from`. */
export type KeysProof = Stamped & { type: 'keys.proof'; id: number; keyId: string; challenge: Base64 }

/** The pull's answer as the registry gets it: `proven` when the edge verified the signature over the challenge with the registered key. */
export type KeysPulled = Stamped & { type: 'keys.pulled'; id: number; proven: boolean }

/** The registry's inputs. */
export type RegistryEvent = RegistryLead | RegistryRetire | RegistryMembers | Inbound<RegistryRegister> | Inbound<RegistryForget> | KeysPulled | CallFailed | CallRefused | TimerFired

// ---------------------------------------------------------------- the reeve (`<node>/reeve`)

/**
 * A local service registers (ReeveService.RegisterService). From the edge, as {@link Inbound}: `caller`
 * must be the node's own reeve KeyID. Answer {@link ReeveRegistered} or {@link CallRefused}.
 */
export type ReeveRegister = Stamped & {
  type: 'reeve.register'
  id: number
  endpoint: CatalogEndpoint
  /** Kept by heartbeats under `uuid`, each holding `holdMs` (the first one is this registration). */
  heartbeat?: { uuid: string; holdMs: number; state?: 'up' | 'down' }
}

/**
 * Registered (the edge answers the caller once the step's persists are on disk). Sent by the reeve to
 * `from`. `heartbeater`: the heartbeater may persist for this call too (it keeps the service, or may
 * have kept it before), so the answer also waits for what the heartbeater does with its mail.
 */
export type ReeveRegistered = Stamped & { type: 'reeve.registered'; id: number; heartbeater: boolean }

/** A local service leaves (ReeveService.DeregisterService), as {@link Inbound}. Answer {@link ReeveDeregistered} or NOT_FOUND. */
export type ReeveDeregister = Stamped & { type: 'reeve.deregister'; id: number; nodeId: string }

/** Deregistered. Sent by the reeve to `from`; `heartbeater` as in {@link ReeveRegistered}. */
export type ReeveDeregistered = Stamped & { type: 'reeve.deregistered'; id: number; heartbeater: boolean }

/** The heartbeater judged a heartbeat-kept service. Sent by the heartbeater to `<node>/reeve`. */
export type ServiceState = Stamped & { type: 'service.state'; nodeId: string; state: 'up' | 'down' }

/**
 * Registered with a steward: forward to `grpc://ADDRESS/steward` under `term`, take pushes only from
 * KeyID `keyId`. Sent by the follower to `<node>/reeve`.
 */
export type ReeveSteward = Stamped & { type: 'reeve.steward'; address: string; term: number; keyId: string; key: Base64 }

/**
 * A registration got BUSY from steward key `keyId`: accept its call-back (keys.pull). Sent by the
 * follower to `<node>/reeve`.
 */
export type ReeveRegistering = Stamped & { type: 'reeve.registering'; keyId: string; key: Base64 }

/**
 * The steward's catalog (ReeveService.PushCatalog). Sent by the steward to `grpc://REEVE/reeve`; arrives
 * as {@link Inbound}, `caller` the steward's KeyID. Answer {@link CatalogPushed} (the version the
 * reeve holds) or {@link CallRefused}.
 */
export type CatalogPush = Stamped & CatalogPushBody & { type: 'catalog.push'; id: number }

/**
 * Watch the catalog (ReeveService.WatchCatalog, server streaming), as {@link Inbound} from the edge.
 * Answers to `from`, never terminal: one {@link CatalogSnapshot}, then a {@link CatalogDelta} per change;
 * ends with {@link CallCancelled}.
 */
export type CatalogWatch = Stamped & {
  type: 'catalog.watch'
  id: number
  /** The watching service's NodeID: sees what the rules allow it. Absent or '': the node itself, its whole horde. */
  nodeId?: string
  /** Only this API's endpoints. */
  api?: string
}

/** What the watcher may see, whole. Sent by the reeve to the watch's `from`. */
export type CatalogSnapshot = Stamped & { type: 'catalog.snapshot'; id: number; endpoints: CatalogEndpoint[]; version: number }

/** What changed for the watcher. Sent by the reeve to the watch's `from`. */
export type CatalogDelta = Stamped & { type: 'catalog.delta'; id: number; endpoints: CatalogEndpoint[]; removed: string[]; version: number }

/** A grpc.health.v1 status (service = the endpoint's NodeID). Sent by the reeve to `port:health`. */
/** `SERVICE_UNKNOWN`: the service is gone (deregistered); its status is forgotten. */
export type HealthStatus = Stamped & { type: 'health.status'; service: string; status: 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' }

/**
 * The nodes the flock lists now, as this node's flock view has them (null: this node does not hold
 * the member list). What the reeve serves leaves out the endpoints of nodes not listed: liveness is the
 * local flock's, so a dead node's services stop being served once the flock drops it, whoever was the
 * steward. Sent by the follower to `<node>/reeve` when the set changes.
 */
export type ReeveMembers = Stamped & { type: 'reeve.members'; nodes: string[] | null }

/** The reeve's inputs. */
export type ReeveEvent =
  | ReeveMembers
  | Inbound<ReeveRegister>
  | Inbound<ReeveDeregister>
  | ServiceState
  | ReeveSteward
  | ReeveRegistering
  | EndpointsUpdated
  | CallFailed
  | CallRefused
  | Inbound<CatalogPush>
  | Inbound<KeysPull>
  | Inbound<CatalogWatch>
  | CallCancelled
  | TimerFired

// ---------------------------------------------------------------- the heartbeater (`<node>/heartbeater`)

/** Keep `nodeId` up by heartbeats under `uuid`; this counts as its first beat. Sent by the reeve to `<node>/heartbeater`. */
export type HeartbeatKeep = Stamped & { type: 'heartbeat.keep'; uuid: string; nodeId: string; holdMs: number; state?: 'up' | 'down' }

/** Heartbeats (all but uuid `but`) no longer keep `nodeId`. Silent: the reeve says what became of it. Sent by the reeve to `<node>/heartbeater`. */
export type HeartbeatUnkeep = Stamped & { type: 'heartbeat.unkeep'; nodeId: string; but?: string }

/**
 * Heartbeats (ReeveService.SendHeartbeats), as {@link Inbound} from the edge (`caller` the node's own
 * KeyID). Answer {@link HeartbeatOk}, or NOT_FOUND when a uuid is not kept (then none is taken).
 */
export type HeartbeatBeats = Stamped & { type: 'heartbeat.beats'; id: number; beats: Beat[] }

/** The beats were taken. Sent by the heartbeater to `from`. */
export type HeartbeatOk = Stamped & { type: 'heartbeat.ok'; id: number }

/** The heartbeater's inputs. */
export type HeartbeaterEvent = HeartbeatKeep | HeartbeatUnkeep | Inbound<HeartbeatBeats> | TimerFired

// ---------------------------------------------------------------- spawn inputs (the host adds nothing: `now` is the spawn time)

/** The follower of node `node`. */
export type FollowerInput = {
  node: string
  /** The reeve's NodeID, NetID (`/Reeve1_0/<node>/net/<grpc HOST:PORT>`) and public key: what a registration says. */
  nodeId: string
  netId: string
  publicKey: Base64
  hbMs: number
  /** What the flock says must hold this long before it is acted on. Default 2 heartbeats. */
  settleMs?: number
  now: number
}

/** The steward of node `node` (spawned idle on every node). */
export type StewardSpawn = {
  node: string
  rules?: Rule[]
  /** Updates within this window go out as one push, ms. Default 50. */
  batchMs?: number
  now: number
}

/** The registry of node `node` (spawned idle on every node). */
export type RegistryInput = {
  node: string
  /** The steward's own KeyID (`/Steward1_0/<node>/keys/<fp>`) and public key, told to registering reeves. */
  stewardKeyId: string
  stewardKey: Base64
  /** The KeyIDs on the whitelist now (persisted under `whitelist/<keyId>`). */
  keys: string[]
  /** How long a reeve has to answer the call-back, ms. Default 10 000. */
  callbackMs?: number
  /** Between call-back attempts, ms. Default 500. */
  retryMs?: number
  now: number
}

/** The reeve of node `node`. */
export type ReeveInput = {
  node: string
  /** The reeve's NodeID (/bloc/horde/node/Reeve/Reeve1), gRPC HOST:PORT and horde. */
  reeve: string
  address: string
  horde: string
  /** The node's own reeve KeyID: local callers must be it. */
  keyId: string
  /** After a failed forward, ms. Default 1 000 (the fulcrum passes a heartbeat). */
  retryMs?: number
  /** New changes wait this long for company before a forward goes, ms. Default 0. */
  batchMs?: number
  /** The registrations persisted under `local<NodeID>`. */
  local?: CatalogEndpoint[]
  now: number
}

/** The heartbeater of node `node`. */
export type HeartbeaterInput = {
  node: string
  /** The node's own reeve KeyID: SendHeartbeats callers must be it. */
  keyId: string
  /** The registrations persisted under `beat/<uuid>`: each gets one more hold. */
  kept?: Kept[]
  now: number
}
