/**
 * Two-factor registration on the real path (127.77.230.x … 127.77.237.x), over the flock's mutual TLS:
 * a steward's registry machine behind strew's route table and the gRPC road (test/fixtures/strew-steward.ts),
 * made the steward as the follower makes it, and a node's reeve (a gRPC server accepting the steward's
 * key once BUSY names it, answering PullKeys with a proof). Succeeds with the secret and the key; fails
 * without either; a sealed registration is good once, at one steward, and calls back only the node's own
 * flock host; a steward that retired takes none. Forget drops a node's keys.
 *
 * A request the edge cannot take (not sealed under this flock's secret, replayed, for another steward,
 * sealed before it started) ends with the status PERMISSION_DENIED `registration refused`; what the
 * registry machine refuses ends with FAILED and its words.
 */
import * as grpc from '@grpc/grpc-js'
import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { forgetNode, REEVE_REV, registerNode, RegistrationError } from '../../../actors/strew/registry-client.js'
import { keyIdOf, sealForget, sealRegistration, signKeys } from '../../../actors/strew/registration.js'
import { RegisterStatus, RegistryServiceClient, type RegisterResponse } from '../../../protos/gen/crux/v1/registry.js'
import { ReeveServiceService, type PullKeysRequest } from '../../../protos/gen/crux/v1/reeve.js'
import { RealClock } from '../../../runtime/clock.js'
import { randomEd25519SecretKey } from '../../../runtime/ed25519.js'
import { Code } from '../../../runtime/errors.js'
import { createSecureServer } from '../../../runtime/grpc-server.js'
import { issuePeerTls } from '../../../runtime/grpc-tls.js'
import { nodeIdOf } from '../../../runtime/node-identity.js'
import { createPeerClient, peerChannel } from '../../../runtime/peer-client.js'
import { keyPair, startStrewSteward, type KeyPair, type StrewSteward } from '../../fixtures/strew-steward.js'

const SECRET = new Uint8Array(32).fill(5)
/** The registering side's time: the steward's clock (a RealClock) on the same host. */
const now = () => new RealClock().now()
/** What the edge answers a sealed request it cannot take. */
const REFUSED = 'PERMISSION_DENIED registration refused'
type Ctx = import('ava').ExecutionContext

/** How a register call ended: `DONE`, `FAILED <error>`, or the status name and details it failed with. */
type Outcome = string

/**
 * A steward (at `${net}.${base + 1}`, leading term 7 unless `term` is null) and a node whose reeve (at
 * `${net}.${base + 2}`) proves `proving` (its own key, unless told). `member`: the host the steward's
 * flock has the node at (default: the reeve's host), null for not at all.
 */
