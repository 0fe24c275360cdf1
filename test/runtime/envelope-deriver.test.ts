import test from 'ava'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { deriveEnvelopeKey, envelopeKeyDeriver } from '../../runtime/envelope.js'

const SECRET = new Uint8Array(32).map((_, i) => i * 13 + 5)

test('envelopeKeyDeriver: byte-identical to HKDF-SHA256 (noble) on fixed vectors', (t) => {
  const vectors: Array<[Uint8Array, string, number]> = [
    [SECRET, 'crux/v1 flock sender', 0],
    [SECRET, 'crux/v1 flock sender', 0xffff_ffff],
    [new Uint8Array(16).fill(0xab), 'crux/v1 session', 0x0102_0304],
    [new Uint8Array(64).map((_, i) => i), '', 7],
  ]
  for (const [secret, info, id] of vectors) {
    const label = new TextEncoder().encode(info)
    const full = new Uint8Array(label.length + 5)
    full.set(label)
    new DataView(full.buffer).setUint32(label.length + 1, id)
    const okm = hkdf(sha256, secret, undefined, full, 36)
    const k = envelopeKeyDeriver(secret, info)(id)
    t.deepEqual(deriveEnvelopeKey(secret, info, id), k)
    t.deepEqual([k.id, Buffer.from(k.key).toString('hex'), Buffer.from(k.salt).toString('hex')], [id, Buffer.from(okm.slice(0, 32)).toString('hex'), Buffer.from(okm.slice(32)).toString('hex')])
  }
})

