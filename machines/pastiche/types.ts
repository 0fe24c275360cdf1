/**
 * The pastiche machine's events, context and settings (machines/pastiche.machine.ts). One machine per
 * node decides which blob ranges to fetch from which peers; the node's edges do the moving: the
 * transfer edge (`fetch`, `has`, `assemble`, `fetch.cancel`) and the store edge (`pin`, `unpin`), each
 * answering into this machine's mailbox. Blob names are `sha256:<64 hex>` strings; the machine never
 * parses or hashes them (the edges do). `now` is stamped by the host on every delivery.
 *
 * Pure module: types and constants only.
 */

import type { AnnounceInput, AnnounceState } from './announce.js'

/** Stamped by the host on delivery. */
type Stamped = { now?: number }

// ---------------------------------------------------------------- events in

/** The store holds `hash` in full (verified on arrival): at start, after a put, after a fetch. */
export type BlobHeld = Stamped & { type: 'blob.held'; hash: string; bytes: number }
/** The store no longer holds `hash` (evicted, removed, found damaged). */
export type BlobGone = Stamped & { type: 'blob.gone'; hash: string }
/** A declarative holding: `hash` must be on this node until withdrawn. `bytes` when the asker knows it. */
export type Want = Stamped & { type: 'want'; hash: string; bytes?: number }
/** The holding of `hash` is withdrawn. */
export type Unwant = Stamped & { type: 'unwant'; hash: string }
/** A blob a peer announced it holds, and its size when announced (absent: asked with `has`). */
export type AnnouncedHold = { hash: string; bytes?: number }
/**
 * One pastiche peer: its node id, the address its transfer edge reaches it at, and what it announced
 * it holds (machines/pastiche/announce.ts): absent when it announced nothing; `partial` when it holds
 * more than it named (then a blob not named may still be held).
 */
export type Peer = { node: string; address: string; holds?: AnnouncedHold[]; partial?: boolean }
/** The pastiche peers known now (from the catalog or the flock), replacing the previous list. */
export type Peers = Stamped & { type: 'peers'; peers: Peer[] }
/** The answer to `has` `id`: `ok` false when the call failed; else whether the peer holds it, and its size. */
export type HasAnswer = Stamped & { type: 'has.answer'; id: number; ok: boolean; held: boolean; bytes: number }
/** How a range transfer ended: `ok` (all bytes in), `bad` (the edge saw wrong bytes), `failed` (no answer, refused, broken). */
export type FetchResult = 'ok' | 'bad' | 'failed'
/** The answer to `fetch` `id`: `bytes` received. */
export type Fetched = Stamped & { type: 'fetched'; id: number; result: FetchResult; bytes: number }
/** The answer to `assemble` `id`: whether the ranges hashed to the name (then the store holds it). */
export type Assembled = Stamped & { type: 'assembled'; id: number; ok: boolean }
/** The machine's own timer. */
export type TimerFired = Stamped & { type: 'timer.fired'; name: string }
/** The reeve took the announcement (registration) `id`. */
export type ReeveRegistered = Stamped & { type: 'reeve.registered'; id: number }
/** The reeve refused registration `id`, or the road could not deliver it. */
export type CallRefused = Stamped & { type: 'call.refused'; id?: number; code: string; message: string }
export type CallFailed = Stamped & { type: 'call.failed'; id: number; code: string; message: string }

export type PasticheEvent = BlobHeld | BlobGone | Want | Unwant | Peers | HasAnswer | Fetched | Assembled | TimerFired | ReeveRegistered | CallRefused | CallFailed

// ---------------------------------------------------------------- messages out

/** To the transfer edge: bytes [offset, offset+length) of `hash` from the peer at `from`, into the in-progress blob. */
export type FetchMsg = { type: 'fetch'; id: number; hash: string; from: string; offset: number; length: number }
/** To the transfer edge: stop transfer `id` (its answer, if any, is ignored). */
export type FetchCancelMsg = { type: 'fetch.cancel'; id: number }
/** To the transfer edge: ask the peer at `to` whether it holds `hash`. */
export type HasMsg = { type: 'has'; id: number; hash: string; to: string }
/** To the transfer edge: every range of `hash` is in; hash it and store it if it matches (else drop it). */
export type AssembleMsg = { type: 'assemble'; id: number; hash: string; bytes: number }
/** To the store edge. */
export type PinMsg = { type: 'pin'; hash: string }
export type UnpinMsg = { type: 'unpin'; hash: string }

export type PasticheMessage = FetchMsg | FetchCancelMsg | HasMsg | AssembleMsg | PinMsg | UnpinMsg

// ---------------------------------------------------------------- context

