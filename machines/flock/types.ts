/**
 * The flock's data: node ids, the one protocol packet (Info), the member-list messages, the config a
 * node is spawned with, and the machine's context. Pure types; docs/PROTOCOL.md explains each field.
 */
import type { RngState } from '../rng.js'

/** Identity of a node: moniker (unique in the flock), transport address, horde. */
export interface NodeId {
  id: string
  addr: string
  horde: string
}

/**
 * Why an Info was sent; the runtime uses it to pick the mailbox class (beats are superseded per sender).
 * `check` asks `dest` whether it is alive — sent to `dest` itself, or to a helper of the same flock,
 * which passes it on (an indirect probe); `alive` is the answer about `dest`, carried back the same way.
 */
export type InfoKind = 'probe' | 'ping' | 'beat' | 'leader-beat' | 'admin' | 'check' | 'alive'

/**
 * The protocol packet (original §1.2 Info), with two changes: expiry is relative (the receiver judges
 * age on its own clock; `sent` only orders one sender's packets), and the leader's heartbeat carries
 * the member-list version and digest so members can tell when their copy is stale.
 */
export interface Info {
  kind: InfoKind
  flock: string
  dest: NodeId
  me: NodeId
  leader: NodeId
  /** The sender's idea of its leader's vote; in admin packets the command code. */
  lvote: number
  /** The sender's own vote; 0 marks an admin command. */
  vote: number
  /** Sender's clock at send (ms); only compared with earlier packets of the same sender. */
  sent: number
  /** Current key epoch, chosen by the leader. */
  epoch: string
  steward: string
  registry: string
  yurt: string
  beacon: string
  /** Member-list version and digest (meaningful from a leader; empty otherwise). */
  listVersion: number
  listDigest: string
  /** Members the sender's leader has (the sender included when it is a member). */
  n: number
}

/** A member as the list carries it. */
export interface MemberEntry {
  id: string
  addr: string
  horde: string
}

/** Member asks the leader for list changes since `since` (0 = the whole list). */
export interface ListPull {
  flock: string
  me: NodeId
  since: number
}

/**
 * One chunk of the leader's answer. `full` chunks replace the list (chunk `index` of `count`);
 * delta chunks carry `added` and `removed` since `since`. `version` and `digest` describe the list
 * once every chunk is applied.
 */
export interface ListChunk {
  flock: string
  leader: NodeId
  version: number
  digest: string
  full: boolean
  since: number
  index: number
  count: number
  added: MemberEntry[]
  removed: string[]
}

/** A range of probe addresses: `prefix + k` for k in [from, to] (simulator), or IPv4 hosts × ports. */
export type ProbeRange =
  | { kind: 'names'; prefix: string; from: number; to: number }
  | { kind: 'ipv4'; base: number; count: number; portFrom: number; portTo: number }

/** How a node finds others: seed addresses, ranges, and the chance a random slot is used at all. */
export interface ProbeSpec {
  seeds: string[]
  ranges: ProbeRange[]
  /** Probability a random-range slot yields an address (original test `density`); 1 in production. */
  density: number
}

