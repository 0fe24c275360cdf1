/**
 * The datagram envelope (ARCHITECTURE.md §5):
 *
 *   version(1) | type(1) | keyId(4, BE) | counter(8, BE) | ChaCha20-Poly1305 ciphertext | tag(16)
 *
 * The 14-byte header is the AEAD's associated data, so every field of it is authenticated without
 * being hidden (the receiver needs keyId and counter before it can decrypt). The nonce is the key's
 * 4-byte salt followed by the 8-byte counter: unique as long as a sender never reuses a counter under
 * one key, which {@link EnvelopeSealer} guarantees, and it costs no bytes on the wire.
 *
 * Receiving never throws: {@link EnvelopeOpener.open} drops bad datagrams with a reason and counts them.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { createHmac } from 'node:crypto'
import { DatagramTooLargeError, InvalidArgumentError, ResourceExhaustedError } from './errors.js'
import { ReplayWindow } from './replay-window.js'
import { MAX_DATAGRAM_BYTES } from './transport.js'

/** The only envelope version this code speaks. */
export const ENVELOPE_VERSION = 1
/** Header bytes: version, type, keyId, counter. */
export const ENVELOPE_HEADER_BYTES = 14
/** Poly1305 tag bytes. */
export const ENVELOPE_TAG_BYTES = 16
/** Bytes the envelope adds to a payload (the fulcrum issue's budget is ≤ 37). */
export const ENVELOPE_OVERHEAD = ENVELOPE_HEADER_BYTES + ENVELOPE_TAG_BYTES
/** The largest plaintext that still fits one datagram. */
export const MAX_ENVELOPE_PLAINTEXT = MAX_DATAGRAM_BYTES - ENVELOPE_OVERHEAD

/** One AEAD key as the envelope uses it. */
export interface EnvelopeKey {
  /** Carried in every header so the receiver can pick the key (uint32). */
  id: number
  /** ChaCha20-Poly1305 key, 32 bytes. */
  key: Uint8Array
  /** Fixed nonce prefix, 4 bytes. */
  salt: Uint8Array
}

/** Why {@link EnvelopeOpener.open} dropped a datagram. */
export type DropReason = 'size' | 'version' | 'unknown-key' | 'tag' | 'replay' | 'stale'

/** What {@link EnvelopeOpener.open} returns. */
export type OpenResult =
  | { ok: true; type: number; keyId: number; counter: number; plaintext: Uint8Array }
  | { ok: false; reason: DropReason }

const TWO_32 = 0x1_0000_0000
// HKDF-Expand's block counters.
const HKDF_T1 = new Uint8Array([1])
const HKDF_T2 = new Uint8Array([2])
// Counters above 2^53 − 1 would lose precision as numbers; the high word of a safe one is ≤ this.
const MAX_COUNTER_HIGH = 0x1f_ffff

function checkKey(k: EnvelopeKey): void {
  if (!Number.isInteger(k.id) || k.id < 0 || k.id > 0xffff_ffff) throw new InvalidArgumentError(`envelope key id must be a uint32, got ${k.id}`)
  if (!(k.key instanceof Uint8Array) || k.key.length !== 32) throw new InvalidArgumentError('envelope key must be 32 bytes')
  if (!(k.salt instanceof Uint8Array) || k.salt.length !== 4) throw new InvalidArgumentError('envelope salt must be 4 bytes')
}

/**
 * Derives an envelope key from a shared secret (the flock secret, a session's X25519 output) with
 * HKDF-SHA256. `info` names the purpose (e.g. 'crux/v1 secondary') and `id` is mixed in too, so two
 * epochs or two purposes never share key or nonce space.
 */
export function deriveEnvelopeKey(secret: Uint8Array, info: string, id: number): EnvelopeKey {
  return envelopeKeyDeriver(secret, info)(id)
}

/**
 * {@link deriveEnvelopeKey} for many ids under one secret and info: HKDF's extract step depends on
 * neither id, so it runs once here, and each id costs the expand step alone (two HMAC-SHA256 in
 * OpenSSL, ~10 µs, against ~30 µs for the whole HKDF in JavaScript): a receiver derives a key for
 * every sender id it has not heard before. Byte-identical to RFC 5869 HKDF with no salt.
 */
export function envelopeKeyDeriver(secret: Uint8Array, info: string): (id: number) => EnvelopeKey {
  if (!(secret instanceof Uint8Array) || secret.length < 16) throw new InvalidArgumentError('envelope secret must be at least 16 bytes')
  const prk = createHmac('sha256', new Uint8Array(32)).update(secret).digest() // no salt: HashLen zero bytes
  const label = new TextEncoder().encode(info)
  return (id) => {
    if (!Number.isInteger(id) || id < 0 || id > 0xffff_ffff) throw new InvalidArgumentError(`envelope key id must be a uint32, got ${id}`)
    // A 0 separator then the id: no (info, id) pair can spell another's bytes.
    const full = new Uint8Array(label.length + 5)
    full.set(label)
    new DataView(full.buffer).setUint32(label.length + 1, id)
    // 36 bytes of output: T(1) ‖ the first 4 bytes of T(2).
    const t1 = createHmac('sha256', prk).update(full).update(HKDF_T1).digest()
    const t2 = createHmac('sha256', prk).update(t1).update(full).update(HKDF_T2).digest()
    return { id, key: new Uint8Array(t1), salt: new Uint8Array(t2.subarray(0, 4)) }
  }
}

function nonceOf(salt: Uint8Array, header: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(12)
  nonce.set(salt)
  nonce.set(header.subarray(6, ENVELOPE_HEADER_BYTES), 4)
  return nonce
}

