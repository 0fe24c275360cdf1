/**
 * The registry (seed 004; original-crux.md §4.4): how a node's key gets on the whitelist. The node
 * sends its identity sealed under the flock secret (factor 1); the registry answers BUSY with the
 * steward's key, which the node's reeve then accepts calls from; the registry calls the reeve back and
 * asks for its keys (over the flock's mutual TLS, from a server holding the key factor 1 named),
 * signed over a fresh challenge with that key (factor 2); if they verify, the key goes on the
 * whitelist and the answer is DONE. Anything else is FAILED, with as
 * little said as possible to a caller that may not hold the secret.
 *
 * What may be called back: only the registering node's own reeve, at the host its flock address
 * names (the steward leads the flock, so its member list says where each node is). Otherwise a holder
 * of the secret could make the steward call any address it likes. The sealed part names the steward
 * it is for and carries a time and a nonce (runtime/freshness.ts): a copy sent again, here or to
 * another steward, is refused before any call-back or whitelist write.
 *
 * Forget: an admin holding the secret asks the steward to drop a node's keys (a decommissioned or
 * compromised node); sealed and stamped like a registration.
 */
import type * as grpc from '@grpc/grpc-js'
import { randomBytes } from 'node:crypto'
import { netIdAddress, parseNetId, parseNodeId } from '../../machines/strew/ids.js'
import { RegisterStatus, type ForgetRequest, type ForgetResponse, type RegisterRequest, type RegisterResponse } from '../../protos/gen/crux/v1/registry.js'
import { ReeveServiceService, type PullKeysResponse } from '../../protos/gen/crux/v1/reeve.js'
import { Code, CruxError, NotFoundError } from '../../runtime/errors.js'
import { FreshnessGuard } from '../../runtime/freshness.js'
import { unary } from '../../runtime/grpc-server.js'
import { nodeIdOf } from '../../runtime/node-identity.js'
import { keyIdOf, keysProven, openForget, openRegistration, type Stamp } from './registration.js'
import type { PeerTls } from '../../runtime/grpc-tls.js'
import { createPeerClient } from '../../runtime/peer-client.js'
import { REEVE_REV } from './registry-client.js'

// The callers' side (actors/registry-client.ts), where strew and the tests have always found it.
export { REEVE_REV, registerNode, forgetNode, RegistrationError, type RegisterNodeOptions } from './registry-client.js'

/** Where whitelisted keys live (the steward's; persisted by its owner). */
export interface Whitelist {
  get(keyId: string): Uint8Array | undefined
  add(keyId: string, publicKey: Uint8Array): void
  /** Removes every key of node `node`; the KeyIDs removed. */
  forget(node: string): string[]
}

/** What the registry works with: the steward's whitelist and key, its term, the secret, the flock. */
export interface RegistryComponents {
  whitelist: Whitelist
  /** The steward's own key: its call-backs speak as `keyId`. */
  steward: { keyId: string; secretKey: Uint8Array; publicKey: Uint8Array }
  /** The channel's certificates: the call-back goes over the flock's mutual TLS, to the registering node's key only. */
  tls: PeerTls
  /** The steward's term now, or null when this node is not the steward (registration is refused). */
  term(): number | null
  secret: Uint8Array
  /** Wall clock, ms since the epoch: compared with the time a sealed request carries. */
  now(): number
  /** The flock address (host:port) of node `node` in the steward's flock, or undefined: not a member. */
  memberAddress(node: string): string | undefined
  /** A sealed request refused, and why (the caller is told less). */
  refused?(why: string, fields: Record<string, unknown>): void
}

/** The registry's timings and bounds. */
export interface RegistryInit {
  /** How long the reeve has to prove its key. Default 10 s (the original's bootstrap). */
  callbackTimeoutMs?: number
  retryMs?: number
  /** Accepted clock difference of a sealed request, ms. Default 300 000 (the original's reeve's). */
  skewMs?: number
  /** Nonces of sealed requests remembered at most. Default 100 000. */
  maxNonces?: number
}

const hostOf = (addr: string) => addr.slice(0, addr.lastIndexOf(':'))

