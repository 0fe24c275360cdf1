/**
 * X.509 certificates for Ed25519 keys (RFC 5280, RFC 8410), just enough for the gRPC channel's mutual
 * TLS: Node verifies X.509 chains (OpenSSL) but cannot issue a certificate, so this builds the DER
 * itself and signs it with runtime/ed25519.ts.
 *
 * Every certificate here is a function of its inputs: fixed validity (2000-01-01 to 9999-12-31, the
 * RFC 5280 "no expiry" date), a serial made from the subject key and deterministic Ed25519
 * signatures. So any holder of the issuing key makes the same bytes, and a certificate is never stale:
 * it names a key, and the key is what the peer authorises.
 */
import { createHash } from 'node:crypto'
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from './ed25519.js'

const OID_ED25519 = Buffer.from('06032b6570', 'hex') // 1.3.101.112
const OID_CN = Buffer.from('0603550403', 'hex') // 2.5.4.3
const OID_BASIC_CONSTRAINTS = Buffer.from('0603551d13', 'hex')
const OID_KEY_USAGE = Buffer.from('0603551d0f', 'hex')
const OID_EXT_KEY_USAGE = Buffer.from('0603551d25', 'hex')
const OID_SUBJECT_KEY_ID = Buffer.from('0603551d0e', 'hex')
const OID_AUTHORITY_KEY_ID = Buffer.from('0603551d23', 'hex')
// id-kp-serverAuth and id-kp-clientAuth: one certificate serves a node as server and as client.
const SERVER_AND_CLIENT_AUTH = Buffer.from('301406082b0601050507030106082b06010505070302', 'hex')
// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after.
const NOT_BEFORE = tlv(0x17, Buffer.from('000101000000Z'))
const NOT_AFTER = tlv(0x18, Buffer.from('99991231235959Z'))

/** One DER element: tag, length, content. */
function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content)
  const n = body.length
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return Buffer.concat([Buffer.from([tag, ...len]), body])
}
const seq = (...c: Uint8Array[]) => tlv(0x30, ...c)
const bitString = (b: Uint8Array) => tlv(0x03, Buffer.from([0]), b)
const octets = (b: Uint8Array) => tlv(0x04, b)
const TRUE = Buffer.from('0101ff', 'hex')

/** A distinguished name of one common name. */
const name = (cn: string) => seq(tlv(0x31, seq(OID_CN, tlv(0x0c, Buffer.from(cn, 'utf8')))))
const extension = (oid: Buffer, critical: boolean, value: Uint8Array) => seq(oid, ...(critical ? [TRUE] : []), octets(value))
/** The key identifier RFC 5280 §4.2.1.2 suggests: SHA-1 of the key bits (an identifier, not a security property). */
const keyId = (publicKey: Uint8Array) => createHash('sha1').update(publicKey).digest()

/** A positive serial from the subject key: 16 bytes of its SHA-256, top bit cleared. */
function serial(publicKey: Uint8Array): Buffer {
  const s = createHash('sha256').update('crux/v1 x509 serial').update(publicKey).digest().subarray(0, 16)
  s[0] = (s[0]! & 0x7f) | 0x01
  return tlv(0x02, s)
}

/** What a certificate says; `ca` makes it a CA certificate (may sign others, not serve). */
export interface CertFields {
  subject: string
  publicKey: Uint8Array
  issuer: string
  ca: boolean
}

/** Issues a certificate signed by `issuerSecretKey` (DER). A self-signed CA passes its own key and name. */
export function issueX509(f: CertFields, issuerSecretKey: Uint8Array): Buffer {
  if (f.publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes')
  const issuerKey = ed25519PublicKey(issuerSecretKey)
  const exts = f.ca
    ? [extension(OID_BASIC_CONSTRAINTS, true, seq(TRUE)), extension(OID_KEY_USAGE, true, tlv(0x03, Buffer.from([0x01, 0x06])))] // keyCertSign, cRLSign
    : [extension(OID_BASIC_CONSTRAINTS, true, seq()), extension(OID_KEY_USAGE, true, tlv(0x03, Buffer.from([0x07, 0x80]))), extension(OID_EXT_KEY_USAGE, false, SERVER_AND_CLIENT_AUTH)] // digitalSignature
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    serial(f.publicKey),
    seq(OID_ED25519),
    name(f.issuer),
    seq(NOT_BEFORE, NOT_AFTER),
    name(f.subject),
    seq(seq(OID_ED25519), bitString(f.publicKey)),
    tlv(0xa3, seq(...exts, extension(OID_SUBJECT_KEY_ID, false, octets(keyId(f.publicKey))), extension(OID_AUTHORITY_KEY_ID, false, seq(tlv(0x80, keyId(issuerKey)))))),
  )
  return seq(tbs, seq(OID_ED25519), bitString(ed25519Sign(tbs, issuerSecretKey)))
}

