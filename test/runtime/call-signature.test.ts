import test from 'ava'
import { CallVerifier, signCall } from '../../runtime/call-signature.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'

const sk = randomEd25519SecretKey()
const KEY = '/Reeve1_0/n1/keys/ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89'
const body = new TextEncoder().encode('a request')
const METHOD = '/crux.v1.Registry/Register'
const NOW = 1_800_000_000_000
const verifier = (max?: number) => new CallVerifier({ lookup: (k) => (k === KEY ? ed25519PublicKey(sk) : undefined), ...(max === undefined ? {} : { maxNonces: max }) })
const sign = (over: Partial<Parameters<typeof signCall>[0]> = {}) => signCall({ key: KEY, secretKey: sk, method: METHOD, body, nowMs: NOW, ...over })

test('a signed call from a whitelisted key is accepted, naming the caller', (t) => {
  t.deepEqual(verifier().verify(sign(), METHOD, body, NOW + 1000), { ok: true, caller: KEY })
})

test('a call missing any field, or with a malformed one, is unsigned', (t) => {
  const v = verifier()
  const s = sign()
  for (const k of ['key', 'time', 'nonce', 'signature'] as const) t.deepEqual(v.verify({ ...s, [k]: undefined }, METHOD, body, NOW), { ok: false, reason: 'unsigned' })
  t.deepEqual(v.verify({ ...s, signature: 'c2hvcnQ=' }, METHOD, body, NOW), { ok: false, reason: 'unsigned' })
  t.is(v.refused.unsigned, 5)
})

test('a call more than the skew away from the server clock is stale', (t) => {
  t.deepEqual(verifier().verify(sign(), METHOD, body, NOW + 300_001), { ok: false, reason: 'stale' })
  t.deepEqual(verifier().verify(sign({ nowMs: NOW + 400_000 }), METHOD, body, NOW), { ok: false, reason: 'stale' })
})

test('a key not on the whitelist is refused as unknown', (t) => {
  t.deepEqual(verifier().verify(sign({ key: '/Reeve1_0/n2/keys/*' }), METHOD, body, NOW), { ok: false, reason: 'unknown' })
})

test('another body, another method, or another signer is a forgery', (t) => {
  const v = verifier()
  t.deepEqual(v.verify(sign(), METHOD, new TextEncoder().encode('another request'), NOW), { ok: false, reason: 'forged' })
  t.deepEqual(v.verify(sign(), '/crux.v1.Registry/Deregister', body, NOW), { ok: false, reason: 'forged' })
  t.deepEqual(v.verify(sign({ secretKey: randomEd25519SecretKey() }), METHOD, body, NOW), { ok: false, reason: 'forged' })
  t.is(v.remembered, 0, 'forgeries leave no nonce behind')
})

test('the same signed call twice is a replay; its nonce is forgotten only once any copy would be stale', (t) => {
  const v = verifier()
  const s = sign()
  t.true(v.verify(s, METHOD, body, NOW).ok)
  t.deepEqual(v.verify(s, METHOD, body, NOW + 10), { ok: false, reason: 'replayed' })
  t.is(v.remembered, 1)
  t.true(v.verify(sign({ nowMs: NOW + 600_001 }), METHOD, body, NOW + 600_001).ok, 'a fresh call at the end of the window')
  t.is(v.remembered, 1, 'the first nonce expired')
})

test('a full nonce cache refuses new calls rather than forgetting nonces early', (t) => {
  const v = verifier(2)
  t.true(v.verify(sign(), METHOD, body, NOW).ok)
  t.true(v.verify(sign(), METHOD, body, NOW).ok)
  t.deepEqual(v.verify(sign(), METHOD, body, NOW), { ok: false, reason: 'busy' })
})