/** Timing and sizes, in heartbeats (HB) where the original used HB (original §1.15). */
export interface FlockConfig {
  hbMs: number
  /** Probe round every this many HB, with `probeN` probes (10 % from history, at least 1). */
  probeEveryHb: number
  probeN: number
  /** Members of a stable flock probe only this often (0 = never; the leader keeps probing). */
  memberProbeEveryHb: number
  keyPeriodHb: number
  pruneEveryHb: number
  /** A member is suspected this long after its last beat arrived (leader's clock). */
  memberLapseHb: number
  /**
   * A suspicion (of a member by its leader, of a leader by its member) is confirmed after this long
   * without an answer on a clean network; the window widens with the loss the node itself observes
   * (see suspicion.ts), up to `suspicionMaxHb`.
   */
  suspicionHb: number
  suspicionMaxHb: number
  /** Members asked to check a suspect on our behalf (indirect probes), each suspicion round. */
  checkHelpers: number
  /** Known peers kept (members we have known), and how long an unanswered one is kept. */
  knownMax: number
  knownForgetHb: number
  /** Longest wait between probes of a known peer that does not answer (backoff doubles up to it). */
  knownBackoffMaxHb: number
  /** Members probe while their flock's list changed within this many HB (a flock still forming). */
  youngFlockHb: number
  checkpointEveryHb: number
  shortLeaderHb: number
  specLeaderHb: number
  stableLeaderHb: number
  rebootHb: number
  /** Encoded entry bytes per list chunk (each chunk fits a 1400-byte datagram). */
  listChunkBytes: number
  /** List changes the leader keeps for deltas. */
  listLogSize: number
  /** History entries kept (oldest dropped). */
  historyMax: number
  /**
   * Members keep a copy of the member list (default). Off, only the leader knows the list, as in the
   * original: a simulator setting for N where N² list entries do not fit one process (PROTOCOL.md).
   */
  listSync: boolean
  /** Confab: how far a query's time may be from ours (ms), either way. */
  confabSkewMs: number
  /** Confab: admin query ids remembered at most (when full, new admin queries are refused). */
  confabIdsMax: number
  /** Confab: the smallest query (plaintext bytes) that gets an answer; no answer is larger. */
  confabMinBytes: number
}

/** What a node is spawned with. */
export interface FlockInput {
  self: { addr: string; horde?: string; id?: string }
  config: Partial<FlockConfig>
  probe: ProbeSpec
  seed: number | string
  visitor?: boolean
  /** Restored checkpoint, if the node ran before. */
  checkpoint?: FlockCheckpoint
  steward?: string
  registry?: string
  yurt?: string
  beacon?: string
}

/** What the node persists so a restart rejoins fast (the original only kept this in memory). */
export interface FlockCheckpoint {
  id: string
  flock: string
  leader: NodeId | null
  /** Recently heard nodes, newest last. */
  history: NodeId[]
  /** Members this node has known (its list and known peers), probed after a restart. */
  known?: NodeId[]
}

export interface Member {
  node: NodeId
  /** Leader's clock: when this member is suspected unless a beat refreshes it. */
  expires: number
  /** When the leader began suspecting it (null: not suspected). */
  suspect: number | null
}

/** A peer this node has known, probed with backoff while it is not with us. */
export interface KnownPeer {
  node: NodeId
  /** When it was last with us or heard from. */
  seen: number
  /** Unanswered probes since; the wait before the next doubles with each. */
  tries: number
  /** Not probed again before this time. */
  next: number
}

/** The member list as a node knows it (leader: authoritative; member: a copy). */
export interface MemberList {
  version: number
  /** 64-bit XOR of per-entry hashes, as 16 hex digits: O(1) to update on add/remove. */
  lo: number
  hi: number
  entries: Record<string, MemberEntry>
  size: number
}

export interface ListChange {
  version: number
  op: 'add' | 'remove'
  entry: MemberEntry
}

