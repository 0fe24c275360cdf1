import test from 'ava'
import fc from 'fast-check'
import { decodeHello, encodeHello, ephemeral, sessionKeys, type Hello } from '../../runtime/handshake.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'

const id = () => {
  const secretKey = randomEd25519SecretKey()
  return { secretKey, publicKey: ed25519PublicKey(secretKey) }
}

function pair() {
  const a = id()
  const b = id()
  const ea = ephemeral()
  const eb = ephemeral()
  const offer: Hello = { kind: 'offer', nonce: new Uint8Array(16).fill(1), echo: new Uint8Array(16), rxId: 11, sentMs: 1000, epoch: '3-abc', eph: ea.publicKey, id: a.publicKey, cert: new Uint8Array() }
  const answer: Hello = { kind: 'answer', nonce: new Uint8Array(16).fill(2), echo: offer.nonce, rxId: 22, sentMs: 1001, epoch: '3-abc', eph: eb.publicKey, id: b.publicKey, cert: new Uint8Array([1, 2, 3]) }
  return { a, b, ea, eb, offer, answer }
}

test('a hello round-trips through encode and decode, signature checked', (t) => {
  const p = pair()
  const back = decodeHello(encodeHello(p.answer, p.b.secretKey), 'answer')
  t.deepEqual(back, p.answer)
})

test('both ends derive the same two keys, each sealed under the id the receiver asked for', (t) => {
  const p = pair()
  const atOfferer = sessionKeys(p.ea.secretKey, 'offer', p.offer, p.answer)!
  const atAnswerer = sessionKeys(p.eb.secretKey, 'answer', p.offer, p.answer)!
  t.deepEqual(atOfferer, atAnswerer)
  t.is(atOfferer.offerToAnswer.id, 22)
  t.is(atOfferer.answerToOffer.id, 11)
  t.notDeepEqual(atOfferer.offerToAnswer.key, atOfferer.answerToOffer.key)
})

test('a hello of the other kind, or signed by another key, does not decode', (t) => {
  const p = pair()
  const bytes = encodeHello(p.offer, p.a.secretKey)
  t.is(decodeHello(bytes, 'answer'), null)
  t.is(decodeHello(encodeHello(p.offer, p.b.secretKey), 'offer'), null, 'claims a, signed by b')
})

test('every single-bit flip of a hello is refused', (t) => {
  const p = pair()
  const bytes = encodeHello(p.answer, p.b.secretKey)
  for (let i = 0; i < bytes.length; i += 7) {
    const d = bytes.slice()
    d[i] = d[i]! ^ (1 << (i % 8))
    t.is(decodeHello(d, 'answer'), null, `bit flip at byte ${i}`)
  }
})

test('arbitrary bytes never make decodeHello throw', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      decodeHello(b, 'offer')
      decodeHello(b, 'answer')
    }),
    { numRuns: 2000 },
  )
  t.pass()
})

test('a low-order ephemeral key from the peer gives no session', (t) => {
  const p = pair()
  t.is(sessionKeys(p.eb.secretKey, 'answer', { ...p.offer, eph: new Uint8Array(32) }, p.answer), null)
})