/**
 * Seals `plaintext` into one datagram. Throws InvalidArgumentError (a CruxError) on a bad key, a type
 * outside 0–255, a counter that is not a safe non-negative integer, or a result over
 * MAX_DATAGRAM_BYTES. The caller must never reuse a counter under the same key.
 */
export function seal(key: EnvelopeKey, type: number, counter: number, plaintext: Uint8Array): Uint8Array {
  checkKey(key)
  if (!Number.isInteger(type) || type < 0 || type > 255) throw new InvalidArgumentError(`envelope type must be 0–255, got ${type}`)
  if (!Number.isSafeInteger(counter) || counter < 0) throw new InvalidArgumentError(`envelope counter must be a safe non-negative integer, got ${counter}`)
  const total = ENVELOPE_OVERHEAD + plaintext.length
  if (total > MAX_DATAGRAM_BYTES) throw new DatagramTooLargeError(total, MAX_DATAGRAM_BYTES)
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  out[0] = ENVELOPE_VERSION
  out[1] = type
  view.setUint32(2, key.id)
  view.setUint32(6, Math.floor(counter / TWO_32))
  view.setUint32(10, counter >>> 0)
  const header = out.subarray(0, ENVELOPE_HEADER_BYTES)
  // Encrypting straight into the tail saves a copy; the AAD (header) and the output do not overlap.
  chacha20poly1305(key.key, nonceOf(key.salt, header), header).encrypt(plaintext, out.subarray(ENVELOPE_HEADER_BYTES))
  return out
}

interface Held {
  key: EnvelopeKey
  window: ReplayWindow
}

/**
 * The receiving side: the keys currently accepted (by id), a replay window per key, and counts of
 * what was accepted and dropped. Checks run cheapest first, and the window is consulted before the
 * AEAD so replays and stale packets cost no decryption; it is marked only after the tag verified.
 */
export class EnvelopeOpener {
  /** Datagrams dropped, by reason. */
  readonly drops: Record<DropReason, number> = { size: 0, version: 0, 'unknown-key': 0, tag: 0, replay: 0, stale: 0 }
  /** Datagrams accepted. */
  accepted = 0
  private readonly keys = new Map<number, Held>()

  constructor(private readonly windowSize?: number) {}

  /**
   * Accepts `key` from now on. Adding the same material again keeps its window (so re-adding cannot
   * re-open replays); different material under a held id replaces it with a fresh window.
   */
  addKey(key: EnvelopeKey): void {
    checkKey(key)
    const held = this.keys.get(key.id)
    if (held && equal(held.key.key, key.key) && equal(held.key.salt, key.salt)) return
    if (held) wipe(held.key)
    // Own copies, so removeKey can erase them (forward secrecy) whatever the caller does with its own.
    this.keys.set(key.id, { key: { id: key.id, key: key.key.slice(), salt: key.salt.slice() }, window: new ReplayWindow(this.windowSize) })
  }

  /** Stops accepting key `id` and erases its material; true if it was held. */
  removeKey(id: number): boolean {
    const held = this.keys.get(id)
    if (!held) return false
    wipe(held.key)
    return this.keys.delete(id)
  }

  /** Whether key `id` is currently accepted. */
  hasKey(id: number): boolean {
    return this.keys.has(id)
  }

  /** Opens one datagram; never throws, whatever `bytes` holds. */
  open(bytes: Uint8Array): OpenResult {
    if (!(bytes instanceof Uint8Array) || bytes.length < ENVELOPE_OVERHEAD || bytes.length > MAX_DATAGRAM_BYTES) return this.drop('size')
    if (bytes[0] !== ENVELOPE_VERSION) return this.drop('version')
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const keyId = view.getUint32(2)
    const held = this.keys.get(keyId)
    if (!held) return this.drop('unknown-key')
    const high = view.getUint32(6)
    // No sealer emits such a counter, so it can only be forged: count it as a failed tag.
    if (high > MAX_COUNTER_HIGH) return this.drop('tag')
    const counter = high * TWO_32 + view.getUint32(10)
    const verdict = held.window.check(counter)
    if (verdict !== 'ok') return this.drop(verdict)
    const header = bytes.subarray(0, ENVELOPE_HEADER_BYTES)
    let plaintext: Uint8Array
    try {
      plaintext = chacha20poly1305(held.key.key, nonceOf(held.key.salt, header), header).decrypt(bytes.subarray(ENVELOPE_HEADER_BYTES))
    } catch {
      return this.drop('tag')
    }
    held.window.mark(counter)
    this.accepted++
    return { ok: true, type: bytes[1]!, keyId, counter, plaintext }
  }

  private drop(reason: DropReason): OpenResult {
    this.drops[reason]++
    return { ok: false, reason }
  }
}

/** A key plus the next counter to use: seals never reuse a nonce. */
export class EnvelopeSealer {
  private next: number

  /** @param start first counter (a resumed sender must start past every counter it ever used). */
  constructor(readonly key: EnvelopeKey, start = 0) {
    checkKey(key)
    if (!Number.isSafeInteger(start) || start < 0) throw new InvalidArgumentError(`envelope counter must be a safe non-negative integer, got ${start}`)
    this.next = start
  }

  /** The counter the next seal will use. */
  get counter(): number {
    return this.next
  }

  /** Seals with the next counter; the counter advances only when the seal succeeds. */
  seal(type: number, plaintext: Uint8Array): Uint8Array {
    if (this.next > Number.MAX_SAFE_INTEGER) throw new ResourceExhaustedError('envelope counter exhausted: re-key')
    const out = seal(this.key, type, this.next, plaintext)
    this.next++
    return out
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!
  return d === 0
}

function wipe(k: EnvelopeKey): void {
  k.key.fill(0)
  k.salt.fill(0)
}
