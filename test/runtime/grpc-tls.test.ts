/**
 * The channel's certificates and who the channel lets through, on real servers (127.77.180.x): the
 * DER runtime/x509.ts makes is what OpenSSL reads and verifies; the flock CA comes from the secret
 * alone; a client certified by another secret's CA, or a server holding another key than the one a
 * client pins, fails in one line saying so; a key the CA certified but the whitelist does not know
 * gets `call refused`.
 */
import * as grpc from '@grpc/grpc-js'
import test from 'ava'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ReeveServiceService, type ReeveServicePingRequest } from '../../protos/gen/crux/v1/reeve.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import { Code, type CruxError } from '../../runtime/errors.js'
import { createSecureServer } from '../../runtime/grpc-server.js'
import { certifyNode, flockCaSecretKey, issuePeerTls, loadPeerTls } from '../../runtime/grpc-tls.js'
import { loadOrCreateIdentity, nodeIdOf } from '../../runtime/node-identity.js'
import { createPeerClient } from '../../runtime/peer-client.js'
import { fromPem, parseX509, signedBy } from '../../runtime/x509.js'

const SECRET = new Uint8Array(32).fill(11)
const OTHER = new Uint8Array(32).fill(12)
const pair = () => ((sk) => ({ secretKey: sk, publicKey: ed25519PublicKey(sk) }))(randomEd25519SecretKey())
const KEY = '/Reeve1_0/n1/keys/x'

test('a node certificate is X.509 OpenSSL verifies against the flock CA; CN is the node id; the same inputs give the same bytes', (t) => {
  const id = pair()
  const a = issuePeerTls(SECRET, id)
  const ca = new X509Certificate(a.ca)
  const leaf = new X509Certificate(a.cert)
  t.true(leaf.verify(ca.publicKey))
  t.true(ca.verify(ca.publicKey))
  t.false(leaf.verify(new X509Certificate(issuePeerTls(OTHER, id).ca).publicKey))
  t.is(leaf.subject, `CN=${nodeIdOf(id.publicKey)}`)
  t.true(ca.ca)
  t.false(leaf.ca)
  t.true(Buffer.from(issuePeerTls(SECRET, id).cert).equals(a.cert))
  const parsed = parseX509(fromPem(a.cert.toString())[0]!)!
  t.deepEqual(parsed.publicKey, id.publicKey)
  t.true(signedBy(parsed, a.caPublicKey))
  t.false(signedBy(parsed, id.publicKey))
})

test('the CA key is the secret\'s alone, and not the secret itself', (t) => {
  t.deepEqual(flockCaSecretKey(SECRET), flockCaSecretKey(new Uint8Array(SECRET)))
  t.notDeepEqual(flockCaSecretKey(SECRET), flockCaSecretKey(OTHER))
  t.notDeepEqual(flockCaSecretKey(SECRET), SECRET)
})

test('the parser refuses anything that is not one whole Ed25519 certificate, and never throws', (t) => {
  const der = fromPem(issuePeerTls(SECRET, pair()).cert.toString())[0]!
  t.is(parseX509(der.subarray(0, der.length - 1)), null)
  t.is(parseX509(Buffer.concat([der, Buffer.from([0])])), null)
  t.is(parseX509(new Uint8Array()), null)
  for (let i = 0; i < der.length; i += 7) {
    const bent = Buffer.from(der)
    bent[i] = bent[i]! ^ 0xff
    t.notThrows(() => parseX509(bent))
  }
})

test('a data dir holds the certificates and a PKCS#8 key of mode 0600; the CLI reads them back with node.key', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-grpc-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const id = loadOrCreateIdentity(dir)
  const made = certifyNode(dir, SECRET, id)
  t.is(statSync(join(dir, 'grpc.key')).mode & 0o777, 0o600)
  const read = loadPeerTls(dir)
  t.true(read.cert.equals(made.cert) && read.ca.equals(made.ca) && read.key.equals(made.key))
  t.deepEqual(read.publicKey, id.publicKey)
})

