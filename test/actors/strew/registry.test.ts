/**
 * Two-factor registration on real gRPC servers (127.77.43.x …) over the flock's mutual TLS: a
 * registry (on the leader, open to any certified key) and a node's reeve (accepting the steward's key
 * once BUSY names it). Succeeds with the
 * secret and the key; fails without either; a sealed registration is good once, at one steward, and
 * calls back only the node's own flock host. Forget drops a node's keys.
 */
import * as grpc from '@grpc/grpc-js'
import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRegistryService, forgetNode, REEVE_REV, registerNode, RegistrationError } from '../../../actors/strew/registry.js'
import { RegisterStatus, RegistryServiceClient, RegistryServiceService, type RegisterResponse } from '../../../protos/gen/crux/v1/registry.js'
import { ReeveServiceService, type PullKeysRequest } from '../../../protos/gen/crux/v1/reeve.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../../runtime/ed25519.js'
import { Code } from '../../../runtime/errors.js'
import { createSecureServer } from '../../../runtime/grpc-server.js'
import { nodeIdOf } from '../../../runtime/node-identity.js'
import { keyIdOf, sealForget, sealRegistration, signKeys } from '../../../actors/strew/registration.js'
import { issuePeerTls } from '../../../runtime/grpc-tls.js'
import { createPeerClient, peerChannel } from '../../../runtime/peer-client.js'
import { FileStore } from '../../../runtime/store.js'
import { FileWhitelist } from '../../../actors/strew/whitelist-store.js'

const SECRET = new Uint8Array(32).fill(5)
const now = () => Date.now()
const keyPair = () => {
  const secretKey = randomEd25519SecretKey()
  return { secretKey, publicKey: ed25519PublicKey(secretKey) }
}
type Ctx = import('ava').ExecutionContext

/**
 * A registry with its whitelist (a file, its writes counted), and a node whose reeve proves `proving`
 * (its own key, unless told). `member`: where the steward's flock has the node (default: the reeve's
 * host), null for not at all.
 */
async function world(t: Ctx, net: string, o: { proving?: Uint8Array; claim?: string; member?: string | null; term?: () => number | null } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'crux-registry-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const files = new FileStore(dir)
  const writes = { n: 0 }
  const whitelist = new FileWhitelist({ dir, get: (a, k) => files.get(a, k), put: (a, k, v) => void (writes.n++, files.put(a, k, v)) })
  const node = keyPair()
  const nodeTls = issuePeerTls(SECRET, node)
  const refusals: string[] = []
  const closing: Array<() => Promise<void>> = []
  t.teardown(async () => void (await Promise.all(closing.map((fn) => fn()))))
  /** A registry (a steward with `keys`) on `${net}.<host>`, beside a signed ReeveService ping for the node's key. */
  const registry = async (host: number, keys = keyPair()) => {
    const steward = { ...keys, keyId: keyIdOf('Steward1_0', nodeIdOf(keys.publicKey), keys.publicKey) }
    const tls = issuePeerTls(SECRET, keys)
    const server = createSecureServer({ host: `${net}.${host}`, port: 0, tls, lookup: (k) => whitelist.get(k) })
    const memberAddress = (n: string) => (o.member === null || n !== nodeIdOf(node.publicKey) ? undefined : (o.member ?? `${net}.2:23123`))
    server.addService(RegistryServiceService, createRegistryService({ whitelist, steward, tls, term: o.term ?? (() => 7), secret: SECRET, now, memberAddress, refused: (why) => void refusals.push(why) }, { callbackTimeoutMs: 3_000, retryMs: 100 }), { open: true })
    server.addService(ReeveServiceService, { ping: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: call.request.text, nodeId: '', steward: '', term: 0 }) })
    const address = await server.start()
    closing.push(() => server.close())
    return { address, steward, keys }
  }
  const first = await registry(1)

  const reeveTrusts = new Map<string, Uint8Array>()
  const callbacks = { n: 0 }
  const reeve = createSecureServer({ host: `${net}.2`, port: 0, tls: nodeTls, lookup: (k) => reeveTrusts.get(k) })
  const proving = o.proving ?? node.secretKey
  reeve.addService(ReeveServiceService, {
    pullKeys: (call: grpc.ServerUnaryCall<PullKeysRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      callbacks.n++
      const keys = [Buffer.from(node.publicKey)]
      cb(null, { publicKeys: keys, signature: Buffer.from(signKeys(call.request.challenge, keys, proving)) })
    },
  })
  const reeveAddr = await reeve.start()
  closing.push(() => reeve.close())
  const reg = { nodeId: `/blue/h1/${o.claim ?? nodeIdOf(node.publicKey)}/Reeve/Reeve1`, netId: `/Reeve1_0/${nodeIdOf(node.publicKey)}/net/${reeveAddr}`, publicKey: node.publicKey }
  const register = (secret = SECRET, at = first) =>
    registerNode({ registry: at.address, steward: nodeIdOf(at.keys.publicKey), secret, tls: nodeTls, ...reg, onSteward: (k, v) => void reeveTrusts.set(k, v), timeoutMs: 10_000 })
  /** Sends sealed bytes as they are (a copy someone kept); the last answer. */
  const send = (sealed: Uint8Array, at = first) =>
    new Promise<RegisterResponse>((resolve, reject) => {
      const channel = peerChannel(nodeTls)
      const client = new RegistryServiceClient(at.address, channel.credentials, channel.options)
      const call = client.register({ sealed: Buffer.from(sealed) })
      let last: RegisterResponse | undefined
      call.on('data', (r: RegisterResponse) => {
        if (r.status === RegisterStatus.REGISTER_STATUS_BUSY) reeveTrusts.set(r.stewardKeyId, new Uint8Array(r.stewardPublicKey))
        last = r
      })
      call.on('error', reject)
      call.on('end', () => (client.close(), last === undefined ? reject(new Error('no answer')) : resolve(last)))
    })
  const seal = (at = first, time = Date.now()) => sealRegistration(SECRET, reg, { steward: nodeIdOf(at.keys.publicKey), now: time })
  const nodeKeyId = keyIdOf(REEVE_REV, nodeIdOf(node.publicKey), node.publicKey)
  /** A call as the node's key to the registry's server (checked against the whitelist). */
  const signedPing = async (at = first) => {
    const client = createPeerClient(at.address, { tls: nodeTls, key: nodeKeyId, timeoutMs: 3_000, describe: 'registry' })
    try {
      return await client.unary(ReeveServiceService.ping, { text: 'hi' }).then(() => 'ok', (err: { code: number }) => err.code)
    } finally {
      client.close()
    }
  }
  return { whitelist, writes, callbacks, refusals, register, send, seal, registry, first, node, nodeTls, nodeKeyId, reeveTrusts, signedPing }
}