/** PEM text of a DER certificate. */
export function toPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n')
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`
}

/** The DER certificates of a PEM text, in order. */
export function fromPem(pem: string): Buffer[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'))
}

/** A certificate read back: the parts the channel checks. */
export interface ParsedCert {
  /** The signed part, as it is in the certificate. */
  tbs: Buffer
  subject: string
  issuer: string
  /** The subject's Ed25519 public key (32 bytes). */
  publicKey: Uint8Array
  signature: Uint8Array
}

/** A DER reader over one buffer; every read checks its bounds and throws on anything malformed. */
class Der {
  constructor(private readonly b: Buffer, public at = 0, private readonly end = b.length) {}
  /** The next element: its tag, where its content starts and ends, and the whole element. */
  next(): { tag: number; start: number; stop: number; whole: Buffer } {
    const from = this.at
    if (this.at + 2 > this.end) throw new RangeError('truncated')
    const tag = this.b[this.at++]!
    let len = this.b[this.at++]!
    if (len & 0x80) {
      const n = len & 0x7f
      if (n < 1 || n > 3 || this.at + n > this.end) throw new RangeError('bad length')
      len = 0
      for (let i = 0; i < n; i++) len = (len << 8) | this.b[this.at++]!
    }
    const start = this.at
    const stop = start + len
    if (stop > this.end) throw new RangeError('truncated')
    this.at = stop
    return { tag, start, stop, whole: this.b.subarray(from, stop) }
  }
  expect(tag: number): { start: number; stop: number; whole: Buffer } {
    const e = this.next()
    if (e.tag !== tag) throw new RangeError(`expected tag ${tag}, got ${e.tag}`)
    return e
  }
  inside(e: { start: number; stop: number }): Der {
    return new Der(this.b, e.start, e.stop)
  }
  bytes(e: { start: number; stop: number }): Buffer {
    return this.b.subarray(e.start, e.stop)
  }
  get done(): boolean {
    return this.at >= this.end
  }
}

/** The common name of a Name, '' when it has none. */
function commonName(d: Der, e: { start: number; stop: number }): string {
  const rdns = d.inside(e)
  while (!rdns.done) {
    const set = rdns.inside(rdns.expect(0x31))
    while (!set.done) {
      const atv = set.inside(set.expect(0x30))
      const oid = atv.expect(0x06)
      const value = atv.next()
      if (oid.whole.equals(OID_CN)) return d.bytes(value).toString('utf8')
    }
  }
  return ''
}

/** Parses a DER certificate with an Ed25519 key and signature; null for anything else (never throws). */
export function parseX509(der: Uint8Array): ParsedCert | null {
  try {
    const b = Buffer.from(der.buffer, der.byteOffset, der.byteLength)
    const top = new Der(b)
    const cert = top.inside(top.expect(0x30))
    if (!top.done) return null
    const tbsEl = cert.expect(0x30)
    if (!cert.bytes(cert.expect(0x30)).equals(OID_ED25519)) return null
    const sig = cert.bytes(cert.expect(0x03))
    if (sig.length !== 65 || sig[0] !== 0) return null
    const tbs = cert.inside(tbsEl)
    let e = tbs.next()
    if (e.tag === 0xa0) e = tbs.next() // version
    if (e.tag !== 0x02) return null // serial
    if (!tbs.bytes(tbs.expect(0x30)).equals(OID_ED25519)) return null
    const issuer = commonName(tbs, tbs.expect(0x30))
    tbs.expect(0x30) // validity: fixed here, and OpenSSL checks it on the handshake
    const subject = commonName(tbs, tbs.expect(0x30))
    const spki = tbs.inside(tbs.expect(0x30))
    if (!spki.bytes(spki.expect(0x30)).equals(OID_ED25519)) return null
    const key = spki.bytes(spki.expect(0x03))
    if (key.length !== 33 || key[0] !== 0) return null
    return { tbs: tbsEl.whole, subject, issuer, publicKey: new Uint8Array(key.subarray(1)), signature: new Uint8Array(sig.subarray(1)) }
  } catch {
    return null
  }
}

/** Whether `cert` is signed by the holder of `issuerPublicKey`. */
export function signedBy(cert: ParsedCert, issuerPublicKey: Uint8Array): boolean {
  return ed25519Verify(cert.signature, cert.tbs, issuerPublicKey)
}