async function world(t: Ctx, net: string, base: number, o: { proving?: Uint8Array; claim?: string; member?: string | null; term?: number | null; hold?: Promise<void> } = {}) {
  const at = (k: number) => `${net}.${base + k}`
  const node = keyPair()
  const nodeTls = issuePeerTls(SECRET, node)
  const closing: Array<() => Promise<void>> = []
  t.teardown(async () => void (await Promise.all(closing.map((fn) => fn()))))
  const members = o.member === null ? [] : [{ node: nodeIdOf(node.publicKey), host: o.member ?? at(2) }]
  /** A steward on `at(k)`: new keys and data dir unless given (the same ones: the same steward restarted). */
  const steward = async (k: number, same?: { keys: KeyPair; dir: string }, term: number | null = o.term === undefined ? 7 : o.term) => {
    const dir = same?.dir ?? mkdtempSync(join(tmpdir(), 'crux-registry-'))
    if (same === undefined) t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const s = await startStrewSteward({ host: at(k), secret: SECRET, dir, ...(same === undefined ? {} : { keys: same.keys }), callbackMs: 3_000, retryMs: 100 })
    closing.push(() => s.close())
    if (term !== null) s.lead(term, members)
    return s
  }
  const first = await steward(1)

  const reeveTrusts = new Map<string, Uint8Array>()
  const callbacks = { n: 0 }
  const reeve = createSecureServer({ host: at(2), port: 0, tls: nodeTls, lookup: (k) => reeveTrusts.get(k) })
  const proving = o.proving ?? node.secretKey
  reeve.addService(ReeveServiceService, {
    pullKeys: (call: grpc.ServerUnaryCall<PullKeysRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      callbacks.n++
      const keys = [Buffer.from(node.publicKey)]
      const answer = () => cb(null, { publicKeys: keys, signature: Buffer.from(signKeys(call.request.challenge, keys, proving)) })
      if (o.hold === undefined) answer()
      else void o.hold.then(answer)
    },
  })
  const reeveAddr = await reeve.start()
  closing.push(() => reeve.close())
  const reg = { nodeId: `/blue/h1/${o.claim ?? nodeIdOf(node.publicKey)}/Reeve/Reeve1`, netId: `/Reeve1_0/${nodeIdOf(node.publicKey)}/net/${reeveAddr}`, publicKey: node.publicKey }
  const register = (secret = SECRET, s: StrewSteward = first) =>
    registerNode({ registry: s.address, steward: s.node, secret, tls: nodeTls, ...reg, onSteward: (k, v) => void reeveTrusts.set(k, v), timeoutMs: 10_000, now })
  /** Sends sealed bytes as they are (a copy someone kept); how the call ended. */
  const send = (sealed: Uint8Array, s: StrewSteward = first) =>
    new Promise<Outcome>((resolve) => {
      const channel = peerChannel(nodeTls)
      const client = new RegistryServiceClient(s.address, channel.credentials, channel.options)
      const call = client.register({ sealed: Buffer.from(sealed), seenTerm: 0 })
      let last: RegisterResponse | undefined
      call.on('data', (r: RegisterResponse) => {
        if (r.status === RegisterStatus.REGISTER_STATUS_BUSY) reeveTrusts.set(r.stewardKeyId, new Uint8Array(r.stewardPublicKey))
        last = r
      })
      call.on('error', (err: grpc.ServiceError) => (client.close(), resolve(`${grpc.status[err.code]} ${err.details}`)))
      call.on('end', () => {
        client.close()
        if (last === undefined) resolve('no answer')
        else if (last.status === RegisterStatus.REGISTER_STATUS_DONE) resolve('DONE')
        else resolve(`${RegisterStatus[last.status].replace('REGISTER_STATUS_', '')} ${last.error}`)
      })
    })
  const seal = (s: StrewSteward = first, time = now()) => sealRegistration(SECRET, reg, { steward: s.node, now: time })
  const nodeKeyId = keyIdOf(REEVE_REV, nodeIdOf(node.publicKey), node.publicKey)
  /** A call as the node's key to the steward's server (checked against its whitelist). */
  const signedPing = async (s: StrewSteward = first) => {
    const client = createPeerClient(s.address, { tls: nodeTls, key: nodeKeyId, timeoutMs: 3_000, describe: 'steward' })
    try {
      return await client.unary(ReeveServiceService.ping, { text: 'hi' }).then(() => 'ok', (err: { code: number }) => err.code)
    } finally {
      client.close()
    }
  }
  return { callbacks, register, send, seal, steward, first, node, nodeTls, nodeKeyId, reeveTrusts, signedPing }
}

test('with the secret and the key: DONE, and the node key is on the whitelist under its KeyID', async (t) => {
  const w = await world(t, '127.77.230', 0)
  const r = await w.register()
  t.is(r.stewardKeyId, w.first.keyId)
  t.is(r.stewardTerm, 7)
  t.deepEqual(w.first.whitelist.get(w.nodeKeyId), w.node.publicKey)
  t.deepEqual(w.reeveTrusts.get(w.first.keyId), w.first.keys.publicKey, 'the reeve learned the steward key from BUSY')
  t.is(w.callbacks.n, 1)
})

test('without the secret: refused by the edge (PERMISSION_DENIED), nothing whitelisted, the steward not even named', async (t) => {
  const w = await world(t, '127.77.230', 20)
  const err = await t.throwsAsync(w.register(new Uint8Array(32).fill(6)), { instanceOf: RegistrationError, message: 'registration failed: registration refused' })
  t.is(err?.code, Code.PERMISSION_DENIED)
  t.is(await w.send(sealRegistration(new Uint8Array(32).fill(6), { nodeId: 'x', netId: 'y', publicKey: w.node.publicKey }, { steward: w.first.node, now: now() })), REFUSED)
  t.deepEqual(w.first.refusals, ["not sealed under this flock's secret", "not sealed under this flock's secret"])
  t.deepEqual([w.first.whitelist.size, w.first.writes.n, w.reeveTrusts.size, w.callbacks.n], [0, 0, 0, 0])
})

