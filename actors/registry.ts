/**
 * The registry (seed 004; original-crux.md §4.4): how a node's key gets on the whitelist. The node
 * sends its identity sealed under the flock secret (factor 1); the registry answers BUSY with the
 * steward's key, which the node's reeve then accepts calls from; the registry calls the reeve back and
 * asks for its keys, signed over a fresh challenge with the key factor 1 named (factor 2); if they
 * verify, the key goes on the whitelist and the answer is DONE. Anything else is FAILED, with as
 * little said as possible to a caller that may not hold the secret.
 */
import * as grpc from '@grpc/grpc-js'
import { randomBytes } from 'node:crypto'
import { netIdAddress, parseNetId, parseNodeId } from '../machines/strew/ids.js'
import { RegisterStatus, RegistryServiceClient, type RegisterRequest, type RegisterResponse } from '../protos/gen/crux/v1/registry.js'
import { ReeveServiceService, type PullKeysResponse } from '../protos/gen/crux/v1/reeve.js'
import { CruxError, Code, UnavailableError } from '../runtime/errors.js'
import { createSignedClient } from '../runtime/signed-client.js'
import { nodeIdOf } from '../runtime/node-identity.js'
import { keyIdOf, keysProven, openRegistration, sealRegistration } from '../runtime/registration.js'

/** Where whitelisted keys live (the steward's; persisted by its owner). */
export interface Whitelist {
  get(keyId: string): Uint8Array | undefined
  add(keyId: string, publicKey: Uint8Array): void
}

/** The rev under which a node's reeve key is whitelisted. */
export const REEVE_REV = 'Reeve1_0'

export interface RegistryComponents {
  whitelist: Whitelist
  /** The steward's own key: the registry signs its call-backs with it. */
  steward: { keyId: string; secretKey: Uint8Array; publicKey: Uint8Array }
  /** The steward's term now, or null when this node is not the steward (registration is refused). */
  term(): number | null
  secret: Uint8Array
  now(): number
}

export interface RegistryInit {
  /** How long the reeve has to prove its key. Default 10 s (the original's bootstrap). */
  callbackTimeoutMs?: number
  retryMs?: number
}

/** Registration refused: FAILED from the registry, or no DONE. */
export class RegistrationError extends CruxError {
  constructor(message: string) {
    super(Code.PERMISSION_DENIED, message)
    this.name = 'RegistrationError'
  }
}

/** The RegistryService implementation. */
export function createRegistryService(c: RegistryComponents, init: RegistryInit = {}): grpc.UntypedServiceImplementation {
  const timeoutMs = init.callbackTimeoutMs ?? 10_000
  const retryMs = init.retryMs ?? 500
  return {
    ping: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: call.request.text }),
    register: (call: grpc.ServerWritableStream<RegisterRequest, RegisterResponse>) => {
      const reply = (r: Partial<RegisterResponse>) => call.write({ status: RegisterStatus.REGISTER_STATUS_UNSPECIFIED, stewardKeyId: '', stewardPublicKey: Buffer.alloc(0), error: '', stewardTerm: 0, ...r })
      const fail = (error: string) => {
        reply({ status: RegisterStatus.REGISTER_STATUS_FAILED, error })
        call.end()
      }
      const r = openRegistration(c.secret, call.request.sealed)
      if (r === null) return fail('registration refused')
      if (c.term() === null) return fail('not the steward')
      // A node id is made from its key: a key registers for its own node only, so a holder of the
      // secret cannot put its key on the whitelist as another node's and then speak for it.
      const node = parseNodeId(r.nodeId).node
      if (node !== nodeIdOf(r.publicKey)) return fail('registration refused')
      reply({ status: RegisterStatus.REGISTER_STATUS_BUSY, stewardKeyId: c.steward.keyId, stewardPublicKey: Buffer.from(c.steward.publicKey) })
      const keyId = keyIdOf(REEVE_REV, node, r.publicKey)
      const address = netIdAddress(parseNetId(r.netId))
      const reeve = createSignedClient(address, { key: c.steward.keyId, secretKey: c.steward.secretKey, now: c.now }, { timeoutMs: Math.min(2_000, timeoutMs), describe: `reeve ${address}` })
      const deadline = Date.now() + timeoutMs
      const attempt = () => {
        const challenge = randomBytes(32)
        void reeve.unary(ReeveServiceService.pullKeys, { keyId, challenge }).then(
          (res) => answered(challenge, res),
          () => answered(challenge, null),
        )
      }
      const answered = (challenge: Uint8Array, res: PullKeysResponse | null) => {
        const term = c.term()
        if (res !== null && term !== null && keysProven(challenge, res.publicKeys, res.signature, r.publicKey)) {
          c.whitelist.add(keyId, r.publicKey)
          reply({ status: RegisterStatus.REGISTER_STATUS_DONE, stewardKeyId: c.steward.keyId, stewardPublicKey: Buffer.from(c.steward.publicKey), stewardTerm: term })
          call.end()
          reeve.close()
          return
        }
        if (res !== null || term === null || Date.now() + retryMs > deadline) {
          reeve.close()
          return fail(term === null ? 'not the steward' : res !== null ? 'the reeve did not prove the key' : 'the reeve did not answer')
        }
        setTimeout(attempt, retryMs)
      }
      attempt()
    },
  }
}

export interface RegisterNodeOptions {
  registry: string
  secret: Uint8Array
  nodeId: string
  /** The node's reeve, where the registry calls back. */
  netId: string
  publicKey: Uint8Array
  /** The steward's key, from BUSY: the reeve must accept its calls before the call-back comes. */
  onSteward(keyId: string, publicKey: Uint8Array): void
  timeoutMs?: number
}

/** Registers a node; resolves with the steward's key and term once DONE, rejects with the reason otherwise. */
export async function registerNode(o: RegisterNodeOptions): Promise<{ stewardKeyId: string; stewardPublicKey: Uint8Array; stewardTerm: number }> {
  const client = new RegistryServiceClient(o.registry, grpc.credentials.createInsecure())
  try {
    return await new Promise((resolve, reject) => {
      const call = client.register({ sealed: Buffer.from(sealRegistration(o.secret, { nodeId: o.nodeId, netId: o.netId, publicKey: o.publicKey })) }, { deadline: Date.now() + (o.timeoutMs ?? 15_000) })
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
        if (!done) reject(new UnavailableError(`registry ${o.registry}: ${err.details || err.message}`))
      })
      call.on('end', () => {
        if (!done) reject(new RegistrationError('registration ended without an answer'))
      })
    })
  } finally {
    client.close()
  }
}
