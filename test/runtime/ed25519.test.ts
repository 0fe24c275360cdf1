import { ed25519 } from '@noble/curves/ed25519.js'
import test from 'ava'
import fc from 'fast-check'
import { ed25519PublicKey, ed25519Sign, ed25519Verify, isEd25519SecretKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'

// noble is the independent reference: the same keys and signatures, byte for byte (RFC 8032).
test('public keys and signatures are the bytes noble makes, and each verifies the other', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), (sk, msg) => {
      const pub = ed25519PublicKey(sk)
      t.deepEqual(pub, ed25519.getPublicKey(sk))
      const sig = ed25519Sign(msg, sk)
      t.deepEqual(sig, ed25519.sign(msg, sk))
      t.true(ed25519Verify(ed25519.sign(msg, sk), msg, pub))
      t.true(ed25519.verify(sig, msg, pub))
    }),
    { numRuns: 50 },
  )
})

test('a changed message, signature or key does not verify, and malformed input is false, not a throw', (t) => {
  const sk = randomEd25519SecretKey()
  t.true(isEd25519SecretKey(sk))
  const pub = ed25519PublicKey(sk)
  const msg = new TextEncoder().encode('crux')
  const sig = ed25519Sign(msg, sk)
  t.true(ed25519Verify(sig, msg, pub))
  t.false(ed25519Verify(sig, new TextEncoder().encode('crux!'), pub))
  const bent = sig.slice()
  bent[0]! ^= 1
  t.false(ed25519Verify(bent, msg, pub))
  t.false(ed25519Verify(sig, msg, ed25519PublicKey(randomEd25519SecretKey())))
  t.false(ed25519Verify(sig.subarray(1), msg, pub))
  t.false(ed25519Verify(sig, msg, pub.subarray(1)))
  t.false(ed25519Verify(sig, msg, new Uint8Array(32).fill(0xff)))
  t.false(isEd25519SecretKey(new Uint8Array(31)))
  t.throws(() => ed25519PublicKey(new Uint8Array(31)), { instanceOf: RangeError })
})
