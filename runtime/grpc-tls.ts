/**
 * The gRPC channel's certificates (mutual TLS 1.3, Ed25519): a flock CA whose key is derived from the
 * flock secret, so every holder of the secret can certify a node key, and one certificate per node key
 * signed by it (runtime/x509.ts). Both ends of every strew call present a certificate and require the
 * other's to chain to the CA: a party without the secret cannot connect, read or alter anything.
 * Which key may do what is decided per call above the channel (grpc-server.ts `callerOf`, pinned
 * server keys in peer-client.ts).
 *
 * A fulcrum writes its material beside node.key so the CLI speaking for that node (it reads node.key)
 * presents the same identity without holding the secret:
 *
 * | file | what | mode |
 * |---|---|---|
 * | `grpc-ca.crt` | the flock CA's certificate (PEM) | 0644 |
 * | `grpc.crt` | the node's certificate (PEM, CN = its node id) | 0644 |
 * | `grpc.key` | node.key as PKCS#8 PEM, for tools such as grpcurl | 0600 |
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { createHash, createPrivateKey } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ed25519PublicKey } from './ed25519.js'
import { InvalidArgumentError, UnavailableError } from './errors.js'
import { loadIdentity, nodeIdOf } from './node-identity.js'
import { fromPem, issueX509, parseX509, signedBy, toPem } from './x509.js'

/** The metadata key under which a call names the KeyID it speaks as (lower case, as gRPC's are). */
export const CALLER_HEADER = 'crux-key'

/** What one end of a channel presents and trusts. */
export interface PeerTls {
  /** The flock CA's certificate, PEM: the only root either end trusts. */
  ca: Buffer
  caPublicKey: Uint8Array
  /** This end's certificate, PEM. */
  cert: Buffer
  /** This end's private key, PKCS#8 PEM. */
  key: Buffer
  /** This end's Ed25519 public key (the one its certificate names). */
  publicKey: Uint8Array
}

// Domain-separated from every other use of the secret (session keys, sealed registrations).
const CA_SALT = new TextEncoder().encode('crux/v1 grpc flock ca')
const CA_INFO = new TextEncoder().encode('ed25519 seed')

/** The flock CA's Ed25519 secret key: HKDF-SHA256 of the flock secret. */
export function flockCaSecretKey(secret: Uint8Array): Uint8Array {
  return hkdf(sha256, secret, CA_SALT, CA_INFO, 32)
}

/** The CA's common name: names which CA, so two flocks' certificates are told apart in a dump. */
const caName = (caPublicKey: Uint8Array) => `crux flock CA ${createHash('sha256').update(caPublicKey).digest('hex').slice(0, 16)}`

/** PKCS#8 PEM of a raw Ed25519 secret key. */
function keyPem(secretKey: Uint8Array): Buffer {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secretKey])
  return Buffer.from(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string)
}

/**
 * Certifies `identity` for the flock of `secret`: its certificate (CN = its node id), the CA's, and
 * its key as PEM. The same inputs always give the same bytes.
 */
export function issuePeerTls(secret: Uint8Array, identity: { secretKey: Uint8Array; publicKey: Uint8Array }): PeerTls {
  const caSk = flockCaSecretKey(secret)
  const caPublicKey = ed25519PublicKey(caSk)
  const issuer = caName(caPublicKey)
  const ca = issueX509({ subject: issuer, issuer, publicKey: caPublicKey, ca: true }, caSk)
  const cert = issueX509({ subject: nodeIdOf(identity.publicKey), issuer, publicKey: identity.publicKey, ca: false }, caSk)
  return { ca: Buffer.from(toPem(ca)), caPublicKey, cert: Buffer.from(toPem(cert)), key: keyPem(identity.secretKey), publicKey: identity.publicKey }
}

/** Writes `path` only when its content differs, through a temp file and a rename (a reader never sees half). */
function writeIfChanged(path: string, data: Buffer, mode: number): void {
  try {
    if (existsSync(path) && readFileSync(path).equals(data)) return
    writeFileSync(`${path}.tmp`, data, { mode })
    renameSync(`${path}.tmp`, path)
  } catch (err) {
    throw new UnavailableError(`cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/** Writes a node's channel material into its data dir (see the table above). */
export function writePeerTls(dataDir: string, tls: PeerTls): void {
  writeIfChanged(join(dataDir, 'grpc-ca.crt'), tls.ca, 0o644)
  writeIfChanged(join(dataDir, 'grpc.crt'), tls.cert, 0o644)
  writeIfChanged(join(dataDir, 'grpc.key'), tls.key, 0o600)
}

/** One certificate from a PEM file, parsed; every problem names the file. */
function readCert(path: string): { pem: Buffer; cert: NonNullable<ReturnType<typeof parseX509>> } {
  let pem: Buffer
  try {
    pem = readFileSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    if (code === 'ENOENT') throw new InvalidArgumentError(`no ${path} (a fulcrum writes it into its data dir when it starts)`)
    throw new UnavailableError(`cannot read ${path} (${code})`)
  }
  const der = fromPem(pem.toString('utf8'))
  const cert = der.length === 1 ? parseX509(der[0]!) : null
  if (cert === null) throw new InvalidArgumentError(`${path}: not one Ed25519 certificate (PEM)`)
  return { pem, cert }
}

/**
 * The channel material of the node whose data dir is `dataDir`: its node.key and the certificates its
 * fulcrum wrote. For the CLI speaking for that node.
 */
export function loadPeerTls(dataDir: string): PeerTls {
  const identity = loadIdentity(dataDir)
  const ca = readCert(join(dataDir, 'grpc-ca.crt'))
  const own = readCert(join(dataDir, 'grpc.crt'))
  if (!Buffer.from(own.cert.publicKey).equals(Buffer.from(identity.publicKey))) throw new InvalidArgumentError(`${join(dataDir, 'grpc.crt')}: is for another key than ${identity.path}`)
  if (!signedBy(ca.cert, ca.cert.publicKey) || !signedBy(own.cert, ca.cert.publicKey)) throw new InvalidArgumentError(`${join(dataDir, 'grpc.crt')}: not signed by the CA of ${join(dataDir, 'grpc-ca.crt')}`)
  return { ca: ca.pem, caPublicKey: ca.cert.publicKey, cert: own.pem, key: keyPem(identity.secretKey), publicKey: identity.publicKey }
}

/** The Ed25519 key a peer's DER certificate names, or undefined when it is not one of ours. */
export function certKey(raw: Uint8Array): Uint8Array | undefined {
  return parseX509(raw)?.publicKey
}

/** A fulcrum at start: certifies its key for the flock of `secret` and writes the material into its data dir. */
export function certifyNode(dataDir: string, secret: Uint8Array, identity: { secretKey: Uint8Array; publicKey: Uint8Array }): PeerTls {
  const tls = issuePeerTls(secret, identity)
  writePeerTls(dataDir, tls)
  return tls
}
