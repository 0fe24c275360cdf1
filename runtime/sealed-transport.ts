/**
 * A Transport that seals every datagram it sends and opens every one it receives (runtime/envelope.ts)
 * with keys derived from the flock's secret. Whatever does not open — wrong secret, forged, truncated,
 * replayed, stale — is dropped and counted by reason, and never reaches the node.
 *
 * Each sender seals under its own key: a random 32-bit key id chosen at start, the key derived from
 * the secret and that id. So nonces (salt ‖ counter) never repeat across senders, and the replay
 * window is per key, i.e. per sender incarnation, wherever a packet claims to come from. A receiver
 * derives a sender's key the first time it sees its id and keeps it only once a packet under it
 * authenticated (an LRU of `maxPeers`), so forged ids cost a derivation, never memory.
 *
 * This is the interim wire of the fulcrum. Per-peer X25519 sessions with epoch re-keying (forward
 * secrecy, issue 5) replace the key derivation, not this shape.
 */
import { deriveEnvelopeKey, ENVELOPE_HEADER_BYTES, ENVELOPE_OVERHEAD, ENVELOPE_VERSION, EnvelopeOpener, EnvelopeSealer, MAX_ENVELOPE_PLAINTEXT, type DropReason } from './envelope.js'
import { DatagramTooLargeError } from './errors.js'
import { MAX_DATAGRAM_BYTES, type ReceiveHandler, type Transport } from './transport.js'

/** Envelope type of flock traffic (Info and member-list messages). */
export const ENVELOPE_TYPE_FLOCK = 1
const KEY_INFO = 'crux/v1 flock sender'

export interface SealedTransportInit {
  secret: Uint8Array
  /** This sender's key id; a random uint32 per start (tests pin it). */
  keyId: number
  /**
   * First counter. A restarted sender picks a new key id, so 0 is safe; the fulcrum still starts at
   * seconds × 2²¹ (fits 2⁵³ until 2106) so that even a repeated key id (1 in 2³²) repeats no nonce.
   */
  startCounter: number
  /** Senders whose keys and replay windows are kept (least recently heard forgotten first). Default 4 096. */
  maxPeers?: number
}

export interface SealedTransport extends Transport {
  /** Datagrams dropped, by reason (`type`: sealed, but not flock traffic). */
  readonly drops: Record<DropReason | 'type', number>
  accepted(): number
  readonly keyId: number
}

export function createSealedTransport(components: { transport: Transport }, init: SealedTransportInit): SealedTransport {
  const inner = components.transport
  const sealer = new EnvelopeSealer(deriveEnvelopeKey(init.secret, KEY_INFO, init.keyId), init.startCounter)
  const maxPeers = init.maxPeers ?? 4096
  const opener = new EnvelopeOpener()
  const known = new Map<number, true>() // key ids kept; the Map's order is least recently heard first
  const drops: Record<DropReason | 'type', number> = { size: 0, version: 0, 'unknown-key': 0, tag: 0, replay: 0, stale: 0, type: 0 }
  let accepted = 0
  let handler: ReceiveHandler | null = null

  const touch = (id: number): void => {
    known.delete(id)
    known.set(id, true)
  }

  inner.onReceive((bytes, from) => {
    // Cheap rejections first, so junk costs no key derivation.
    if (bytes.length < ENVELOPE_OVERHEAD || bytes.length > MAX_DATAGRAM_BYTES) return void drops.size++
    if (bytes[0] !== ENVELOPE_VERSION) return void drops.version++
    const keyId = new DataView(bytes.buffer, bytes.byteOffset, ENVELOPE_HEADER_BYTES).getUint32(2)
    const fresh = !opener.hasKey(keyId)
    if (fresh) opener.addKey(deriveEnvelopeKey(init.secret, KEY_INFO, keyId))
    const r = opener.open(bytes)
    if (!r.ok) {
      if (fresh) opener.removeKey(keyId) // never keep a key nothing authenticated under
      drops[r.reason]++
      return
    }
    touch(keyId)
    if (known.size > maxPeers) {
      const oldest = known.keys().next().value!
      known.delete(oldest)
      opener.removeKey(oldest)
    }
    if (r.type !== ENVELOPE_TYPE_FLOCK) return void drops.type++
    accepted++
    handler?.(r.plaintext, from)
  })

  return {
    get address() {
      return inner.address
    },
    keyId: init.keyId,
    drops,
    accepted: () => accepted,
    send(to, bytes) {
      // The envelope's 30 bytes come out of the datagram: the payload limit is 1 370, not 1 400.
      if (bytes.length > MAX_ENVELOPE_PLAINTEXT) throw new DatagramTooLargeError(bytes.length, MAX_ENVELOPE_PLAINTEXT)
      inner.send(to, sealer.seal(ENVELOPE_TYPE_FLOCK, bytes))
    },
    onReceive(h) {
      handler = h
    },
    close() {
      return inner.close()
    },
  }
}
