/**
 * A gRPC client on the flock's mutual TLS (runtime/grpc-tls.ts): it presents its node's certificate,
 * takes only a server whose certificate chains to the flock CA and, when it knows which key the
 * server must hold (its own node's, the steward the flock names, the reeve that registered), checks
 * that key too. Each call names the KeyID it speaks as (`crux-key`); the server gives it that KeyID
 * only if its whitelist gives the KeyID this channel's key (grpc-server.ts). Nothing is signed per
 * call: the channel authenticates both ends and TLS records cannot be altered or replayed.
 *
 * The request is serialised once and its bytes handed to grpc-js as they are.
 */
import * as grpc from '@grpc/grpc-js'
import { connect, type PeerCertificate } from 'node:tls'
import { CALLER_HEADER, certKey, type PeerTls } from './grpc-tls.js'
import { errorFor, remoteError, type CruxError } from './errors.js'
import { nodeIdOf } from './node-identity.js'

/** The server a client must reach: its Ed25519 key, or the node id its key makes. */
export interface ExpectedPeer {
  publicKey?: Uint8Array
  node?: string
}

export interface PeerClientInit {
  /** This end's certificate and the flock CA. */
  tls: PeerTls
  /** The KeyID each call speaks as; none for a client of open services only. */
  key?: string
  /** Checked on every connection when given; otherwise any server the flock CA certified is taken. */
  expect?: ExpectedPeer
  /** Per-call deadline, ms. Default 10 000. */
  timeoutMs?: number
  /** Prefixes error messages. Default: the address. */
  describe?: string
}

/** The parts of a generated method definition a call needs. */
export interface MethodDef<Req, Res> {
  path: string
  requestSerialize(value: Req): Buffer
  responseDeserialize(value: Buffer): Res
}

export interface PeerClient {
  /** A unary call; a failure is a CruxError carrying the gRPC status as its code. */
  unary<Req, Res>(def: MethodDef<Req, Res>, req: Req, deadlineMs?: number): Promise<Res>
  /** A server-streaming call. */
  stream<Req, Res>(def: MethodDef<Req, Res>, req: Req): grpc.ClientReadableStream<Res>
  close(): void
}

// The name the TLS layer is given instead of the address: an IP address as SNI is not allowed (RFC
// 6066, and Node warns), and no certificate names a host: the key is the identity.
const SERVER_NAME = 'crux'
const PIN_CODE = 'ERR_CRUX_PEER_KEY'

/** The server-side check: the chain was verified by OpenSSL; this checks the pinned key, if any. */
function checkServer(expect: ExpectedPeer | undefined): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    if (expect === undefined) return undefined
    const key = cert.raw === undefined ? undefined : certKey(cert.raw)
    const wrong = (what: string) => Object.assign(new Error(`the server's key is not ${what}`), { code: PIN_CODE })
    if (key === undefined) return wrong('an Ed25519 key')
    if (expect.publicKey !== undefined && Buffer.compare(key, expect.publicKey) !== 0) return wrong(`the expected one (node ${nodeIdOf(expect.publicKey)}); it is node ${nodeIdOf(key)}'s`)
    if (expect.node !== undefined && nodeIdOf(key) !== expect.node) return wrong(`node ${expect.node}'s; it is node ${nodeIdOf(key)}'s`)
    return undefined
  }
}

/** Channel credentials and options for any grpc-js client (generated ones too) on the flock's TLS. */
export function peerChannel(tls: PeerTls, expect?: ExpectedPeer): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  return {
    credentials: grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, { checkServerIdentity: checkServer(expect) }),
    // channelz (grpc-js's call tracing for its debug service, which crux does not serve) costs every call.
    options: { 'grpc.ssl_target_name_override': SERVER_NAME, 'grpc.enable_channelz': 0 },
  }
}

// What an error from OpenSSL's verification or the server's alert means, by its code.
const NOT_OUR_CA = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED'])
const REFUSED_US = new Set(['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN'])
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_UNEXPECTED_EOF_WHILE_READING', 'ECONNRESET', 'EPIPE'])

/** Why a handshake failed: which check, and one line saying it. */
export interface HandshakeFailure {
  /** `ca`: the server's certificate is not from this flock's CA; `pin`: it is, for another key than expected; `refused`: the server refused ours; `not-tls`; `closed`: the server hung up mid-handshake. */
  kind: 'ca' | 'pin' | 'refused' | 'not-tls' | 'closed'
  text: string
}

