import test from 'ava'
import fc from 'fast-check'
import { certFromJson, certProblem, certToJson, decodeCert, encodeCert, issueCert } from '../../runtime/node-cert.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'

const ca = randomEd25519SecretKey()
const caPub = ed25519PublicKey(ca)
const node = ed25519PublicKey(randomEd25519SecretKey())
const cert = issueCert(ca, { publicKey: node, bloc: 'blue', name: 'n1', notAfterMs: 2_000_000 })

test('a certificate round-trips through the wire form and the file form', (t) => {
  t.deepEqual(decodeCert(encodeCert(cert)), cert)
  t.deepEqual(certFromJson(certToJson(cert), 'f'), cert)
})

test('a certificate verifies for its CA and bloc until it expires', (t) => {
  t.is(certProblem(cert, caPub, 'blue', 1_999_999), null)
  t.regex(certProblem(cert, caPub, 'blue', 2_000_001)!, /^expired/)
  t.regex(certProblem(cert, caPub, 'red', 1)!, /for bloc "blue", not "red"/)
  t.is(certProblem(cert, ed25519PublicKey(randomEd25519SecretKey()), 'blue', 1), 'issued by another CA')
})

test('a certificate whose fields were changed no longer verifies', (t) => {
  t.is(certProblem({ ...cert, notAfterMs: 9e12 }, caPub, 'blue', 1), 'bad signature')
  t.is(certProblem({ ...cert, name: 'n2' }, caPub, 'blue', 1), 'bad signature')
  t.is(certProblem({ ...cert, publicKey: caPub }, caPub, 'blue', 1), 'bad signature')
})

test('bad names are refused at issue time', (t) => {
  t.throws(() => issueCert(ca, { publicKey: node, bloc: '', name: 'n', notAfterMs: 1 }), { message: /bloc must be/ })
  t.throws(() => issueCert(ca, { publicKey: node, bloc: 'b', name: 'a b', notAfterMs: 1 }), { message: /node name must be/ })
})

test('arbitrary bytes never make decodeCert throw', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void decodeCert(b)), { numRuns: 5000 })
  t.is(decodeCert(encodeCert(cert).subarray(0, 100)), null)
})

test('a certificate file holding JSON that is not an object is named, not a TypeError', (t) => {
  for (const text of ['null', '[]', '7', '"cert"']) t.throws(() => certFromJson(text, '/d/node.cert'), { name: 'InvalidArgumentError', message: '/d/node.cert: not a certificate object' })
  t.throws(() => certFromJson('{', '/d/node.cert'), { name: 'InvalidArgumentError', message: '/d/node.cert: not JSON' })
})