/** The RegistryService implementation. */
export function createRegistryService(c: RegistryComponents, init: RegistryInit = {}): grpc.UntypedServiceImplementation {
  const timeoutMs = init.callbackTimeoutMs ?? 10_000
  const retryMs = init.retryMs ?? 500
  const self = nodeIdOf(c.steward.publicKey)
  const guard = new FreshnessGuard({ since: c.now(), ...(init.skewMs === undefined ? {} : { skewMs: init.skewMs }), ...(init.maxNonces === undefined ? {} : { maxNonces: init.maxNonces }) })
  /** Why a stamped request may not be taken here, or null (its nonce then taken). */
  const unfresh = (s: Stamp): string | null => {
    if (s.steward !== self) return `sealed for steward ${s.steward}, not this one`
    const stale = guard.take(s.time, s.nonce, c.now())
    return stale === null ? null : { stale: 'its time is outside the clock window', early: 'sealed before this steward started', replayed: 'replayed', busy: 'too many recent requests' }[stale]
  }
  return {
    ping: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: call.request.text, node: self, term: c.term() ?? 0 }),
    register: (call: grpc.ServerWritableStream<RegisterRequest, RegisterResponse>) => {
      const reply = (r: Partial<RegisterResponse>) => call.write({ status: RegisterStatus.REGISTER_STATUS_UNSPECIFIED, stewardKeyId: '', stewardPublicKey: Buffer.alloc(0), error: '', stewardTerm: 0, ...r })
      const fail = (error: string) => {
        reply({ status: RegisterStatus.REGISTER_STATUS_FAILED, error })
        call.end()
      }
      const r = openRegistration(c.secret, call.request.sealed)
      if (r === null) return fail('registration refused')
      if (c.term() === null) return fail('not the steward')
      const node = parseNodeId(r.nodeId).node
      const net = parseNetId(r.netId)
      const refuse = (why: string) => {
        c.refused?.(why, { node, netId: r.netId, peer: call.getPeer() })
        fail('registration refused')
      }
      // A node id is made from its key: a key registers for its own node only, so a holder of the
      // secret cannot put its key on the whitelist as another node's and then speak for it.
      if (node !== nodeIdOf(r.publicKey)) return refuse('the key is not the named node\'s')
      if (net.principal !== node) return refuse('the NetID names another node')
      const member = c.memberAddress(node)
      if (member === undefined) return refuse('the node is not a member of the steward\'s flock')
      if (net.host !== hostOf(member)) return refuse(`the call-back host ${net.host} is not the node's flock address ${member}`)
      const why = unfresh(r)
      if (why !== null) return refuse(why)
      reply({ status: RegisterStatus.REGISTER_STATUS_BUSY, stewardKeyId: c.steward.keyId, stewardPublicKey: Buffer.from(c.steward.publicKey) })
      const keyId = keyIdOf(REEVE_REV, node, r.publicKey)
      const address = netIdAddress(net)
      const reeve = createPeerClient(address, { tls: c.tls, key: c.steward.keyId, expect: { publicKey: r.publicKey }, timeoutMs: Math.min(2_000, timeoutMs), describe: `reeve ${address}` })
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
    forget: unary((call: grpc.ServerUnaryCall<ForgetRequest, ForgetResponse>): ForgetResponse => {
      const f = openForget(c.secret, call.request.sealed)
      if (f === null) throw new CruxError(Code.PERMISSION_DENIED, 'request refused')
      const term = c.term()
      if (term === null) throw new CruxError(Code.FAILED_PRECONDITION, 'not the steward')
      // The caller holds the secret (the request opened): it may hear why.
      const why = unfresh(f)
      if (why !== null) {
        c.refused?.(why, { forget: f.node, peer: call.getPeer() })
        throw new CruxError(Code.PERMISSION_DENIED, `request refused: ${why}`)
      }
      const removed = c.whitelist.forget(f.node)
      if (removed.length === 0) throw new NotFoundError(`no key of node ${f.node} is on the steward's whitelist`)
      return { removedKeyIds: removed, stewardTerm: term }
    }),
  }
}
