/**
 * The picket machine's events, messages and context (machines/picket.machine.ts, issue 17). One
 * machine per node runs that node's services: it decides when to prepare a bundle, start, register,
 * beat, restart with backoff, kill a hung one, stop, upgrade and roll back. The node's run edge
 * (actors/picket/run-edge.ts) does the work — fetch and unpack a bundle, spawn and signal processes —
 * and answers into this machine's mailbox; the reeve and the heartbeater answer its registrations and
 * beats the same way. `now` is stamped by the host on every delivery.
 *
 * A service is known by its `name` (unique on the node); each process it runs is a `run` (a number
 * unique on the node, never reused), so an answer about an old run is never taken for the new one.
 *
 * Pure module: types only.
 */
import type { CatalogEndpoint } from '../steward/types.js'

/** Stamped by the host on delivery. */
type Stamped = { now?: number }

// ---------------------------------------------------------------- the bundle's manifest

/** What `crux-service.json` says, checked (actors/picket/manifest.ts). */
export interface Manifest {
  /** The NodeID's service field (an upper-case letter, then letters, digits, `_`). Default: `api` without its trailing digits and `_`, as registration names it (machines/strew/ids.ts `defaultService`). */
  service: string
  /** The API served (`Echo1`): selectors name it. */
  api: string
  /** The instance (`echo_1`). */
  instance: string
  /** The ES module (a path inside the bundle) whose default export is `async (quit, alive, confab)`. */
  entry: string
  /** `process` (a child process, the default) or `worker` (a worker thread in the fulcrum). */
  kind: 'process' | 'worker'
  args: string[]
  env: Record<string, string>
  /** A registration holds this long after each `alive()`, ms; a service silent this long is killed. */
  ttlMs: number
  /** Time from spawn to registered before the start counts as failed, ms. */
  startMs: number
  /** After `quit`, time to exit before it is killed, ms. */
  stopMs: number
  /** How long an old version keeps running after an upgrade moved its registration, ms. */
  graceMs: number
  /** V8's old-space limit for the service's heap, MiB (null: Node's default). */
  memoryMb: number | null
  /**
   * Modules of crux's own installation the service may load with `confab.require` (only names of a
   * fixed list: `@grpc/grpc-js`, `@grpc/proto-loader`). The parser always sets it (default `[]`);
   * optional so that a manifest written before it still type-checks: absent is none.
   */
  modules?: string[]
}

// ---------------------------------------------------------------- events in

/**
 * A request from the gRPC edge (PicketService), as the road delivers an inbound call: `from` is where
 * the one {@link PicketAnswer} goes (`reply:<n>`), `caller` the KeyID the channel authenticated. Only
 * the node's own key (`input.keyId`) may ask; anyone else is answered PERMISSION_DENIED. Each is
 * answered at once, with the service as it stands after the step (a start answers `preparing`; the
 * caller watches `ls` for `running`).
 */
type Request = Stamped & { id: number; from: string; caller: string; name: string }
/** Run a bundle: `name` must be new on this node (else ALREADY_EXISTS). */
export type PicketStart = Request & { type: 'picket.start'; hash: string }
/** Ask a service to exit and keep it stopped (NOT_FOUND for an unknown name). */
export type PicketStop = Request & { type: 'picket.stop' }
/** Stop a service and forget it: its registration, its state, its working directory. */
export type PicketReset = Request & { type: 'picket.reset' }
/** Move a service to another bundle; a new version that does not become healthy is rolled back. */
export type PicketUpgrade = Request & { type: 'picket.upgrade'; hash: string }

