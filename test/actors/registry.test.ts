/**
 * Two-factor registration on real gRPC servers (127.77.43.x): a registry (on the leader, unsigned)
 * and a node's reeve (signed, accepting the steward's key once BUSY names it). Succeeds with the
 * secret and the key; fails without either.
 */
import * as grpc from '@grpc/grpc-js'
import test from 'ava'
import { createRegistryService, REEVE_REV, registerNode, RegistrationError } from '../../actors/registry.js'
import { RegistryServiceService } from '../../protos/gen/crux/v1/registry.js'
import { ReeveServiceService, type PullKeysRequest } from '../../protos/gen/crux/v1/reeve.js'
import { CallVerifier } from '../../runtime/call-signature.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import { createSecureServer } from '../../runtime/grpc-server.js'
import { nodeIdOf } from '../../runtime/node-identity.js'
import { keyIdOf, signKeys } from '../../runtime/registration.js'

const SECRET = new Uint8Array(32).fill(5)
const now = () => Date.now()
const keyPair = () => {
  const secretKey = randomEd25519SecretKey()
  return { secretKey, publicKey: ed25519PublicKey(secretKey) }
}

/** A registry with its whitelist, and a node whose reeve proves `proving` (its own key, unless told). */
async function world(t: import('ava').ExecutionContext, net: string, o: { proving?: Uint8Array; claim?: string } = {}) {
  const steward = { ...keyPair(), keyId: '' }
  steward.keyId = keyIdOf('Steward1_0', 'leader', steward.publicKey)
  const whitelist = new Map<string, Uint8Array>()
  const registry = createSecureServer({ host: `${net}.1`, port: 0, verifier: new CallVerifier({ lookup: (k) => whitelist.get(k) }), now })
  registry.addService(RegistryServiceService, createRegistryService({ whitelist: { get: (k) => whitelist.get(k), add: (k, v) => void whitelist.set(k, v) }, steward, term: () => 7, secret: SECRET, now }, { callbackTimeoutMs: 3_000, retryMs: 100 }), { signed: false })
  const registryAddr = await registry.start()

  const node = keyPair()
  const reeveTrusts = new Map<string, Uint8Array>()
  const reeve = createSecureServer({ host: `${net}.2`, port: 0, verifier: new CallVerifier({ lookup: (k) => reeveTrusts.get(k) }), now })
  const proving = o.proving ?? node.secretKey
  reeve.addService(ReeveServiceService, {
    pullKeys: (call: grpc.ServerUnaryCall<PullKeysRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const keys = [Buffer.from(node.publicKey)]
      cb(null, { publicKeys: keys, signature: Buffer.from(signKeys(call.request.challenge, keys, proving)) })
    },
  })
  const reeveAddr = await reeve.start()
  t.teardown(async () => {
    await Promise.all([registry.close(), reeve.close()])
  })
  const register = (secret = SECRET) =>
    registerNode({
      registry: registryAddr,
      secret,
      nodeId: `/blue/h1/${o.claim ?? nodeIdOf(node.publicKey)}/Reeve/Reeve1`,
      netId: `/Reeve1_0/${nodeIdOf(node.publicKey)}/net/${reeveAddr}`,
      publicKey: node.publicKey,
      onSteward: (k, v) => void reeveTrusts.set(k, v),
      timeoutMs: 10_000,
    })
  return { whitelist, register, node, nodeKeyId: keyIdOf(REEVE_REV, nodeIdOf(node.publicKey), node.publicKey), reeveTrusts, steward }
}

test('with the secret and the key: DONE, and the node key is on the whitelist under its KeyID', async (t) => {
  const w = await world(t, '127.77.43')
  const r = await w.register()
  t.is(r.stewardKeyId, w.steward.keyId)
  t.is(r.stewardTerm, 7)
  t.deepEqual(w.whitelist.get(w.nodeKeyId), w.node.publicKey)
  t.deepEqual(w.reeveTrusts.get(w.steward.keyId), w.steward.publicKey, 'the reeve learned the steward key from BUSY')
})

test('without the secret: FAILED, nothing whitelisted, the steward not even named', async (t) => {
  const w = await world(t, '127.77.44')
  await t.throwsAsync(w.register(new Uint8Array(32).fill(6)), { instanceOf: RegistrationError, message: /registration refused/ })
  t.is(w.whitelist.size, 0)
  t.is(w.reeveTrusts.size, 0)
})

test('without the key (the reeve cannot sign with the key factor 1 named): FAILED, nothing whitelisted', async (t) => {
  const w = await world(t, '127.77.45', { proving: randomEd25519SecretKey() })
  await t.throwsAsync(w.register(), { instanceOf: RegistrationError, message: /did not prove the key/ })
  t.is(w.whitelist.size, 0)
})

test('a key registering for another node (the secret, its own key, a name not its own): FAILED, nothing whitelisted', async (t) => {
  const w = await world(t, '127.77.87', { claim: 'n0123456789abcdef' })
  await t.throwsAsync(w.register(), { instanceOf: RegistrationError, message: /registration refused/ })
  t.is(w.whitelist.size, 0)
})