async function server(t: import('ava').ExecutionContext, host: string, lookup: (k: string) => Uint8Array | undefined) {
  const own = pair()
  const s = createSecureServer({ host, port: 0, tls: issuePeerTls(SECRET, own), lookup })
  s.addService(ReeveServiceService, { ping: (call: grpc.ServerUnaryCall<ReeveServicePingRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: call.request.text, nodeId: '', steward: '', term: 0 }) })
  const addr = await s.start()
  t.teardown(() => s.close())
  return { s, addr, own }
}

const ping = (addr: string, init: Omit<Parameters<typeof createPeerClient>[1], 'timeoutMs'>) => {
  const c = createPeerClient(addr, { ...init, timeoutMs: 5_000 })
  return c.unary(ReeveServiceService.ping, { text: 'hi' }).then(
    (r) => r.text,
    (err: CruxError) => err,
  ).finally(() => c.close())
}

test('a client certified by another secret\'s CA: the call fails in one line naming the cause, and the server counts a failed handshake', async (t) => {
  const client = pair()
  const { s, addr } = await server(t, '127.77.180.1', () => client.publicKey)
  const err = await ping(addr, { tls: issuePeerTls(OTHER, client), key: KEY })
  t.like(err, { code: Code.UNAVAILABLE, message: `${addr}: TLS handshake failed: not this flock's certificate authority` })
  t.true(s.channelCounters.handshakeFailures >= 1)
  t.is(await ping(addr, { tls: issuePeerTls(SECRET, client), key: KEY }), 'hi', 'the same key certified by this flock is served')
})

test('a server holding another key than the pinned one: refused by the client before any call, in one line', async (t) => {
  const client = pair()
  const { addr, own } = await server(t, '127.77.180.2', () => client.publicKey)
  const tls = issuePeerTls(SECRET, client)
  const expected = pair()
  const err = await ping(addr, { tls, key: KEY, expect: { publicKey: expected.publicKey } })
  t.like(err, { code: Code.UNAVAILABLE, message: `${addr}: TLS handshake failed: the server's key is not the expected one (node ${nodeIdOf(expected.publicKey)}); it is node ${nodeIdOf(own.publicKey)}'s`, details: { tls: 'pin' } })
  const byNode = await ping(addr, { tls, key: KEY, expect: { node: 'n0123456789abcdef' } })
  t.like(byNode, { code: Code.UNAVAILABLE, details: { tls: 'pin' } })
  t.is(await ping(addr, { tls, key: KEY, expect: { publicKey: own.publicKey } }), 'hi')
  t.is(await ping(addr, { tls, key: KEY, expect: { node: nodeIdOf(own.publicKey) } }), 'hi')
})

test('a key the flock CA certified that is not on the whitelist: `call refused`, under its own KeyID or a known one', async (t) => {
  const known = pair()
  const { s, addr } = await server(t, '127.77.180.3', (k) => (k === KEY ? known.publicKey : undefined))
  const stranger = issuePeerTls(SECRET, pair())
  t.like(await ping(addr, { tls: stranger, key: '/Reeve1_0/n2/keys/y' }), { code: Code.PERMISSION_DENIED, details: { grpc: 'call refused' } })
  t.like(await ping(addr, { tls: stranger, key: KEY }), { code: Code.UNAUTHENTICATED, details: { grpc: 'call refused' } })
  t.like(s.channelCounters, { unknown: 1, mismatch: 1, accepted: 0 })
})

test('a server that does not speak TLS (an older crux): one line saying so', async (t) => {
  // A plaintext gRPC server on the port: what a fulcrum before mutual TLS was.
  const plain = new grpc.Server()
  const port = await new Promise<number>((resolve, reject) => plain.bindAsync('127.77.180.4:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
  t.teardown(() => plain.forceShutdown())
  const err = await ping(`127.77.180.4:${port}`, { tls: issuePeerTls(SECRET, pair()), key: KEY })
  t.like(err, { code: Code.UNAVAILABLE, details: { tls: 'not-tls' } })
})
