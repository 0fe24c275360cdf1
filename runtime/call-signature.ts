/**
 * Signed gRPC calls (issue 7; the grpcsig idea of original-crux.md §4.1, on Ed25519): every call
 * carries in its metadata the caller's key id, a timestamp, a nonce, and an Ed25519 signature over the
 * method, the timestamp, the nonce and the SHA-256 of the request's bytes. The server checks, in this
 * order, and answers every refusal with the same message, so a caller learns nothing from it:
 *
 * | check | refused as |
 * |---|---|
 * | all four fields present and well formed | UNAUTHENTICATED (`unsigned`) |
 * | timestamp within ±skew of the server's clock | UNAUTHENTICATED (`stale`) |
 * | the key id is on the whitelist | PERMISSION_DENIED (`unknown`) |
 * | the signature verifies | UNAUTHENTICATED (`forged`) |
 * | the nonce was not seen within the window | UNAUTHENTICATED (`replayed`) |
 *
 * A nonce is remembered only after its signature verified (forgeries cannot fill the cache) and for
 * twice the skew, the longest any copy of the call stays acceptable. The cache is bounded: when full,
 * new calls are refused (`busy`, RESOURCE_EXHAUSTED) rather than old nonces forgotten early, which
 * would re-open replays.
 */
import { createHash, randomFillSync } from 'node:crypto'
import { ed25519Sign, ed25519SignAsync, ed25519Verify, ed25519VerifyAsync } from './ed25519.js'

/** The metadata keys (lower case: gRPC metadata keys are). */
export const CALL_HEADERS = { key: 'crux-key', time: 'crux-time', nonce: 'crux-nonce', signature: 'crux-signature' } as const

export interface CallSignature {
  key: string
  time: string
  nonce: string
  signature: string
}

export type CallRefusal = 'unsigned' | 'stale' | 'unknown' | 'forged' | 'replayed' | 'busy'

export type CallVerdict = { ok: true; caller: string } | { ok: false; reason: CallRefusal }

const DOMAIN = 'crux/v1 call'

function signedText(method: string, time: string, nonce: string, body: Uint8Array): Uint8Array {
  const hash = createHash('sha256').update(body).digest('hex')
  return new TextEncoder().encode(`${DOMAIN}\n${method}\n${time}\n${nonce}\n${hash}`)
}

// Nonces come from a pool of random bytes refilled 256 calls at a time: one randomFillSync per call
// showed in a client's profile.
const pool = Buffer.alloc(16 * 256)
let poolAt = pool.length
function freshNonce(): string {
  if (poolAt === pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  poolAt += 16
  return pool.toString('hex', poolAt - 16, poolAt)
}

/** Signs one call: the metadata values for `method` with request bytes `body`. */
export function signCall(o: { key: string; secretKey: Uint8Array; method: string; body: Uint8Array; nowMs: number; nonce?: string }): CallSignature {
  const time = String(Math.floor(o.nowMs))
  const nonce = o.nonce ?? freshNonce()
  const signature = Buffer.from(ed25519Sign(signedText(o.method, time, nonce, o.body), o.secretKey)).toString('base64')
  return { key: o.key, time, nonce, signature }
}

/** {@link signCall} with the signature made on libuv's thread pool. */
export async function signCallAsync(o: { key: string; secretKey: Uint8Array; method: string; body: Uint8Array; nowMs: number }): Promise<CallSignature> {
  const time = String(Math.floor(o.nowMs))
  const nonce = freshNonce()
  const signature = Buffer.from(await ed25519SignAsync(signedText(o.method, time, nonce, o.body), o.secretKey)).toString('base64')
  return { key: o.key, time, nonce, signature }
}

export interface CallVerifierInit {
  /** The whitelist: a key id's Ed25519 public key, or undefined. */
  lookup(key: string): Uint8Array | undefined
  /** Accepted clock difference, ms. Default 300 000 (the original's reeve). */
  skewMs?: number
  /** Nonces remembered at most. Default 1 000 000. */
  maxNonces?: number
}

/** The server side: checks signatures, the clock, the whitelist and replays. */
export class CallVerifier {
  private readonly skewMs: number
  private readonly maxNonces: number
  /** nonce → when it may be forgotten; insertion order is expiry order (all expire after 2 × skew). */
  private readonly nonces = new Map<string, number>()
  /** Refusals by reason, for metrics. */
  readonly refused: Record<CallRefusal, number> = { unsigned: 0, stale: 0, unknown: 0, forged: 0, replayed: 0, busy: 0 }
  accepted = 0

  constructor(private readonly init: CallVerifierInit) {
    this.skewMs = init.skewMs ?? 300_000
    this.maxNonces = init.maxNonces ?? 1_000_000
  }

  verify(sig: Partial<CallSignature>, method: string, body: Uint8Array, nowMs: number): CallVerdict {
    const c = this.precheck(sig, method, body, nowMs)
    if ('ok' in c) return c
    return this.settle(ed25519Verify(c.sigBytes, c.text, c.pub), c.nonce, c.key, nowMs)
  }

  /**
   * {@link verify} with the signature checked on libuv's thread pool, for a server with calls in
   * flight. A copy of the call racing this one is still refused: the nonce is taken only after the
   * signature verified, and only once.
   */
  async verifyAsync(sig: Partial<CallSignature>, method: string, body: Uint8Array, nowMs: number): Promise<CallVerdict> {
    const c = this.precheck(sig, method, body, nowMs)
    if ('ok' in c) return c
    return this.settle(await ed25519VerifyAsync(c.sigBytes, c.text, c.pub), c.nonce, c.key, nowMs)
  }

  /** Everything but the signature: form, clock, whitelist. */
  private precheck(sig: Partial<CallSignature>, method: string, body: Uint8Array, nowMs: number): CallVerdict | { key: string; nonce: string; sigBytes: Buffer; text: Uint8Array; pub: Uint8Array } {
    const { key, time, nonce, signature } = sig
    if (typeof key !== 'string' || typeof time !== 'string' || typeof nonce !== 'string' || typeof signature !== 'string' || !/^\d{1,16}$/.test(time) || !/^[0-9a-f]{16,64}$/.test(nonce) || key.length > 256) return this.refuse('unsigned')
    const sigBytes = Buffer.from(signature, 'base64')
    if (sigBytes.length !== 64) return this.refuse('unsigned')
    if (Math.abs(nowMs - Number(time)) > this.skewMs) return this.refuse('stale')
    const pub = this.init.lookup(key)
    if (pub === undefined) return this.refuse('unknown')
    return { key, nonce, sigBytes, text: signedText(method, time, nonce, body), pub }
  }

  private settle(verified: boolean, nonce: string, key: string, nowMs: number): CallVerdict {
    if (!verified) return this.refuse('forged')
    this.expire(nowMs)
    if (this.nonces.has(nonce)) return this.refuse('replayed')
    if (this.nonces.size >= this.maxNonces) return this.refuse('busy')
    this.nonces.set(nonce, nowMs + 2 * this.skewMs)
    this.accepted++
    return { ok: true, caller: key }
  }

  /** Nonces currently remembered. */
  get remembered(): number {
    return this.nonces.size
  }

  private expire(nowMs: number): void {
    for (const [n, until] of this.nonces) {
      if (until > nowMs) break
      this.nonces.delete(n)
    }
  }

  private refuse(reason: CallRefusal): CallVerdict {
    this.refused[reason]++
    return { ok: false, reason }
  }
}
