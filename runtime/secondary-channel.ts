/**
 * The secondary-key channel (ARCHITECTURE §5, seed 001): datagrams sealed under keys derived from the
 * flock secret, which every member and admin holds. It carries what must work before, or without, a
 * session: session handshakes, Confab queries and their answers, beacon traffic.
 *
 * Each sender seals under its own key: a random 32-bit key id chosen at start, the key derived from
 * the secret and that id. So nonces (salt ‖ counter) never repeat across senders, and the replay
 * window is per key, i.e. per sender incarnation, wherever a packet claims to come from. A receiver
 * derives a sender's key the first time it sees its id and keeps it only once a packet under it
 * authenticated (an LRU of `maxPeers`), so forged ids never cost memory; and derives only within a
 * budget per source and overall (runtime/key-budget.ts), so a flood of forged ids costs a Map lookup
 * each beyond it, not a derivation (issue 13 item 4).
 */
import type { Clock } from './clock.js'
import { ENVELOPE_OVERHEAD, ENVELOPE_VERSION, EnvelopeOpener, EnvelopeSealer, envelopeKeyDeriver, type DropReason, type EnvelopeKey } from './envelope.js'
import { KeyBudget, type KeyBudgetInit } from './key-budget.js'
import { MAX_DATAGRAM_BYTES } from './transport.js'

/** Envelope types (the header's second byte, authenticated as associated data). */
export const ENVELOPE_TYPE = {
  /** Confab queries and answers, beacon traffic: sealed under the sender's secondary key. */
  secondary: 1,
  /** A session offer (runtime/handshake.ts), sealed under the sender's secondary key. */
  offer: 2,
  /** A session answer, sealed under the sender's secondary key. */
  answer: 3,
  /** Flock traffic, sealed under a per-peer session key. */
  session: 4,
  /** Monitoring: MonInfo to a beacon and on to its watchers, ring-buffer dumps (actors/monitor/codec.ts). */
  monitor: 5,
  /** A node's identity sealed for the registry (actors/strew/registration.ts; carried in gRPC, never on UDP). */
  registration: 6,
} as const

/** Why {@link SecondaryChannel.open} dropped a datagram: the envelope's reasons, or an unknown key id past the budget. */
export type ChannelDropReason = DropReason | 'key-budget'

const KEY_INFO = 'crux/v1 flock sender'

export interface SecondaryChannelInit {
  secret: Uint8Array
  /** This sender's key id; a random uint32 per start (tests pin it). */
  keyId: number
  /**
   * First counter. A restarted sender picks a new key id, so 0 is safe; a fulcrum still starts at
   * seconds × 2²¹ (fits 2⁵³ until 2106) so that even a repeated key id (1 in 2³²) repeats no nonce.
   */
  startCounter: number
  /** Senders whose keys and replay windows are kept (least recently heard forgotten first). Default 4 096. */
  maxPeers?: number
  /** The clock the derivation budget refills on. Default: the real clock. */
  clock?: Pick<Clock, 'now'>
  /** The derivation budget's shape (runtime/key-budget.ts); default KEY_BUDGET_DEFAULTS. */
  keyBudget?: Omit<KeyBudgetInit, 'clock'>
}

// One object for every drop past the budget: a flood allocates nothing it need not.
const KEY_BUDGET_DROP = Object.freeze({ ok: false, reason: 'key-budget' } as const)

const realNow = { now: () => performance.timeOrigin + performance.now() }

/** Seals with this sender's secondary key; opens what any holder of the secret sealed. */
export class SecondaryChannel {
  readonly keyId: number
  private readonly derive: (id: number) => EnvelopeKey
  private readonly budget: KeyBudget
  private derived = 0
  private readonly sealer: EnvelopeSealer
  private readonly opener = new EnvelopeOpener()
  private readonly maxPeers: number
  private readonly known = new Map<number, true>() // key ids kept; the Map's order is least recently heard first

  constructor(init: SecondaryChannelInit) {
    this.derive = envelopeKeyDeriver(init.secret, KEY_INFO)
    this.keyId = init.keyId
    this.maxPeers = init.maxPeers ?? 4096
    this.budget = new KeyBudget({ ...init.keyBudget, clock: init.clock ?? realNow })
    this.sealer = new EnvelopeSealer(this.derive(init.keyId), init.startCounter)
  }

  /** Key derivations done for key ids heard (not counting our own key). */
  get derivations(): number {
    return this.derived
  }

  /** Seals one datagram of envelope `type`. */
  seal(type: number, plaintext: Uint8Array): Uint8Array {
    return this.sealer.seal(type, plaintext)
  }

  /**
   * Opens a datagram sealed under some sender's secondary key, received from `from` (`HOST:PORT`;
   * callers without one, like a registry opening one registration, share the '' source); never
   * throws. Cheap rejections come first, so junk costs no key derivation, and an unknown key id past
   * the budget is dropped as `key-budget` before any crypto; a key nothing authenticated under is
   * never kept.
   */
  open(bytes: Uint8Array, from = ''): { ok: true; type: number; plaintext: Uint8Array } | { ok: false; reason: ChannelDropReason } {
    if (bytes.length < ENVELOPE_OVERHEAD || bytes.length > MAX_DATAGRAM_BYTES) return { ok: false, reason: 'size' }
    if (bytes[0] !== ENVELOPE_VERSION) return { ok: false, reason: 'version' }
    // Big-endian uint32 at offset 2, read by hand: a DataView per datagram is garbage a flood makes.
    const keyId = ((bytes[2]! << 24) | (bytes[3]! << 16) | (bytes[4]! << 8) | bytes[5]!) >>> 0
    const fresh = !this.opener.hasKey(keyId)
    if (fresh) {
      if (!this.budget.take(from)) return KEY_BUDGET_DROP
      this.derived++
      this.opener.addKey(this.derive(keyId))
    }
    const r = this.opener.open(bytes)
    if (!r.ok) {
      if (fresh) this.opener.removeKey(keyId)
      return r
    }
    this.known.delete(keyId)
    this.known.set(keyId, true)
    if (this.known.size > this.maxPeers) {
      const oldest = this.known.keys().next().value!
      this.known.delete(oldest)
      this.opener.removeKey(oldest)
    }
    return { ok: true, type: r.type, plaintext: r.plaintext }
  }
}