export interface FlockContext {
  cfg: FlockConfig
  probe: ProbeSpec
  rng: RngState
  visitor: boolean
  me: NodeId
  flock: string
  leader: NodeId
  vote: number
  lvote: number
  epoch: string
  /** The flock's services as its leader announces them (read them with {@link servicesOf}). */
  steward: string
  registry: string
  yurt: string
  beacon: string
  /** This node's own services: what it announces while it leads. */
  own: { steward: string; registry: string; yurt: string }
  /** When the leader (us or another) lapses; on a member: no check-in by then → start over. */
  leaderExpires: number
  /** When we became leader (null: not leading). */
  promotedAt: number | null
  /** Leader only: live members by id, with their expiry on our clock. */
  mems: Record<string, Member>
  /** Leader only: member id by address (probe rounds skip members in O(1)). */
  memByAddr: Record<string, string>
  memCount: number
  /** When this node last ran a probe round (members of a stable flock probe rarely). */
  lastProbe: number | null
  /** Authoritative on the leader; on a member, its copy of the leader's list. */
  list: MemberList
  /** Leader only: the whole-list answer of the current version, built once for every member's pull. */
  answers: { full: ListChunk[] | null }
  /** Leader only: recent list changes, oldest first, for deltas. */
  changes: ListChange[]
  /** Member only: a list pull is in flight since this time (null: none). */
  pulling: number | null
  /** Member only: the chunks of one answer received so far (applied together once all are in). */
  pending: { version: number; since: number; full: boolean; count: number; got: number; seen: number[]; entries: Record<string, MemberEntry>; removed: string[] } | null
  /** Nodes heard from (not members), by id, and the newest `sent` seen per sender id. */
  history: Record<string, NodeId>
  historyOrder: string[]
  lastSent: Record<string, number>
  rotate: boolean
  /** Leader: a check-in is already brought forward after a change of the list (see hurryCheckIn). */
  hurry: boolean
  rebootUntil: number | null
  /** Members we have known (see known.ts), by id, oldest first in `knownOrder`. */
  known: Record<string, KnownPeer>
  knownOrder: string[]
  /** The leader we gave up on (and until when): we do not follow it again through a third party. */
  lost: { id: string; until: number }
  /** Member: when we began suspecting our leader (null: not suspecting). */
  leaderSuspect: number | null
  /** Indirect checks we are passing on: `alive` about `subject` goes back to `to`. */
  relays: Array<{ subject: string; to: NodeId; until: number }>
  /**
   * Loss as this node observes it (moving average of missing beats or check-ins, 0–1): a node that
   * hears badly judges slowly (Lifeguard's local health).
   */
  loss: number
  /** Beats (leader) or check-ins (member) arrived since the last heartbeat tick, and how many were missed before them. */
  heard: { got: number; missed: number }
  /** Decayed counts of arrivals and misses behind `loss`. */
  lossSums: { got: number; missed: number }
  /** Member: when our leader's last check-in arrived. */
  checkInAt: number
  /** When the member list we follow last changed (members probe while it is young). */
  listChangedAt: number
  /** Since when the list grew unpersisted (null: persisted): checkpoint soon, so a restart finds these peers. */
  knownDirty: number | null
  /** Confab replay protection: when this machine started, and the admin queries it answered lately. */
  confab: ConfabMemory
  /** Counters that end up in MonInfo and the simulator summary. */
  stats: { joins: number; startOvers: number; dropped: number; suspected: number; refuted: number; confirmed: number }
}

/** What a Confab query asks (seed 000: the flock seen from outside, by a holder of the secret). */
export type ConfabAsk = 'names' | 'members' | 'reboot' | 'candidate' | 'dump'

export interface ConfabQuery {
  nonce: number
  ask: ConfabAsk
  /** For `candidate`: the address to introduce ourselves to; for `dump`: where the ring buffer goes. */
  introduce: string
  /** The asker's wall clock (ms): answered only within the node's allowed skew (replay protection). */
  time: number
  /** The asked node's id: required for admin asks, so a query captured for one node moves no other. */
  target: string
  /** `members`: which page is asked; one answer datagram per query. */
  page: number
  /** Zero bytes of padding, filling the query to a full envelope payload (anti-amplification). */
  pad: number
  /** The query's plaintext bytes, as received (set by the decoder; an answer is never larger). */
  size?: number
}

/**
 * Admin query ids (`time:nonce`) answered within the last 2 × skew, with their answers (a repeat
 * gets the same answer, the command does not run twice), oldest first; and the machine's start time,
 * before which no admin query is taken (a query captured before a restart is refused after it).
 */
export interface ConfabMemory {
  startedAt: number
  answers: Record<string, ConfabAnswer>
  order: Array<{ id: string; until: number }>
}

/** A fulcrum's answer; a member list comes as `count` pages of `entries`. */
export interface ConfabAnswer {
  nonce: number
  node: string
  flock: string
  leader: NodeId
  members: number
  steward: string
  registry: string
  epoch: string
  role: string
  entries: MemberEntry[]
  index: number
  count: number
  ok: boolean
  /** Why the query was refused (empty when it was not): the CLI prints it. */
  reason: string
}
