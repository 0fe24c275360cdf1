import test from 'ava'
import fc from 'fast-check'
import { parseKeyId } from '../../../machines/strew/ids.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../../runtime/ed25519.js'
import { fingerprintOf, keyIdOf, keysProven, openForget, openRegistration, sealForget, sealRegistration, signKeys } from '../../../actors/strew/registration.js'

const secret = new Uint8Array(32).fill(1)
const sk = randomEd25519SecretKey()
const pub = ed25519PublicKey(sk)
const reg = { nodeId: '/blue/h1/n1/Reeve/Reeve1', netId: '/Reeve1_0/n1/net/127.0.0.1:50059', publicKey: pub }
const to = { steward: 'n0123456789abcdef', now: 1_700_000_000_000 }

test('factor 1 opens with the secret it was sealed under, and only with it', (t) => {
  const sealed = sealRegistration(secret, reg, to)
  const opened = openRegistration(secret, sealed)
  t.like(opened, { ...reg, steward: to.steward, time: to.now })
  t.regex(opened!.nonce, /^[0-9a-f]{32}$/)
  t.not(openRegistration(secret, sealRegistration(secret, reg, to))!.nonce, opened!.nonce, 'a fresh nonce each time')
  t.is(openRegistration(new Uint8Array(32).fill(2), sealed), null)
})

test('factor 1 with a malformed id or key is refused', (t) => {
  t.is(openRegistration(secret, sealRegistration(secret, { ...reg, nodeId: '/too/short' }, to)), null)
  t.is(openRegistration(secret, sealRegistration(secret, { ...reg, netId: '/Reeve1_0/*/net/*' }, to)), null, 'a query is not an address')
  t.is(openRegistration(secret, sealRegistration(secret, { ...reg, publicKey: new Uint8Array(31) }, to)), null)
})

test('arbitrary bytes never make openRegistration throw', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => openRegistration(secret, b) === null), { numRuns: 2000 })
  t.pass()
})

test('factor 2 holds only for a signature by the named key over our challenge, listing that key', (t) => {
  const challenge = new Uint8Array(32).fill(9)
  const sig = signKeys(challenge, [pub], sk)
  t.true(keysProven(challenge, [pub], sig, pub))
  t.false(keysProven(new Uint8Array(32), [pub], sig, pub), 'another challenge')
  t.false(keysProven(challenge, [pub], signKeys(challenge, [pub], randomEd25519SecretKey()), pub), 'another signer')
  const other = ed25519PublicKey(randomEd25519SecretKey())
  t.false(keysProven(challenge, [other], signKeys(challenge, [other], sk), pub), 'the key is not among those listed')
})

test('a KeyID made from a key parses, with a 47-character fingerprint', (t) => {
  const id = keyIdOf('Reeve1_0', 'n1', pub)
  t.is(fingerprintOf(pub).length, 47)
  t.deepEqual(parseKeyId(id), { rev: 'Reeve1_0', principal: 'n1', fingerprint: fingerprintOf(pub), query: false })
})

test('a registration and a forget are sealed for one steward, with a time and a nonce, and never read as each other', (t) => {
  t.is(openRegistration(secret, sealRegistration(secret, reg, { steward: 'not-a-node', now: 1 })), null, 'a steward that is no node id')
  const forget = sealForget(secret, 'n00000000000000ff', to)
  t.like(openForget(secret, forget), { node: 'n00000000000000ff', steward: to.steward, time: to.now })
  t.is(openRegistration(secret, forget), null)
  t.is(openForget(secret, sealRegistration(secret, reg, to)), null)
  t.is(openForget(new Uint8Array(32).fill(2), forget), null)
})