/**
 * Why a TLS handshake with `address` fails, or null when it succeeds or the server cannot be reached
 * at all (then the call's own error says it). Asked only after a call failed as UNAVAILABLE: grpc-js
 * reports every connection failure alike, and an operator needs to tell a wrong flock from a down
 * server.
 */
export function handshakeProblem(address: string, tls: PeerTls, expect?: ExpectedPeer, timeoutMs = 3_000): Promise<HandshakeFailure | null> {
  const at = address.lastIndexOf(':')
  return new Promise((resolve) => {
    let done = false
    const finish = (why: HandshakeFailure | null) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(why)
    }
    const socket = connect({ host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)), ca: tls.ca, cert: tls.cert, key: tls.key, servername: SERVER_NAME, ALPNProtocols: ['h2'], checkServerIdentity: checkServer(expect) })
    const timer = setTimeout(() => finish(null), timeoutMs)
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? ''
      if (code === PIN_CODE) return finish({ kind: 'pin', text: err.message })
      if (NOT_OUR_CA.has(code)) return finish({ kind: 'ca', text: "not this flock's certificate authority" })
      if (REFUSED_US.has(code)) return finish({ kind: 'refused', text: "the server refused this node's certificate (another flock's secret?)" })
      if (NOT_TLS.has(code)) return finish({ kind: 'not-tls', text: 'the server does not speak TLS (an older crux?)' })
      finish(null)
    })
    // TLS 1.3: the server judges our certificate after our side is done; its first bytes (HTTP/2
    // settings) or its alert tell.
    socket.once('data', () => finish(null))
    socket.once('close', () => finish({ kind: 'closed', text: "the server closed the connection during the handshake (another flock's secret?)" }))
  })
}

/**
 * A failed call as a CruxError carrying its gRPC status as its code; `details.grpc` holds the server's
 * own words, and a connection that failed its TLS handshake says why (`details.tls`: the kind).
 */
export async function callFailure(err: grpc.ServiceError, describe: string, address: string, tls: PeerTls, expect?: ExpectedPeer): Promise<CruxError> {
  const why = err.code === grpc.status.UNAVAILABLE ? await handshakeProblem(address, tls, expect) : null
  // A peer's failure carries its address (isRemoteError), so callers classify by it, never by the words.
  if (why !== null) return errorFor(err.code, `${describe}: TLS handshake failed: ${why.text}`, { details: { remote: address, grpc: err.details, tls: why.kind } })
  return remoteError(err.code, address, describe, err.details || err.message)
}

/** `createPeerClient(address, { tls, key, expect, timeoutMs, describe })`. */
export function createPeerClient(address: string, init: PeerClientInit): PeerClient {
  const { credentials, options } = peerChannel(init.tls, init.expect)
  const client = new grpc.Client(address, credentials, options)
  const timeoutMs = init.timeoutMs ?? 10_000
  const describe = init.describe ?? address
  const named = new grpc.Metadata()
  if (init.key !== undefined) named.set(CALLER_HEADER, init.key)
  const passThrough = (b: Buffer): Buffer => b
  const failure = (err: grpc.ServiceError) => callFailure(err, describe, address, init.tls, init.expect)
  return {
    unary<Req, Res>(def: MethodDef<Req, Res>, req: Req, deadlineMs?: number): Promise<Res> {
      const body = def.requestSerialize(req)
      const deadline = Date.now() + (deadlineMs ?? timeoutMs)
      return new Promise<Res>((resolve, reject) => {
        client.makeUnaryRequest(def.path, passThrough, def.responseDeserialize, body, named.clone(), { deadline }, (err, res) => {
          if (err) void failure(err).then(reject)
          else resolve(res!)
        })
      })
    },
    stream<Req, Res>(def: MethodDef<Req, Res>, req: Req): grpc.ClientReadableStream<Res> {
      return client.makeServerStreamRequest(def.path, passThrough, def.responseDeserialize, def.requestSerialize(req), named.clone())
    },
    close: () => client.close(),
  }
}

/** The former name of {@link createPeerClient}, kept while other code moves to it. */
export const createSignedClient = createPeerClient
/** The former name of {@link PeerClient}. */
export type SignedClient = PeerClient