test('with the secret and the key: DONE, and the node key is on the whitelist under its KeyID', async (t) => {
  const w = await world(t, '127.77.43')
  const r = await w.register()
  t.is(r.stewardKeyId, w.first.steward.keyId)
  t.is(r.stewardTerm, 7)
  t.deepEqual(w.whitelist.get(w.nodeKeyId), w.node.publicKey)
  t.deepEqual(w.reeveTrusts.get(w.first.steward.keyId), w.first.steward.publicKey, 'the reeve learned the steward key from BUSY')
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

test('a replayed sealed registration is refused: no call-back, no whitelist write', async (t) => {
  const w = await world(t, '127.77.150')
  const sealed = w.seal()
  t.is((await w.send(sealed)).status, RegisterStatus.REGISTER_STATUS_DONE)
  t.deepEqual([w.callbacks.n, w.writes.n], [1, 1])
  const again = await Promise.all(Array.from({ length: 20 }, () => w.send(sealed)))
  t.true(again.every((r) => r.status === RegisterStatus.REGISTER_STATUS_FAILED && r.error === 'registration refused'))
  t.deepEqual([w.callbacks.n, w.writes.n], [1, 1], 'no call-back and no fsync for any copy')
  t.true(w.refusals.length === 20 && w.refusals.every((why) => why === 'replayed'))
  t.is((await w.send(w.seal(w.first, Date.now() - 301_000))).status, RegisterStatus.REGISTER_STATUS_FAILED, 'sealed outside the clock window')
  t.is(w.refusals.at(-1), 'its time is outside the clock window')
})

test('a sealed registration replayed at a new steward, or at the same steward restarted, is refused', async (t) => {
  const w = await world(t, '127.77.151')
  const sealed = w.seal()
  t.is((await w.send(sealed)).status, RegisterStatus.REGISTER_STATUS_DONE)
  w.whitelist.forget(nodeIdOf(w.node.publicKey))
  const fresh = await w.registry(3)
  t.is((await w.send(sealed, fresh)).status, RegisterStatus.REGISTER_STATUS_FAILED)
  t.regex(w.refusals.at(-1)!, /^sealed for steward n[0-9a-f]{16}, not this one$/)
  const restarted = await w.registry(4, w.first.keys)
  t.is((await w.send(sealed, restarted)).status, RegisterStatus.REGISTER_STATUS_FAILED)
  t.is(w.refusals.at(-1), 'sealed before this steward started')
  t.deepEqual([w.callbacks.n, w.whitelist.size], [1, 0])
  t.is((await w.send(w.seal(restarted), restarted)).status, RegisterStatus.REGISTER_STATUS_DONE, 'a registration sealed afresh is taken')
})

test('the steward calls back only the node at its own flock address; not a member, or another host: refused, no call-back', async (t) => {
  const elsewhere = await world(t, '127.77.152', { member: '127.77.152.9:23123' })
  await t.throwsAsync(elsewhere.register(), { instanceOf: RegistrationError, message: /registration refused/ })
  t.regex(elsewhere.refusals[0]!, /call-back host 127\.77\.152\.2 is not the node's flock address 127\.77\.152\.9:23123/)
  const stranger = await world(t, '127.77.153', { member: null })
  await t.throwsAsync(stranger.register(), { instanceOf: RegistrationError, message: /registration refused/ })
  t.deepEqual(stranger.refusals, ["the node is not a member of the steward's flock"])
  t.deepEqual([elsewhere.callbacks.n, stranger.callbacks.n, elsewhere.whitelist.size, stranger.whitelist.size], [0, 0, 0, 0])
})

test('registering again with the key already whitelisted writes nothing', async (t) => {
  const w = await world(t, '127.77.154')
  await w.register()
  await w.register()
  t.deepEqual([w.callbacks.n, w.writes.n], [2, 1])
})

test('forget removes the node key: its calls are refused until it registers again', async (t) => {
  const w = await world(t, '127.77.155')
  await w.register()
  t.is(await w.signedPing(), 'ok')
  const r = await forgetNode({ target: w.first.address, secret: SECRET, node: nodeIdOf(w.node.publicKey) })
  t.deepEqual(r, { steward: nodeIdOf(w.first.keys.publicKey), term: 7, removed: [w.nodeKeyId] })
  t.is(w.whitelist.get(w.nodeKeyId), undefined)
  t.is(await w.signedPing(), Code.PERMISSION_DENIED)
  await w.register()
  t.is(await w.signedPing(), 'ok')
})

test('forget: an unknown node, the wrong secret, a node that is not the steward: clear errors, nothing removed', async (t) => {
  const w = await world(t, '127.77.156')
  await w.register()
  await t.throwsAsync(forgetNode({ target: w.first.address, secret: SECRET, node: 'n0000000000000000' }), { code: Code.NOT_FOUND, message: /no key of node n0000000000000000 is on the steward's whitelist/ })
  // Another flock's secret makes another CA: the connection itself fails, in one line saying so.
  await t.throwsAsync(forgetNode({ target: w.first.address, secret: new Uint8Array(32).fill(6), node: nodeIdOf(w.node.publicKey) }), { code: Code.UNAVAILABLE, message: `${w.first.address}: TLS handshake failed: not this flock's certificate authority` })
  const retired = await world(t, '127.77.157', { term: () => null })
  await t.throwsAsync(forgetNode({ target: retired.first.address, secret: SECRET, node: nodeIdOf(w.node.publicKey) }), { code: Code.FAILED_PRECONDITION, message: /is not the flock's steward/ })
  t.is(w.whitelist.size, 1)
})

test('a replayed forget is refused, and removes nothing the node registered since', async (t) => {
  const w = await world(t, '127.77.159')
  await w.register()
  const channel = peerChannel(w.nodeTls)
  const client = new RegistryServiceClient(w.first.address, channel.credentials, channel.options)
  t.teardown(() => client.close())
  const sealed = Buffer.from(sealForget(SECRET, nodeIdOf(w.node.publicKey), { steward: nodeIdOf(w.first.keys.publicKey), now: Date.now() }))
  const forget = () => new Promise<number>((resolve) => client.forget({ sealed }, (err) => resolve(err === null ? 0 : err.code)))
  t.is(await forget(), 0)
  await w.register()
  t.is(await forget(), grpc.status.PERMISSION_DENIED)
  t.is(w.refusals.at(-1), 'replayed')
  t.deepEqual(w.whitelist.get(w.nodeKeyId), w.node.publicKey)
})
