/**
 * Bloc certificates (seed 002): a bloc's CA, an Ed25519 key pair, signs each node's public key
 * together with its bloc name and node name and an expiry. When a fulcrum runs with a CA, a peer
 * whose certificate does not verify against that CA, names another bloc, has expired, or is not for
 * the key that signed its handshake is ignored: it never gets a session.
 *
 * Not X.509: Node can verify X.509 but not issue it, and a bloc needs nothing X.509 carries beyond
 * these five fields. The binary form travels in handshakes (≈ 150 bytes); files hold JSON.
 */
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from './ed25519.js'
import { concatBytes } from '@noble/hashes/utils.js'
import { InvalidArgumentError } from './errors.js'

/** A node certificate. */
export interface NodeCert {
  /** The node's Ed25519 public key (32 bytes). */
  publicKey: Uint8Array
  /** The CA's Ed25519 public key (32 bytes). */
  issuer: Uint8Array
  /** Expiry, ms since the epoch. */
  notAfterMs: number
  bloc: string
  /** The node's name (informational; sessions are keyed by address and key). */
  name: string
  /** The CA's signature over everything above (64 bytes). */
  signature: Uint8Array
}

const VERSION = 1
const DOMAIN = new TextEncoder().encode('crux/v1 node cert')
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/

/** Checks a bloc or node name: 1–64 of letters, digits, `.`, `_`, `-`. */
export function checkCertName(what: string, s: string): void {
  if (!NAME_RE.test(s)) throw new InvalidArgumentError(`${what} must be 1–64 letters, digits, '.', '_' or '-', got ${JSON.stringify(s)}`)
}

function body(c: Omit<NodeCert, 'signature'>): Uint8Array {
  const bloc = new TextEncoder().encode(c.bloc)
  const name = new TextEncoder().encode(c.name)
  const out = new Uint8Array(1 + 32 + 32 + 8 + 1 + bloc.length + 1 + name.length)
  const v = new DataView(out.buffer)
  let at = 0
  out[at++] = VERSION
  out.set(c.publicKey, at)
  out.set(c.issuer, (at += 32))
  v.setFloat64((at += 32), c.notAfterMs)
  out[(at += 8)] = bloc.length
  out.set(bloc, (at += 1))
  out[(at += bloc.length)] = name.length
  out.set(name, at + 1)
  return out
}

/** The CA signs a certificate for `publicKey`. */
export function issueCert(caSecretKey: Uint8Array, o: { publicKey: Uint8Array; bloc: string; name: string; notAfterMs: number }): NodeCert {
  checkCertName('bloc', o.bloc)
  checkCertName('node name', o.name)
  const unsigned = { publicKey: o.publicKey.slice(), issuer: ed25519PublicKey(caSecretKey), notAfterMs: o.notAfterMs, bloc: o.bloc, name: o.name }
  return { ...unsigned, signature: ed25519Sign(concatBytes(DOMAIN, body(unsigned)), caSecretKey) }
}

/** The wire form: body then signature. */
export function encodeCert(c: NodeCert): Uint8Array {
  const b = body(c)
  const out = new Uint8Array(b.length + 64)
  out.set(b)
  out.set(c.signature, b.length)
  return out
}

/** Parses the wire form; null for anything malformed (never throws). */
export function decodeCert(bytes: Uint8Array): NodeCert | null {
  if (bytes.length < 1 + 32 + 32 + 8 + 2 + 64 || bytes[0] !== VERSION) return null
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = 73
  const notAfterMs = v.getFloat64(65)
  const blocLen = bytes[at++]!
  if (at + blocLen + 1 + 64 > bytes.length) return null
  const bloc = new TextDecoder().decode(bytes.subarray(at, (at += blocLen)))
  const nameLen = bytes[at++]!
  if (at + nameLen + 64 !== bytes.length) return null
  const name = new TextDecoder().decode(bytes.subarray(at, (at += nameLen)))
  if (!NAME_RE.test(bloc) || !NAME_RE.test(name) || !Number.isFinite(notAfterMs)) return null
  return { publicKey: bytes.slice(1, 33), issuer: bytes.slice(33, 65), notAfterMs, bloc, name, signature: bytes.slice(at, at + 64) }
}

/** Why a certificate is not acceptable, or null if it is. */
export function certProblem(c: NodeCert, ca: Uint8Array, bloc: string, nowMs: number): string | null {
  if (!equal(c.issuer, ca)) return 'issued by another CA'
  let ok = false
  try {
    ok = ed25519Verify(c.signature, concatBytes(DOMAIN, body(c)), ca)
  } catch {
    ok = false
  }
  if (!ok) return 'bad signature'
  if (c.bloc !== bloc) return `for bloc ${JSON.stringify(c.bloc)}, not ${JSON.stringify(bloc)}`
  if (nowMs > c.notAfterMs) return `expired ${new Date(c.notAfterMs).toISOString()}`
  return null
}

/** The JSON a certificate file holds. */
export function certToJson(c: NodeCert): string {
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64')
  return JSON.stringify({ version: VERSION, bloc: c.bloc, name: c.name, notAfter: new Date(c.notAfterMs).toISOString(), publicKey: b64(c.publicKey), issuer: b64(c.issuer), signature: b64(c.signature) }, null, 2) + '\n'
}

/** Parses a certificate file's JSON; `what` names the file in the error. */
export function certFromJson(text: string, what: string): NodeCert {
  let j: Record<string, unknown>
  try {
    j = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new InvalidArgumentError(`${what}: not JSON`)
  }
  // `null`, a list or a number parse too, and would fail below with a TypeError naming nothing.
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new InvalidArgumentError(`${what}: not a certificate object`)
  const bytes = (k: string, n: number): Uint8Array => {
    const s = j[k]
    const u = typeof s === 'string' ? new Uint8Array(Buffer.from(s, 'base64')) : new Uint8Array()
    if (u.length !== n) throw new InvalidArgumentError(`${what}: ${k} must be ${n} bytes, base64`)
    return u
  }
  if (j.version !== VERSION) throw new InvalidArgumentError(`${what}: version must be ${VERSION}`)
  const notAfterMs = typeof j.notAfter === 'string' ? Date.parse(j.notAfter) : NaN
  if (!Number.isFinite(notAfterMs)) throw new InvalidArgumentError(`${what}: notAfter must be an ISO date`)
  if (typeof j.bloc !== 'string' || !NAME_RE.test(j.bloc)) throw new InvalidArgumentError(`${what}: bad bloc`)
  if (typeof j.name !== 'string' || !NAME_RE.test(j.name)) throw new InvalidArgumentError(`${what}: bad name`)
  return { publicKey: bytes('publicKey', 32), issuer: bytes('issuer', 32), signature: bytes('signature', 64), notAfterMs, bloc: j.bloc, name: j.name }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