/** The run edge has the bundle `hash` unpacked and its manifest checked, for run `run`. */
export type BundleReady = Stamped & { type: 'bundle.ready'; run: number; hash: string; manifest: Manifest }
/** The bundle cannot be had or is not a service (no such blob, a bad manifest, a missing entry). */
export type BundleFailed = Stamped & { type: 'bundle.failed'; run: number; hash: string; reason: string }
/** Run `run`'s process is up (`pid`: the OS process id; null for a worker thread). */
export type RunSpawned = Stamped & { type: 'run.spawned'; run: number; pid: number | null }
/** Run `run` says where it serves (the service called `confab.listening(address)`). */
export type RunListening = Stamped & { type: 'run.listening'; run: number; address: string }
/** Run `run` beat (`alive()`). */
export type RunAlive = Stamped & { type: 'run.alive'; run: number }
/** Run `run` ended: its exit code, or the signal that ended it. `error`: it could not be spawned at all. */
export type RunExited = Stamped & { type: 'run.exited'; run: number; code: number | null; signal: string | null; error?: string }

/** The reeve took registration `id` (a run's endpoint). */
export type ReeveRegistered = Stamped & { type: 'reeve.registered'; id: number }
/** The reeve removed endpoint registration `id`. */
export type ReeveDeregistered = Stamped & { type: 'reeve.deregistered'; id: number }
/** The heartbeater took beats `id`. */
export type HeartbeatOk = Stamped & { type: 'heartbeat.ok'; id: number }
/** The reeve or heartbeater refused call `id`, or the road could not deliver it. */
export type CallRefused = Stamped & { type: 'call.refused'; id?: number; code: string; message: string }
export type CallFailed = Stamped & { type: 'call.failed'; id: number; code: string; message: string }
/** One of the machine's own timers (`<kind>:<name>`). */
export type TimerFired = Stamped & { type: 'timer.fired'; name: string }

export type PicketEvent =
  | PicketStart
  | PicketStop
  | PicketReset
  | PicketUpgrade
  | BundleReady
  | BundleFailed
  | RunSpawned
  | RunListening
  | RunAlive
  | RunExited
  | ReeveRegistered
  | ReeveDeregistered
  | HeartbeatOk
  | CallRefused
  | CallFailed
  | TimerFired

// ---------------------------------------------------------------- messages out

/** To the run edge: have bundle `hash` present and unpacked (fetching it through pastiche), then say `bundle.ready` or `bundle.failed`. */
export type PrepareMsg = { type: 'prepare'; run: number; hash: string }
/** To the run edge: start run `run` of service `name` from the unpacked bundle `hash`. */
export type SpawnMsg = { type: 'spawn'; run: number; name: string; hash: string; manifest: Manifest }
/** To the run edge: ask run `run` to exit (aborts its `quit`). */
export type QuitMsg = { type: 'quit'; run: number }
/** To the run edge: end run `run` now (SIGKILL; a worker is terminated). */
export type KillMsg = { type: 'kill'; run: number }
/** To the run edge: remove service `name`'s working directory (after a reset; no run of it is alive). */
export type ForgetMsg = { type: 'forget'; name: string }

export type PicketMessage = PrepareMsg | SpawnMsg | QuitMsg | KillMsg | ForgetMsg

/** The answer to a request (`picket.*`), sent to its `from`. `code` as gRPC names it ('OK' on success). */
export type PicketAnswer = { type: 'picket.answer'; id: number; code: string; message: string; service: ServiceView | null }

// ---------------------------------------------------------------- context

/** Where a service stands (docs/SERVICES.md draws these). */
export type ServiceState =
  | 'preparing' // the bundle is being fetched and unpacked
  | 'starting' // spawned, not yet registered
  | 'running' // registered and beating
  | 'backoff' // ended unasked; starts again when the backoff is over
  | 'stopping' // asked to quit; killed if it outlives stopMs
  | 'stopped' // not running, by request
  | 'failed' // its bundle cannot be run (bad manifest, missing blob)

