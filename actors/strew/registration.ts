/**
 * Two-factor, two-channel registration (seed 004; original-crux.md §4.4), the crypto of it:
 * - factor 1: the node's NodeID, its reeve's NetID and its Ed25519 public key, sealed under the flock
 *   secret (the secondary channel's envelope, type `registration`), so only a holder of the secret can
 *   ask;
 * - factor 2: the registry calls the reeve back and asks for its keys signed, over a fresh challenge,
 *   with the key factor 1 named: only the holder of that private key can answer.
 * The sealed part also names the steward it is for, the sender's time and a nonce, so a copy is good
 * once, at that steward, within the clock window (runtime/freshness.ts). Also the KeyID a node's key
 * goes on the whitelist under.
 */
import { createHash, randomBytes } from 'node:crypto'
import { formatKeyId, parseNetId, parseNodeId } from '../../machines/strew/ids.js'
import { ed25519Sign, ed25519Verify } from '../../runtime/ed25519.js'
import { ENVELOPE_TYPE, SecondaryChannel } from '../../runtime/secondary-channel.js'
import { isNodeId } from '../../runtime/node-identity.js'

/** Factor 1's content: who registers, where its reeve is called back, and its key. */
export interface Registration {
  nodeId: string
  netId: string
  publicKey: Uint8Array
}

/**
 * What makes a sealed request good once, at one steward (runtime/freshness.ts): the node id of the
 * steward it is meant for (another steward refuses it), the sender's time and a random nonce.
 */
export interface Stamp {
  steward: string
  time: number
  nonce: string
}

/** Whom a request is sealed for, and when. */
export interface SealFor {
  /** The steward's flock node id (`n` + 16 hex: nodeIdOf its key). */
  steward: string
  /** The sender's wall clock, ms since the epoch. */
  now: number
}

/** 16 bytes of SHA-256 of the key, in colon hex (a KeyID's fingerprint). */
export function fingerprintOf(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 16).toString('hex').replace(/(..)(?!$)/g, '$1:')
}

/** The KeyID a node's key is whitelisted under: `/<rev>/<principal>/keys/<fingerprint>`. */
export function keyIdOf(rev: string, principal: string, publicKey: Uint8Array): string {
  return formatKeyId({ rev, principal, fingerprint: fingerprintOf(publicKey), query: false })
}

// Both requests travel as envelope type `registration`; `kind`, inside the sealed part, keeps a sealed
// forget from being read as a registration or the other way round.
function seal(secret: Uint8Array, kind: string, fields: Record<string, string>, to: SealFor): Uint8Array {
  const keyId = new DataView(randomBytes(4).buffer).getUint32(0)
  const channel = new SecondaryChannel({ secret, keyId, startCounter: 0 })
  const body = { kind, steward: to.steward, time: to.now, nonce: randomBytes(16).toString('hex'), ...fields }
  return channel.seal(ENVELOPE_TYPE.registration, new TextEncoder().encode(JSON.stringify(body)))
}

function open(secret: Uint8Array, kind: string, sealed: Uint8Array): (Record<string, unknown> & Stamp) | null {
  const r = new SecondaryChannel({ secret, keyId: 0, startCounter: 0 }).open(sealed)
  if (!r.ok || r.type !== ENVELOPE_TYPE.registration) return null
  try {
    const j = JSON.parse(new TextDecoder().decode(r.plaintext)) as Record<string, unknown>
    if (j.kind !== kind || typeof j.steward !== 'string' || !isNodeId(j.steward)) return null
    if (!Number.isSafeInteger(j.time) || typeof j.nonce !== 'string' || !/^[0-9a-f]{32}$/.test(j.nonce)) return null
    return j as Record<string, unknown> & Stamp
  } catch {
    return null
  }
}

/** Factor 1: the registration sealed under the flock secret, for one steward, at one time, once. */
export function sealRegistration(secret: Uint8Array, r: Registration, to: SealFor): Uint8Array {
  return seal(secret, 'register', { nodeId: r.nodeId, netId: r.netId, publicKey: Buffer.from(r.publicKey).toString('base64') }, to)
}

/** Opens factor 1; null unless it is sealed under `secret` and holds a stamp, well-formed ids and a key. */
export function openRegistration(secret: Uint8Array, sealed: Uint8Array): (Registration & Stamp) | null {
  const j = open(secret, 'register', sealed)
  if (j === null || typeof j.nodeId !== 'string' || typeof j.netId !== 'string' || typeof j.publicKey !== 'string') return null
  try {
    parseNodeId(j.nodeId)
    if (parseNetId(j.netId).query) return null
  } catch {
    return null
  }
  const publicKey = new Uint8Array(Buffer.from(j.publicKey, 'base64'))
  return publicKey.length === 32 ? { nodeId: j.nodeId, netId: j.netId, publicKey, steward: j.steward, time: j.time, nonce: j.nonce } : null
}

/** An admin's request that the steward forget node `node`'s keys, sealed like a registration. */
export function sealForget(secret: Uint8Array, node: string, to: SealFor): Uint8Array {
  return seal(secret, 'forget', { node }, to)
}

/** Opens a forget request; null unless sealed under `secret` with a stamp and a node id. */
export function openForget(secret: Uint8Array, sealed: Uint8Array): ({ node: string } & Stamp) | null {
  const j = open(secret, 'forget', sealed)
  if (j === null || typeof j.node !== 'string' || !isNodeId(j.node)) return null
  return { node: j.node, steward: j.steward, time: j.time, nonce: j.nonce }
}

function pullKeysText(challenge: Uint8Array, keys: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat([Buffer.from('crux/v1 pull-keys\n'), Buffer.from(challenge), ...keys.map((k) => Buffer.from(k))])
}

/** Factor 2, the reeve's side: its keys, signed over the challenge with `secretKey`. */
export function signKeys(challenge: Uint8Array, keys: readonly Uint8Array[], secretKey: Uint8Array): Uint8Array {
  return ed25519Sign(pullKeysText(challenge, keys), secretKey)
}

/** Factor 2, the registry's side: signed over our challenge by `publicKey`, and listing it. */
export function keysProven(challenge: Uint8Array, keys: readonly Uint8Array[], signature: Uint8Array, publicKey: Uint8Array): boolean {
  return keys.some((k) => Buffer.compare(Buffer.from(k), Buffer.from(publicKey)) === 0) && ed25519Verify(signature, pullKeysText(challenge, keys), publicKey)
}