test('without the key (the reeve cannot sign with the key factor 1 named): FAILED, nothing whitelisted', async (t) => {
  const w = await world(t, '127.77.230', 40, { proving: randomEd25519SecretKey() })
  await t.throwsAsync(w.register(), { instanceOf: RegistrationError, message: 'registration failed: the reeve did not prove the key' })
  t.is(w.callbacks.n, 1)
  t.deepEqual([w.first.whitelist.size, w.first.writes.n], [0, 0])
})

test('a key registering for another node (the secret, its own key, a name not its own): FAILED, no call-back, nothing whitelisted', async (t) => {
  const w = await world(t, '127.77.230', 60, { claim: 'n0123456789abcdef' })
  await t.throwsAsync(w.register(), { instanceOf: RegistrationError, message: 'registration failed: registration refused' })
  t.deepEqual(w.first.refusals, ["the key is not the named node's"])
  t.deepEqual([w.callbacks.n, w.first.whitelist.size, w.reeveTrusts.size], [0, 0, 0])
})

test('a replayed sealed registration is refused: no call-back, no whitelist write', async (t) => {
  const w = await world(t, '127.77.231', 0)
  const sealed = w.seal()
  t.is(await w.send(sealed), 'DONE')
  t.deepEqual([w.callbacks.n, w.first.writes.n], [1, 1])
  const again = await Promise.all(Array.from({ length: 20 }, () => w.send(sealed)))
  t.deepEqual(again, Array.from({ length: 20 }, () => REFUSED))
  t.deepEqual([w.callbacks.n, w.first.writes.n], [1, 1], 'no call-back and no fsync for any copy')
  t.deepEqual(w.first.refusals, Array.from({ length: 20 }, () => 'replayed'))
  t.is(await w.send(w.seal(w.first, now() - 301_000)), REFUSED, 'sealed outside the clock window')
  t.is(w.first.refusals.at(-1), 'its time is outside the clock window')
})

test('a sealed registration replayed at a new steward, or at the same steward restarted, is refused', async (t) => {
  const w = await world(t, '127.77.231', 20)
  const sealed = w.seal()
  t.is(await w.send(sealed), 'DONE')
  await forgetNode({ target: w.first.address, secret: SECRET, node: nodeIdOf(w.node.publicKey) })
  const fresh = await w.steward(3)
  t.is(await w.send(sealed, fresh), REFUSED)
  t.regex(fresh.refusals.at(-1)!, /^sealed for steward n[0-9a-f]{16}, not this one$/)
  await w.first.close()
  const restarted = await w.steward(4, { keys: w.first.keys, dir: w.first.dir })
  t.is(restarted.node, w.first.node)
  t.is(await w.send(sealed, restarted), REFUSED)
  t.is(restarted.refusals.at(-1), 'sealed before this steward started')
  t.deepEqual([w.callbacks.n, fresh.whitelist.size, restarted.whitelist.size, fresh.writes.n, restarted.writes.n], [1, 0, 0, 0, 0])
  t.is(await w.send(w.seal(restarted), restarted), 'DONE', 'a registration sealed afresh is taken')
  t.deepEqual(restarted.whitelist.get(w.nodeKeyId), w.node.publicKey)
})

test('the steward calls back only the node at its own flock host; not a member, or another host: FAILED, no call-back', async (t) => {
  const elsewhere = await world(t, '127.77.232', 0, { member: '127.77.232.9' })
  await t.throwsAsync(elsewhere.register(), { instanceOf: RegistrationError, message: 'registration failed: registration refused' })
  t.deepEqual(elsewhere.first.refusals, ["the call-back host 127.77.232.2 is not the node's flock host 127.77.232.9"])
  const stranger = await world(t, '127.77.232', 20, { member: null })
  await t.throwsAsync(stranger.register(), { instanceOf: RegistrationError, message: 'registration failed: registration refused' })
  t.deepEqual(stranger.first.refusals, ["the node is not a member of the steward's flock"])
  t.deepEqual([elsewhere.callbacks.n, stranger.callbacks.n, elsewhere.first.whitelist.size, stranger.first.whitelist.size], [0, 0, 0, 0])
})

test('registering again with the key already whitelisted writes nothing', async (t) => {
  const w = await world(t, '127.77.233', 0)
  await w.register()
  await w.register()
  t.deepEqual([w.callbacks.n, w.first.writes.n], [2, 1])
})