/** One process of a service. */
export interface Run {
  run: number
  hash: string
  pid: number | null
  /** Where it serves, once it said. */
  address: string | null
  /** The reeve registration in flight for it, or taken (`registered`). */
  registering: number | null
  registered: boolean
  /** When it last beat (or started). */
  lastBeat: number
  /** When it was spawned. */
  since: number
  /** Asked to quit (stop, upgrade's old version, rollback). */
  quitting: boolean
}

/** One service on this node. */
export interface Service {
  name: string
  /** The bundle it should run. */
  hash: string
  manifest: Manifest | null
  state: ServiceState
  /** The process running now (null: none). */
  current: Run | null
  /** During an upgrade: the new version's process, not yet registered. */
  next: (Run & { manifest: Manifest | null }) | null
  /** After an upgrade: the old version, walking dead until its grace period ends. */
  old: Run | null
  /** Times it was started again after ending unasked. */
  restarts: number
  /** Consecutive failed starts and crashes: the next backoff is `backoffMinMs · 2^failures`, at most `backoffMaxMs`. */
  failures: number
  /** Why it last ended or failed ('' if never). */
  reason: string
  /** A reset is under way: once no run of it is alive it is forgotten instead of kept stopped. */
  resetting?: boolean
}

/** What a request's answer and `ls` show of a service. */
export interface ServiceView {
  name: string
  hash: string
  api: string
  instance: string
  state: ServiceState
  pid: number | null
  restarts: number
  up: boolean
  address: string | null
  reason: string
}

/** The machine's settings. */
export interface PicketConfig {
  /** The first restart's delay, ms; doubles per consecutive failure. */
  backoffMinMs: number
  backoffMaxMs: number
  /** A run that stays registered this long resets `failures` to 0, ms. */
  backoffResetMs: number
  /** One heartbeat of the flock, ms: a hung service is killed within its ttl plus this. */
  hbMs: number
}

/** What the machine starts with. */
export interface PicketInput {
  node: string
  now: number
  config: PicketConfig
  /**
   * How its endpoints are registered: the reeve's actor (`<node>/reeve`), the heartbeater's, the KeyID a
   * local caller of them presents (the node's own), this machine's own address (where they answer),
   * and the NodeID prefix `/bloc/horde/node` an endpoint's `/Service/Api` is appended to.
   */
  reeve: string
  heartbeater: string
  keyId: string
  self: string
  nodeIdPrefix: string
  horde: string
  /** The services it ran before a restart (persisted `svc/<name>`), to be started again. */
  services: PersistedService[]
  /** The node's gRPC address (where PicketService answers): its muster is registered there (machines/picket/muster.ts). Absent: no muster. */
  address?: string
  /** The node's labels (`crux fulcrum --label`), published in its muster for placement. */
  labels?: string[]
}

/** What is persisted of a service (`svc/<name>`): enough to run it again after a restart. */
export interface PersistedService {
  name: string
  hash: string
  stopped: boolean
  /** Its manifest when it was persisted, if known: a stopped service shows its api and instance after a restart. */
  manifest?: Manifest | null
}

export interface PicketContext {
  node: string
  now: number
  config: PicketConfig
  input: Omit<PicketInput, 'services' | 'config' | 'now' | 'node' | 'address'>
  services: Record<string, Service>
  /** Next run number and call id. */
  nextRun: number
  nextId: number
  /** Registrations and beats in flight: call id → what for. */
  calls: Record<number, { kind: 'register' | 'deregister' | 'beat'; name: string; run: number }>
  /** The node's inventory in the catalog (null: not registered, the host gave no address). */
  muster: MusterState | null
}

/** How the node's muster stands (null in the context: the host gave no address to register at). */
export interface MusterState {
  /** The endpoint to register, without tags. */
  endpoint: CatalogEndpoint
  /** The tags the reeve last took (null: none yet). */
  announced: string[] | null
  /** The registration on its way: its id and tags. */
  sending: { id: number; tags: string[] } | null
  /** After a refused or failed registration, none is sent before this time (the `muster` timer). */
  notBefore: number
}

export type { CatalogEndpoint }
