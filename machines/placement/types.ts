/**
 * Placement's events, messages and contexts (issue 18; seed 001's dean and proctor, original-crux.md
 * §5.5–5.7). The proctor (one per node, active on the flock's leader under the steward's term) solves
 * the khan program against the flock's muster and tells each node's dean what that node should run;
 * the dean (one per node) turns the difference between that and what it started into picket requests.
 * Both are machines behind mailboxes: the proctor's assignments leave on the road as DeanService.Assign
 * calls, the dean's requests go to the node's picket as its events, and every answer comes back as one.
 *
 * Pure module: types only.
 */
import type { ServiceState } from '../picket/types.js'

type Stamped = { now?: number }

/** A program as proctor and deans hold it: khan source and the bundle each placed service runs. */
export interface PlacementProgram {
  /** 1, 2, …: each apply one more than the highest the proctor knew. */
  version: number
  text: string
  /** Service → `sha256:<64 hex>`. */
  bundles: Record<string, string>
}

/** One service of a node's muster, as placement reads it. */
export interface MusterService {
  name: string
  hash: string
  state: ServiceState
  up: boolean
}

/** One node of the flock as its muster in the catalog describes it. */
export interface MusterNode {
  node: string
  /** Its gRPC address: its dean is `grpc://<address>/dean`. */
  address: string
  labels: string[]
  services: MusterService[]
}

// ---------------------------------------------------------------- proctor

/**
 * From the edge, whenever it changes: whether this node's steward leads (and under which term), where
 * the leader's gRPC is, and the flock's members as this node lists them (empty unless it leads).
 */
export type ProctorView = Stamped & { type: 'proctor.view'; leading: boolean; term: number; leader: string | null; members: string[] }
/** From the edge, while leading: the nodes whose muster is in the catalog (a dead node's leaves with it). */
export type ProctorInventory = Stamped & { type: 'proctor.inventory'; nodes: MusterNode[] }
/** From the node's dean: the program it keeps (the copy a new proctor starts from). */
export type ProctorProgram = Stamped & { type: 'proctor.program'; program: PlacementProgram }
/** PlacementService.Apply, as the road delivers it. */
export type PlacementApply = Stamped & { type: 'placement.apply'; id: number; from: string; caller: string; text: string; bundles: Record<string, string> }
/** A dean's answer to an assignment. */
export type DeanAssigned = Stamped & { type: 'dean.assigned'; id: number; programVersion: number; program: PlacementProgram | null; taken: boolean }
export type CallFailed = Stamped & { type: 'call.failed'; id?: number; code: string; message: string }
export type CallRefused = Stamped & { type: 'call.refused'; id?: number; code: string; message: string }
export type TimerFired = Stamped & { type: 'timer.fired'; name: string }

export type ProctorEvent = ProctorView | ProctorInventory | ProctorProgram | PlacementApply | DeanAssigned | CallFailed | CallRefused | TimerFired

/** To a dean (`grpc://<address>/dean`): everything placement runs on that node. */
export type DeanAssignMsg = { type: 'dean.assign'; id: number; term: number; program: PlacementProgram; services: Record<string, string> }
/** The answer to an apply. */
export type PlacementApplied = { type: 'placement.applied'; id: number; version: number; services: string[]; warnings: string[] }

export interface ProctorInput {
  node: string
  now: number
  /** One period, ms: the proctor solves again at least this often while it leads (default 1 HB). */
  periodMs: number
  /** A dean's assignment not answered within this is sent again, ms. */
  retryMs: number
  /**
   * After coming to lead, how long the proctor waits for every member's muster to reach the catalog
   * before it solves with the musters it has, ms (a new steward's catalog fills as reeves register again).
   */
  settleMs: number
  /** Seeds the solver's tie-breaks (the same seed and inputs: the same placement). */
  seed: string
}

/** What the proctor last sent one node, and whether the dean took it. */
export interface Assignment {
  services: Record<string, string>
  /** The call on its way (null: none). */
  sending: number | null
  /** When it was last sent. */
  sentAt: number
  /** The dean took exactly this (under the current program). */
  taken: boolean
}

/** What the last solve found, for `crux placement ls`. */
export interface Solved {
  ok: boolean
  placement: Record<string, Record<string, number>>
  warnings: string[]
  explain: string[]
  /** Service → the start clauses that hold its new instances back. */
  held: Record<string, string>
}

export interface ProctorContext {
  node: string
  now: number
  periodMs: number
  retryMs: number
  seed: string
  settleMs: number
  leading: boolean
  term: number
  leader: string | null
  /** The flock's members (while leading): only their musters count. */
  members: string[]
  /** When this term began. */
  ledAt: number
  program: PlacementProgram | null
  /** The muster as last told (null: not yet, since this node came to lead). */
  nodes: MusterNode[] | null
  assigned: Record<string, Assignment>
  /** Call id → the node it assigned. */
  calls: Record<number, string>
  nextId: number
  solved: Solved | null
}

// ---------------------------------------------------------------- dean

/** DeanService.Assign, as the road delivers it. */
export type DeanAssign = Stamped & DeanAssignMsg & { from: string; caller: string }
/** The node's picket answering a request (machines/picket/types.ts PicketAnswer). */
export type PicketAnswered = Stamped & { type: 'picket.answer'; id: number; code: string; message: string; service: { name: string; hash: string; state: string } | null }

/** From the edge, after the node's picket changed which services it has: every name it has, with its bundle. */
export type DeanPicket = Stamped & { type: 'dean.picket'; services: Record<string, string> }

export type DeanEvent = DeanAssign | PicketAnswered | DeanPicket | CallFailed | CallRefused | TimerFired

/** What a dean does about one name: add it, move it to another bundle, or delete it. */
export type DeanOp = 'add' | 'upgrade' | 'delete'

export interface DeanInput {
  node: string
  now: number
  /** The node's picket (`<node>/picket`) and the KeyID it takes requests from (the node's own). */
  picket: string
  keyId: string
  /** The node's proctor (`<node>/proctor`): told the program this dean keeps. */
  proctor: string
  /** The node's pastiche (`<node>/pastiche`): asked to hold every bundle of a new program, so a start elsewhere after a node dies need not fetch it. */
  pastiche?: string
  self: string
  /** A request that failed is tried again after this, ms. */
  retryMs: number
  /** What was persisted before a restart. */
  restored?: DeanState | null
}

/** What a dean persists (key `dean`). */
export interface DeanState {
  term: number
  program: PlacementProgram | null
  /** Name → hash: what the proctor last assigned this node. */
  assigned: Record<string, string>
  /** Name → hash: what this dean started and has not deleted. */
  managed: Record<string, string>
}

export interface DeanContext extends DeanState {
  node: string
  now: number
  input: Omit<DeanInput, 'restored' | 'now' | 'node'>
  /** The picket request on its way. */
  inflight: { id: number; name: string; op: DeanOp; hash: string } | null
  /** Names picket refused for good (a service of that name it did not start): name → why. */
  blocked: Record<string, string>
  /** After a failed request, none is sent before this time. */
  notBefore: number
  nextId: number
}
