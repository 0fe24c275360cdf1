/**
 * Ed25519 on raw 32-byte keys, from node:crypto (OpenSSL), for the node identity, the bloc CA and
 * node certificates. Not @noble/curves: a fulcrum used it only for these, and loading it plus its
 * first getPublicKey (which builds its base-point tables) cost ≈ 50–75 ms of a fulcrum's start-up
 * CPU; here deriving a public key costs ≈ 0.1 ms. Signatures are RFC 8032 (deterministic), so they
 * are the same bytes noble makes. Raw keys are wrapped in the fixed DER prefixes of RFC 8410.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto'

const SECRET_DER = Buffer.from('302e020100300506032b657004220420', 'hex')
const PUBLIC_DER = Buffer.from('302a300506032b6570032100', 'hex')

// A node signs every handshake with the same key: its key object is made once (per key array).
const keyObjects = new WeakMap<Uint8Array, KeyObject>()
// A server verifies many calls by the same whitelisted key (the same array): parse it once.
const publicKeyObjects = new WeakMap<Uint8Array, KeyObject>()

function secretKeyObject(secretKey: Uint8Array): KeyObject {
  if (secretKey.length !== 32) throw new RangeError(`an Ed25519 secret key is 32 bytes, not ${secretKey.length}`)
  let k = keyObjects.get(secretKey)
  if (k === undefined) keyObjects.set(secretKey, (k = createPrivateKey({ key: Buffer.concat([SECRET_DER, secretKey]), format: 'der', type: 'pkcs8' })))
  return k
}

/** True for a usable secret key: any 32 bytes (RFC 8032 hashes the seed). */
export function isEd25519SecretKey(secretKey: Uint8Array): boolean {
  return secretKey.length === 32
}

/** A fresh secret key (32 random bytes). */
export function randomEd25519SecretKey(): Uint8Array {
  return new Uint8Array(randomBytes(32))
}

/** The 32-byte public key of `secretKey`. */
export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return new Uint8Array(createPublicKey(secretKeyObject(secretKey)).export({ format: 'der', type: 'spki' }).subarray(PUBLIC_DER.length))
}

/** The 64-byte signature of `message`. */
export function ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, secretKeyObject(secretKey)))
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  let k = publicKeyObjects.get(publicKey)
  if (k === undefined) publicKeyObjects.set(publicKey, (k = createPublicKey({ key: Buffer.concat([PUBLIC_DER, publicKey]), format: 'der', type: 'spki' })))
  return k
}

/** Whether `signature` is `publicKey`'s over `message`; false (never a throw) for malformed input. */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false
  try {
    return verify(null, message, publicKeyObject(publicKey), signature)
  } catch {
    return false // not a point on the curve
  }
}

/** {@link ed25519Verify} on libuv's thread pool: a busy server keeps its main thread for the calls. */
export function ed25519VerifyAsync(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (signature.length !== 64 || publicKey.length !== 32) return Promise.resolve(false)
  let key: KeyObject
  try {
    key = publicKeyObject(publicKey)
  } catch {
    return Promise.resolve(false)
  }
  return new Promise((resolve) => verify(null, message, key, signature, (err, ok) => resolve(err === null && ok)))
}

/** {@link ed25519Sign} on libuv's thread pool. */
export function ed25519SignAsync(message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
  const key = secretKeyObject(secretKey)
  return new Promise((resolve, reject) => sign(null, message, key, (err, sig) => (err === null ? resolve(new Uint8Array(sig)) : reject(err))))
}
