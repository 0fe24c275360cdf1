/**
 * Session handshakes (ARCHITECTURE §5): an offer and its answer, each carrying a fresh X25519
 * ephemeral key and signed with the sender's Ed25519 node key, each sealed under the sender's
 * secondary key (runtime/secondary-channel.ts) so that only holders of the flock secret can even
 * make a node verify one. Both sides then derive two directional ChaCha20-Poly1305 keys with
 * HKDF-SHA256 from the X25519 output; the ephemeral secrets are erased right after, so a later
 * theft of node keys or of the secret cannot open recorded traffic (forward secrecy).
 *
 *   kind(1) nonce(16) echo(16) rxId(4) sentMs(8) eph(32) id(32) epochLen(1) epoch certLen(2) cert sig(64)
 *
 * `echo` is zero in an offer and the offer's nonce in an answer, which binds the two; `rxId` is the
 * envelope key id the sender wants the peer to seal under, so ids never collide at the receiver.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes } from '@noble/hashes/utils.js'
import { ed25519Sign, ed25519Verify } from './ed25519.js'
import type { EnvelopeKey } from './envelope.js'

// Ed25519 (runtime/ed25519.ts) and X25519 come from node:crypto (OpenSSL): a handshake side costs
// ≈ 4 ms of CPU with noble's pure-JS curves and about a quarter of that here. Raw 32-byte X25519
// keys are wrapped in the fixed DER prefixes of RFC 8410.
const DER = {
  xSecret: Buffer.from('302e020100300506032b656e04220420', 'hex'),
  xPublic: Buffer.from('302a300506032b656e032100', 'hex'),
}
const wrap = (prefix: Buffer, raw: Uint8Array) => Buffer.concat([prefix, raw])

export type HelloKind = 'offer' | 'answer'

/** One side of a handshake, as sent. */
export interface Hello {
  kind: HelloKind
  nonce: Uint8Array
  /** The offer's nonce in an answer; zeros in an offer. */
  echo: Uint8Array
  rxId: number
  sentMs: number
  epoch: string
  /** X25519 ephemeral public key. */
  eph: Uint8Array
  /** Ed25519 node public key (signs this hello). */
  id: Uint8Array
  /** The sender's bloc certificate (runtime/node-cert.ts wire form), or empty. */
  cert: Uint8Array
}

export const NONCE_BYTES = 16
const KIND = { offer: 1, answer: 2 } as const
const DOMAIN = new TextEncoder().encode('crux/v1 hello')
const FIXED = 1 + 16 + 16 + 4 + 8 + 32 + 32 + 1 + 2 + 64

/** Encodes and signs a hello with the node's Ed25519 secret key. */
export function encodeHello(h: Hello, idSecretKey: Uint8Array): Uint8Array {
  const epoch = new TextEncoder().encode(h.epoch)
  if (epoch.length > 255) throw new RangeError('epoch too long')
  const out = new Uint8Array(FIXED + epoch.length + h.cert.length)
  const v = new DataView(out.buffer)
  out[0] = KIND[h.kind]
  out.set(h.nonce, 1)
  out.set(h.echo, 17)
  v.setUint32(33, h.rxId)
  v.setFloat64(37, h.sentMs)
  out.set(h.eph, 45)
  out.set(h.id, 77)
  out[109] = epoch.length
  out.set(epoch, 110)
  let at = 110 + epoch.length
  v.setUint16(at, h.cert.length)
  out.set(h.cert, (at += 2))
  at += h.cert.length
  out.set(ed25519Sign(concatBytes(DOMAIN, out.subarray(0, at)), idSecretKey), at)
  return out
}

/** Parses a hello and verifies its signature; null for anything malformed or forged (never throws). */
export function decodeHello(bytes: Uint8Array, kind: HelloKind): Hello | null {
  if (bytes.length < FIXED || bytes[0] !== KIND[kind]) return null
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const epochLen = bytes[109]!
  let at = 110 + epochLen
  if (at + 2 > bytes.length) return null
  const certLen = v.getUint16(at)
  at += 2
  if (at + certLen + 64 !== bytes.length) return null
  const sentMs = v.getFloat64(37)
  if (!Number.isFinite(sentMs)) return null
  const h: Hello = {
    kind,
    nonce: bytes.slice(1, 17),
    echo: bytes.slice(17, 33),
    rxId: v.getUint32(33),
    sentMs,
    epoch: new TextDecoder().decode(bytes.subarray(110, 110 + epochLen)),
    eph: bytes.slice(45, 77),
    id: bytes.slice(77, 109),
    cert: bytes.slice(at, at + certLen),
  }
  return ed25519Verify(bytes.subarray(at + certLen), concatBytes(DOMAIN, bytes.subarray(0, at + certLen)), h.id) ? h : null
}

/** A fresh X25519 ephemeral key pair. */
export function ephemeral(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const k = generateKeyPairSync('x25519')
  const secretKey = new Uint8Array(k.privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(DER.xSecret.length))
  return { secretKey, publicKey: new Uint8Array(k.publicKey.export({ format: 'der', type: 'spki' }).subarray(DER.xPublic.length)) }
}

/**
 * The two directional envelope keys of a session, from our ephemeral secret (`role`: the hello we
 * sent) and both hellos; null if
 * the peer's ephemeral key is of low order (OpenSSL refuses an all-zero shared secret). Key ids are the ones
 * each side asked for: the offerer seals under the answer's rxId and the answerer under the offer's.
 */
export function sessionKeys(ourEphSecret: Uint8Array, role: HelloKind, offer: Hello, answer: Hello): { offerToAnswer: EnvelopeKey; answerToOffer: EnvelopeKey } | null {
  const theirs = role === 'offer' ? answer.eph : offer.eph
  let shared: Uint8Array
  try {
    const ours = wrap(DER.xSecret, ourEphSecret)
    shared = diffieHellman({ privateKey: createPrivateKey({ key: ours, format: 'der', type: 'pkcs8' }), publicKey: createPublicKey({ key: wrap(DER.xPublic, theirs), format: 'der', type: 'spki' }) })
    ours.fill(0)
  } catch {
    return null
  }
  const salt = new Uint8Array(32)
  salt.set(offer.nonce)
  salt.set(answer.nonce, 16)
  const info = new Uint8Array(15 + 128)
  info.set(new TextEncoder().encode('crux/v1 session'))
  info.set(offer.id, 15)
  info.set(answer.id, 47)
  info.set(offer.eph, 79)
  info.set(answer.eph, 111)
  const okm = hkdf(sha256, shared, salt, info, 72)
  shared.fill(0)
  const keys = {
    offerToAnswer: { id: answer.rxId, key: okm.slice(0, 32), salt: okm.slice(32, 36) },
    answerToOffer: { id: offer.rxId, key: okm.slice(36, 68), salt: okm.slice(68, 72) },
  }
  okm.fill(0)
  return keys
}

/** Bytewise comparison of two equal-length nonces (glare is resolved by it). */
export function compareNonce(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!
  return d === 0
}
