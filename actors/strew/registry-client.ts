/**
 * The callers of the registry (the registry machine, machines/registry.machine.ts, behind strew's
 * route table, actors/strew/routes.ts): a node registering its reeve's key with the steward, and an
 * admin asking the steward to forget a node (a decommissioned or compromised one). Both seal their
 * request under the flock secret for one steward (its node id), with their time and a fresh nonce
 * (actors/strew/registration.ts), and send it over the flock's mutual TLS (runtime/grpc-tls.ts).
 *
 * What the caller hears: a registration the registry's edge cannot take (not sealed under this
 * flock's secret, for another steward, not fresh) ends with the status PERMISSION_DENIED, `registration
 * refused`, before anything is called back; one the registry refuses (the key is not the node's, the
 * node is not a member, the call-back host is not its flock host, the key not proven, not the
 * steward) ends with FAILED. Either is a {@link RegistrationError}.
 */
import * as grpc from '@grpc/grpc-js'
import { RegisterStatus, RegistryServiceClient, type RegisterResponse } from '../../protos/gen/crux/v1/registry.js'
import { Code, CruxError, UnavailableError } from '../../runtime/errors.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import { issuePeerTls, type PeerTls } from '../../runtime/grpc-tls.js'
import { handshakeProblem, peerChannel, type ExpectedPeer } from '../../runtime/peer-client.js'
import { sealForget, sealRegistration } from './registration.js'

/** The rev under which a node's reeve key is whitelisted. */
export const REEVE_REV = 'Reeve1_0'

/** Registration refused: FAILED from the registry, PERMISSION_DENIED from its edge, or no DONE. */
export class RegistrationError extends CruxError {
  constructor(message: string) {
    super(Code.PERMISSION_DENIED, message)
    this.name = 'RegistrationError'
  }
}

/** How a node registers: where, for which steward, and what it says about itself. */
export interface RegisterNodeOptions {
  registry: string
  /** The steward's flock node id (the flock's leader): the registration is sealed for it alone. */
  steward: string
  secret: Uint8Array
  /** The node's certificate: the steward's must be the leader's key (`steward`). */
  tls: PeerTls
  nodeId: string
  /** The node's reeve, where the registry calls back. */
  netId: string
  publicKey: Uint8Array
  /** The steward's key, from BUSY: the reeve must accept its calls before the call-back comes. */
  onSteward(keyId: string, publicKey: Uint8Array): void
  timeoutMs?: number
  /** Wall clock, ms since the epoch. Default Date.now. */
  now?: () => number
}

/** A call that reached no answer: UNAVAILABLE, saying why a TLS handshake failed when it did. */
async function unreachable(describe: string, address: string, tls: PeerTls, expect: ExpectedPeer | undefined, err: grpc.ServiceError): Promise<UnavailableError> {
  const why = err.code === grpc.status.UNAVAILABLE ? await handshakeProblem(address, tls, expect) : null
  return new UnavailableError(why === null ? `${describe}: ${err.details || err.message}` : `${describe}: TLS handshake failed: ${why.text}`, { details: { tls: why?.kind } })
}

/** Registers a node; resolves with the steward's key and term once DONE, rejects with the reason otherwise. */
export async function registerNode(o: RegisterNodeOptions): Promise<{ stewardKeyId: string; stewardPublicKey: Uint8Array; stewardTerm: number }> {
  const expect = { node: o.steward }
  const channel = peerChannel(o.tls, expect)
  const client = new RegistryServiceClient(o.registry, channel.credentials, channel.options)
  const sealed = sealRegistration(o.secret, { nodeId: o.nodeId, netId: o.netId, publicKey: o.publicKey }, { steward: o.steward, now: (o.now ?? Date.now)() })
  try {
    return await new Promise((resolve, reject) => {
      const call = client.register({ sealed: Buffer.from(sealed), seenTerm: 0 }, { deadline: Date.now() + (o.timeoutMs ?? 15_000) })
      let done = false
      call.on('data', (r: RegisterResponse) => {
        if (r.status === RegisterStatus.REGISTER_STATUS_BUSY) o.onSteward(r.stewardKeyId, new Uint8Array(r.stewardPublicKey))
        else if (r.status === RegisterStatus.REGISTER_STATUS_DONE) {
          done = true
          resolve({ stewardKeyId: r.stewardKeyId, stewardPublicKey: new Uint8Array(r.stewardPublicKey), stewardTerm: r.stewardTerm })
        } else if (r.status === RegisterStatus.REGISTER_STATUS_FAILED) {
          done = true
          reject(new RegistrationError(`registration failed: ${r.error}`))
        }
      })
      call.on('error', (err: grpc.ServiceError) => {
        if (done) return
        // A refusal is the registry's answer, not a failure to reach it.
        if (err.code === grpc.status.PERMISSION_DENIED) reject(new RegistrationError(`registration failed: ${err.details || err.message}`))
        else void unreachable(`registry ${o.registry}`, o.registry, o.tls, expect, err).then(reject)
      })
      call.on('end', () => {
        if (!done) reject(new RegistrationError('registration ended without an answer'))
      })
    })
  } finally {
    client.close()
  }
}

/** What `crux admin forget` asks, and of whom. */
export interface ForgetNodeOptions {
  /** The steward's gRPC address (the flock leader's). */
  target: string
  secret: Uint8Array
  /** An identity the flock's CA certified. Default: a fresh key, certified with `secret` (an admin holds it). */
  tls?: PeerTls
  /** The node whose keys go. */
  node: string
  timeoutMs?: number
  now?: () => number
}

/**
 * Asks the steward at `target` to drop node `node`'s keys from its whitelist. Learns the steward's
 * node id first (RegistryService.Ping), as the request is sealed for that steward alone.
 */
export async function forgetNode(o: ForgetNodeOptions): Promise<{ steward: string; term: number; removed: string[] }> {
  const tls = o.tls ?? issuePeerTls(o.secret, ((sk) => ({ secretKey: sk, publicKey: ed25519PublicKey(sk) }))(randomEd25519SecretKey()))
  const channel = peerChannel(tls)
  const client = new RegistryServiceClient(o.target, channel.credentials, channel.options)
  const deadline = () => ({ deadline: Date.now() + (o.timeoutMs ?? 5_000) })
  const call = <Res>(fn: (cb: (err: grpc.ServiceError | null, res: Res) => void) => void): Promise<Res> =>
    new Promise((resolve, reject) =>
      fn((err, res) => (err ? void (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED ? unreachable(o.target, o.target, tls, undefined, err).then(reject) : reject(new CruxError(err.code as Code, `${o.target}: ${err.details || err.message}`))) : resolve(res))),
    )
  try {
    const ping = await call<{ node: string; term: number }>((cb) => client.ping({ text: 'forget' }, new grpc.Metadata(), deadline(), cb))
    if (ping.term === 0 || ping.node === '') throw new CruxError(Code.FAILED_PRECONDITION, `${o.target} is not the flock's steward (ask the leader's gRPC address: crux names)`)
    const sealed = sealForget(o.secret, o.node, { steward: ping.node, now: (o.now ?? Date.now)() })
    const res = await call<{ removedKeyIds: string[]; stewardTerm: number }>((cb) => client.forget({ sealed: Buffer.from(sealed) }, new grpc.Metadata(), deadline(), cb))
    return { steward: ping.node, term: res.stewardTerm, removed: res.removedKeyIds }
  } finally {
    client.close()
  }
}
