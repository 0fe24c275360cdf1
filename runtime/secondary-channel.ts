/**
 * The secondary-key channel (ARCHITECTURE §5, seed 001): datagrams sealed under keys derived from the
 * flock secret, which every member and admin holds. It carries what must work before, or without, a
 * session: session handshakes, Confab queries and their answers, beacon traffic.
 *
 * Each sender seals under its own key: a random 32-bit key id chosen at start, the key derived from
 * the secret and that id. So nonces (salt ‖ counter) never repeat across senders, and the replay
 * window is per key, i.e. per sender incarnation, wherever a packet claims to come from. A receiver
 * derives a sender's key the first time it sees its id and keeps it only once a packet under it
 * authenticated (an LRU of `maxPeers`), so forged ids cost a derivation, never memory.
 */
import { deriveEnvelopeKey, ENVELOPE_HEADER_BYTES, ENVELOPE_OVERHEAD, ENVELOPE_VERSION, EnvelopeOpener, EnvelopeSealer, type DropReason } from './envelope.js'
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
  /** Monitoring: MonInfo to a beacon and on to its watchers, ring-buffer dumps (runtime/monitor-codec.ts). */
  monitor: 5,
  /** A node's identity sealed for the registry (runtime/registration.ts; carried in gRPC, never on UDP). */
  registration: 6,
} as const

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
}

/** Seals with this sender's secondary key; opens what any holder of the secret sealed. */
export class SecondaryChannel {
  readonly keyId: number
  private readonly secret: Uint8Array
  private readonly sealer: EnvelopeSealer
  private readonly opener = new EnvelopeOpener()
  private readonly maxPeers: number
  private readonly known = new Map<number, true>() // key ids kept; the Map's order is least recently heard first

  constructor(init: SecondaryChannelInit) {
    this.secret = init.secret
    this.keyId = init.keyId
    this.maxPeers = init.maxPeers ?? 4096
    this.sealer = new EnvelopeSealer(deriveEnvelopeKey(init.secret, KEY_INFO, init.keyId), init.startCounter)
  }

  /** Seals one datagram of envelope `type`. */
  seal(type: number, plaintext: Uint8Array): Uint8Array {
    return this.sealer.seal(type, plaintext)
  }

  /**
   * Opens a datagram sealed under some sender's secondary key; never throws. Cheap rejections come
   * first, so junk costs no key derivation; a key nothing authenticated under is never kept.
   */
  open(bytes: Uint8Array): { ok: true; type: number; plaintext: Uint8Array } | { ok: false; reason: DropReason } {
    if (bytes.length < ENVELOPE_OVERHEAD || bytes.length > MAX_DATAGRAM_BYTES) return { ok: false, reason: 'size' }
    if (bytes[0] !== ENVELOPE_VERSION) return { ok: false, reason: 'version' }
    const keyId = new DataView(bytes.buffer, bytes.byteOffset, ENVELOPE_HEADER_BYTES).getUint32(2)
    const fresh = !this.opener.hasKey(keyId)
    if (fresh) this.opener.addKey(deriveEnvelopeKey(this.secret, KEY_INFO, keyId))
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
