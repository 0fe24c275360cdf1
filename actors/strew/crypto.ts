/**
 * The crypto strew's edge does for its machines (they have none): sealing a registration under the
 * flock secret and opening it, the node id a key makes, the challenge of a call-back and the proof over
 * it. A port with two implementations: {@link createStrewCrypto} (the real one: the node's key, the
 * flock secret, a freshness guard) and {@link createSimStrewCrypto} (the simulator's: deterministic,
 * no keys), so the simulator runs the same route table and the same machines.
 */
import { randomBytes } from 'node:crypto'
import { parseKeyId } from '../../machines/strew/ids.js'
import { FreshnessGuard } from '../../runtime/freshness.js'
import { nodeIdOf } from '../../runtime/node-identity.js'
import { keyIdOf, keysProven, openForget, openRegistration, sealForget, sealRegistration, signKeys, type Registration, type Stamp } from './registration.js'
import { REEVE_REV } from './registry-client.js'

/** A sealed request opened: what it says, or why it was refused (the caller is told less). */
export type Opened<T> = { ok: true; value: T } | { ok: false; why: string }

export interface StrewCrypto {
  /** Seals a registration for the steward whose node id is `steward`. */
  sealRegistration(r: Registration, steward: string): Uint8Array
  /** Opens a registration sealed for this node's steward, checking it is fresh. */
  openRegistration(sealed: Uint8Array): Opened<Registration>
  /** Opens a forget request sealed for this node's steward, checking it is fresh. */
  openForget(sealed: Uint8Array): Opened<{ node: string }>
  /** The flock node id a public key makes. */
  nodeIdOf(publicKey: Uint8Array): string
  /** The KeyID a reeve's key is whitelisted under. */
  reeveKeyIdOf(node: string, publicKey: Uint8Array): string
  /** A fresh challenge for a call-back. */
  challenge(): Uint8Array
  /** This node's keys and its signature over `challenge`. */
  proveKeys(challenge: Uint8Array): { publicKeys: Uint8Array[]; signature: Uint8Array }
  /** Whether `publicKeys`/`signature` prove, over `challenge`, the key KeyID `keyId` names. */
  keysProven(challenge: Uint8Array, publicKeys: readonly Uint8Array[], signature: Uint8Array, keyId: string): boolean
}

const WHY: Record<string, string> = { stale: 'its time is outside the clock window', early: 'sealed before this steward started', replayed: 'replayed', busy: 'too many recent requests' }

/** The real crypto: the node's Ed25519 key, the flock secret, and a nonce guard for sealed requests. */
export function createStrewCrypto(c: { secret: Uint8Array; identity: { secretKey: Uint8Array; publicKey: Uint8Array }; now(): number }, init: { skewMs?: number; maxNonces?: number } = {}): StrewCrypto {
  const self = nodeIdOf(c.identity.publicKey)
  const guard = new FreshnessGuard({ since: c.now(), ...(init.skewMs === undefined ? {} : { skewMs: init.skewMs }), ...(init.maxNonces === undefined ? {} : { maxNonces: init.maxNonces }) })
  /** Why a stamped request may not be taken here, or null (its nonce then taken). */
  const unfresh = (s: Stamp): string | null => {
    if (s.steward !== self) return `sealed for steward ${s.steward}, not this one`
    const stale = guard.take(s.time, s.nonce, c.now())
    return stale === null ? null : WHY[stale]!
  }
  const open = <T extends Stamp>(v: T | null): Opened<T> => {
    if (v === null) return { ok: false, why: 'not sealed under this flock\'s secret' }
    const why = unfresh(v)
    return why === null ? { ok: true, value: v } : { ok: false, why }
  }
  return {
    sealRegistration: (r, steward) => sealRegistration(c.secret, r, { steward, now: c.now() }),
    openRegistration: (sealed) => open(openRegistration(c.secret, sealed)),
    openForget: (sealed) => open(openForget(c.secret, sealed)),
    nodeIdOf,
    reeveKeyIdOf: (node, pk) => keyIdOf(REEVE_REV, node, pk),
    challenge: () => new Uint8Array(randomBytes(32)),
    proveKeys: (challenge) => {
      const keys = [c.identity.publicKey]
      return { publicKeys: keys, signature: signKeys(challenge, keys, c.identity.secretKey) }
    },
    keysProven: (challenge, publicKeys, signature, keyId) => {
      const k = parseKeyId(keyId)
      const key = publicKeys.find((pk) => keyIdOf(k.rev, k.principal, pk) === keyId)
      return key !== undefined && keysProven(challenge, publicKeys, signature, key)
    },
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

/**
 * The simulator's crypto: a node's "public key" is its node id in UTF-8, a seal is JSON naming its
 * steward, a proof is the challenge echoed with the prover's id. Deterministic (challenges count up),
 * so a simulated run stays a pure function of its seed; it proves nothing and is never used on a network.
 */
export function createSimStrewCrypto(c: { node: string }): StrewCrypto {
  let n = 0
  const seen = new Set<string>()
  const open = <T>(sealed: Uint8Array): Opened<T> => {
    let v: { steward?: string; nonce?: string } & T
    try {
      v = JSON.parse(text(sealed))
    } catch {
      return { ok: false, why: 'not sealed under this flock\'s secret' }
    }
    if (v.steward !== c.node) return { ok: false, why: `sealed for steward ${v.steward}, not this one` }
    if (seen.has(String(v.nonce))) return { ok: false, why: 'replayed' }
    seen.add(String(v.nonce))
    return { ok: true, value: v }
  }
  return {
    sealRegistration: (r, steward) => utf8(JSON.stringify({ nodeId: r.nodeId, netId: r.netId, publicKey: text(r.publicKey), steward, nonce: `${c.node}:${n++}` })),
    openRegistration: (sealed) => {
      const o = open<{ nodeId: string; netId: string; publicKey: string }>(sealed)
      return o.ok ? { ok: true, value: { nodeId: o.value.nodeId, netId: o.value.netId, publicKey: utf8(o.value.publicKey) } } : o
    },
    openForget: (sealed) => open<{ node: string }>(sealed),
    nodeIdOf: (pk) => text(pk),
    reeveKeyIdOf: (node, pk) => keyIdOf(REEVE_REV, node, pk),
    challenge: () => utf8(`challenge:${c.node}:${n++}`),
    proveKeys: (challenge) => ({ publicKeys: [utf8(c.node)], signature: utf8(`${c.node}|${text(challenge)}`) }),
    keysProven: (challenge, publicKeys, signature, keyId) => {
      const k = parseKeyId(keyId)
      return publicKeys.some((pk) => text(pk) === k.principal) && text(signature) === `${k.principal}|${text(challenge)}`
    },
  }
}