test('forget removes the node key: its calls are refused until it registers again', async (t) => {
  const w = await world(t, '127.77.234', 0)
  await w.register()
  t.is(await w.signedPing(), 'ok')
  const r = await forgetNode({ target: w.first.address, secret: SECRET, node: nodeIdOf(w.node.publicKey) })
  t.deepEqual(r, { steward: w.first.node, term: 7, removed: [w.nodeKeyId] })
  t.is(w.first.whitelist.get(w.nodeKeyId), undefined)
  t.is(w.first.writes.n, 2, 'the removal is written')
  t.is(await w.signedPing(), Code.PERMISSION_DENIED)
  await w.register()
  t.is(await w.signedPing(), 'ok')
})

test('forget: an unknown node, the wrong secret, a node that is not the steward: clear errors, nothing removed', async (t) => {
  const w = await world(t, '127.77.235', 0)
  await w.register()
  await t.throwsAsync(forgetNode({ target: w.first.address, secret: SECRET, node: 'n0000000000000000' }), { code: Code.NOT_FOUND, message: `${w.first.address}: no key of node n0000000000000000 is on the steward's whitelist` })
  // Another flock's secret makes another CA: the connection itself fails, in one line saying so.
  await t.throwsAsync(forgetNode({ target: w.first.address, secret: new Uint8Array(32).fill(6), node: nodeIdOf(w.node.publicKey) }), { code: Code.UNAVAILABLE, message: `${w.first.address}: TLS handshake failed: not this flock's certificate authority` })
  const idle = await world(t, '127.77.235', 20, { term: null })
  await t.throwsAsync(forgetNode({ target: idle.first.address, secret: SECRET, node: nodeIdOf(w.node.publicKey) }), { code: Code.FAILED_PRECONDITION, message: /is not the flock's steward/ })
  // Sent anyway, sealed for it: the registry machine, idle, refuses it itself.
  const channel = peerChannel(idle.nodeTls)
  const client = new RegistryServiceClient(idle.first.address, channel.credentials, channel.options)
  t.teardown(() => client.close())
  const sealed = Buffer.from(sealForget(SECRET, nodeIdOf(w.node.publicKey), { steward: idle.first.node, now: now() }))
  const err = await new Promise<grpc.ServiceError | null>((resolve) => client.forget({ sealed }, (e) => resolve(e)))
  t.deepEqual([err?.code, err?.details], [grpc.status.FAILED_PRECONDITION, 'not the steward'])
  t.deepEqual([w.first.whitelist.size, w.first.writes.n], [1, 1])
})

test('a replayed forget is refused, and removes nothing the node registered since', async (t) => {
  const w = await world(t, '127.77.236', 0)
  await w.register()
  const channel = peerChannel(w.nodeTls)
  const client = new RegistryServiceClient(w.first.address, channel.credentials, channel.options)
  t.teardown(() => client.close())
  const sealed = Buffer.from(sealForget(SECRET, nodeIdOf(w.node.publicKey), { steward: w.first.node, now: now() }))
  const forget = () => new Promise<number>((resolve) => client.forget({ sealed }, (err) => resolve(err === null ? 0 : err.code)))
  t.is(await forget(), 0)
  await w.register()
  t.is(await forget(), grpc.status.PERMISSION_DENIED)
  t.is(w.first.refusals.at(-1), 'replayed')
  t.deepEqual(w.first.whitelist.get(w.nodeKeyId), w.node.publicKey)
})

test('a steward that retires fails the registration under way and takes none after: not the steward, nothing whitelisted', async (t) => {
  let release = () => {}
  const hold = new Promise<void>((resolve) => (release = resolve))
  const w = await world(t, '127.77.237', 0, { hold })
  const underWay = w.register()
  const deadline = Date.now() + 10_000
  while (w.callbacks.n === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  t.is(w.callbacks.n, 1, 'the call-back reached the reeve')
  w.first.retire()
  t.is(w.first.state(), 'idle')
  await t.throwsAsync(underWay, { instanceOf: RegistrationError, message: 'registration failed: not the steward' })
  release()
  while (w.first.road.counters.answered === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  t.is(w.first.road.counters.answered, 1, 'the late proof reached the registry, which no longer waits for it')
  t.is(await w.send(w.seal()), 'FAILED not the steward')
  await t.throwsAsync(w.register(), { instanceOf: RegistrationError, message: 'registration failed: not the steward' })
  t.is(w.callbacks.n, 1, 'no call-back after the retirement')
  t.deepEqual([w.first.whitelist.size, w.first.writes.n], [0, 0])
  t.is(await w.signedPing(), Code.PERMISSION_DENIED)
})