/** The policy's bounds and times. */
export interface PasticheConfig {
  /** Ranges of one blob in flight at once (so, peers one blob is split across). */
  perBlob: number
  /** Ranges in flight from one peer at once, over all blobs. */
  perPeer: number
  /** Ranges in flight on this node at once, over all blobs and peers (bounds its memory and its links). */
  total: number
  /** A blob is not split into ranges smaller than this (bytes). */
  minRange: number
  /** First retry delay of a failed range; doubles per failure of that range, up to `backoffMaxMs`. */
  backoffMs: number
  backoffMaxMs: number
  /**
   * From the start of a circle of asks, how long more holders are looked for (rounds go on while fewer
   * than `perBlob` are known) before the blob is split among the holders found.
   */
  gatherMs: number
  /**
   * How often a wanted blob with no usable holder asks the peers again, once it has asked them all (a
   * round answered without a holder goes on to the next peers at once, until the circle is complete).
   */
  askEveryMs: number
  /** Peers asked per round for one blob (rotating through the list). */
  askFanout: number
  /** The tick while anything is wanted and missing. */
  tickMs: number
}

export const DEFAULT_PASTICHE_CONFIG: PasticheConfig = { perBlob: 4, perPeer: 4, total: 16, minRange: 1024, gatherMs: 250, backoffMs: 500, backoffMaxMs: 8_000, askEveryMs: 2_000, askFanout: 8, tickMs: 250 }

/** One range of a blob being fetched. */
export interface Range {
  offset: number
  length: number
  /** In (its bytes are in the in-progress blob), and from which peer. */
  done: boolean
  by: string | null
  /** The transfer in flight for it, and to which peer. */
  id: number | null
  from: string | null
  /** Failures so far (for the backoff), and not to be asked again before this time. */
  failures: number
  notBefore: number
  /** Peers that failed it (tried last). */
  failedOn: string[]
}

/** A declarative holding and how its fetch stands. */
export interface Wanted {
  hash: string
  /** Size, once known (from `want`, `peers`, or a `has` answer). */
  bytes: number | null
  /** `missing` (to fetch), `assembling` (all ranges in, hashing), `held` (held and pinned). */
  phase: 'missing' | 'assembling' | 'held'
  ranges: Range[]
  /** The assemble in flight. */
  assembling: number | null
  /** Peers not asked again for this blob: they sent bad bytes. */
  excluded: string[]
  /** After an assembly of ranges from several peers failed: one of them lied; each is then tried alone, in this order. */
  suspects: string[]
  /** The peers whose ranges made this node's copy, once a fetch completed it (sorted; empty otherwise). */
  from: string[]
  /** When peers were last asked `has`, where the next round starts in the peer list, and how many were asked since the circle began. */
  askedAt: number | null
  askCursor: number
  circle: number
  /** When the current circle of asks began (answers are gathered from then, `gatherMs`). */
  circleAt: number | null
}

/** A pastiche peer known now. */
export interface KnownPeer {
  address: string
  /** The blobs it named in a complete announcement (absent: none, or a partial one: then it is asked). */
  holds?: string[]
}

/** Counters, for the summary and the status. */
export interface PasticheCounters {
  /** Range transfers asked. */
  fetches: number
  /** Range transfers that ended ok, failed, or with bad bytes. */
  ok: number
  failed: number
  bad: number
  /** Assemblies that hashed wrong. */
  badAssemblies: number
  /** Blobs completed by a fetch. */
  completed: number
}

export interface PasticheContext {
  node: string
  now: number
  config: PasticheConfig
  /** Where `fetch`, `has`, `assemble`, `fetch.cancel` go, and where `pin`, `unpin` go. */
  transferTo: string
  storeTo: string
  /** What this node's store holds: hash → size. */
  held: Record<string, number>
  /** Blobs this machine pinned (a pin goes when its blob goes). */
  pinned: Record<string, true>
  wants: Record<string, Wanted>
  peers: Record<string, KnownPeer>
  /** Who holds what, of the known peers: hash → node → size (0 when not known). Indexed by blob: the plan asks it per blob. */
  holders: Record<string, Record<string, number>>
  /** `has` asks in flight: id → the peer and blob; and how many per blob. */
  asks: Record<number, { node: string; hash: string }>
  asking: Record<string, number>
  /** Range transfers in flight: id → the blob (the range holds the rest). */
  transfers: Record<number, string>
  /** Bad ranges (or lone bad assemblies) per peer. */
  badPeers: Record<string, number>
  counters: PasticheCounters
  nextId: number
  /** Whether the tick timer is armed. */
  ticking: boolean
  /** The catalog announcement of what this node holds (null: this node does not announce; the simulator). */
  announce: AnnounceState | null
}

/** What the machine is spawned with. */
export interface PasticheInput {
  node: string
  now: number
  config?: Partial<PasticheConfig>
  transferTo?: string
  storeTo?: string
  /** What the store holds at start. */
  held?: Array<{ hash: string; bytes: number }>
  /** The holdings persisted before a restart (`want/<hash>`). */
  wants?: Array<{ hash: string; bytes?: number }>
  /** Register with the node's reeve, announcing what is held (announce.ts); absent: no announcement. */
  announce?: AnnounceInput
}

/** What a holding persists under `want/<hash>` (null when withdrawn). */
export type PersistedWant = { hash: string; bytes: number | null }

/** The transfer edge's and the store edge's default addresses (ports of the node's edge). */
export const TRANSFER_PORT = 'port:pastiche-transfer'
export const STORE_PORT = 'port:pastiche-store'
