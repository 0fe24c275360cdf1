import test from 'ava'
import {
  deriveEnvelopeKey,
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_OVERHEAD,
  ENVELOPE_VERSION,
  EnvelopeOpener,
  EnvelopeSealer,
  MAX_ENVELOPE_PLAINTEXT,
  seal,
  type DropReason,
} from '../../runtime/envelope.js'
import { CruxError, Code } from '../../runtime/errors.js'
import { Rng } from '../../runtime/rng.js'
import { MAX_DATAGRAM_BYTES } from '../../runtime/transport.js'

const secret = new Uint8Array(32).map((_, i) => i * 7 + 1)
const k1 = deriveEnvelopeKey(secret, 'crux/v1 secondary', 1)
const k2 = deriveEnvelopeKey(secret, 'crux/v1 secondary', 2)
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

function opener(...keys: (typeof k1)[]): EnvelopeOpener {
  const o = new EnvelopeOpener()
  for (const k of keys) o.addKey(k)
  return o
}

function totalDrops(o: EnvelopeOpener): number {
  return Object.values(o.drops).reduce((a, b) => a + b, 0)
}

test('envelope round trip returns type, key id, counter and plaintext', (t) => {
  const o = opener(k1)
  const r = o.open(seal(k1, 42, 7, text('hello flock')))
  t.deepEqual(r, { ok: true, type: 42, keyId: 1, counter: 7, plaintext: text('hello flock') })
  t.is(o.accepted, 1)
})

test('envelope round trip with empty, maximal and 2^53 − 1 counter payloads', (t) => {
  const o = opener(k1)
  const big = new Uint8Array(MAX_ENVELOPE_PLAINTEXT).fill(9)
  for (const [c, p] of [[0, new Uint8Array(0)], [1, big], [Number.MAX_SAFE_INTEGER, text('x')]] as const) {
    const r = o.open(seal(k1, 255, c, p))
    t.true(r.ok && r.counter === c && r.plaintext.length === p.length)
  }
})

test('envelope overhead is exactly 30 bytes, within the 37-byte budget', (t) => {
  t.is(ENVELOPE_OVERHEAD, 30)
  t.true(ENVELOPE_OVERHEAD <= 37)
  for (const n of [0, 1, 300, MAX_ENVELOPE_PLAINTEXT]) t.is(seal(k1, 0, 0, new Uint8Array(n)).length, n + 30)
  t.is(MAX_ENVELOPE_PLAINTEXT, MAX_DATAGRAM_BYTES - 30)
})

test('envelope header layout is version, type, big-endian key id and counter', (t) => {
  const p = seal(deriveEnvelopeKey(secret, 'x', 0x01020304), 0xab, 0x0005_0607_0809, new Uint8Array(3))
  t.deepEqual([...p.subarray(0, ENVELOPE_HEADER_BYTES)], [ENVELOPE_VERSION, 0xab, 1, 2, 3, 4, 0, 0, 0, 5, 6, 7, 8, 9])
})

test('envelope: flipping any single bit of a sealed packet never lets it in', (t) => {
  const packet = seal(k1, 3, 1000, text('a heartbeat of a few bytes'))
  const o = opener(k1, k2)
  const reasons = new Set<DropReason>()
  for (let i = 0; i < packet.length; i++) {
    for (let b = 0; b < 8; b++) {
      const bad = packet.slice()
      bad[i]! ^= 1 << b
      const r = o.open(bad)
      if (r.ok) return t.fail(`byte ${i} bit ${b} accepted`)
      reasons.add(r.reason)
    }
  }
  t.is(o.accepted, 0)
  t.deepEqual([...reasons].sort(), ['tag', 'unknown-key', 'version'])
  t.is(o.drops.tag + o.drops['unknown-key'] + o.drops.version, packet.length * 8)
  // The untouched packet still opens: no bad one marked the window.
  t.true(o.open(packet).ok)
})

test('envelope: every truncation drops as size or tag', (t) => {
  const packet = seal(k1, 3, 5, new Uint8Array(100).fill(1))
  const o = opener(k1)
  for (let n = 0; n < packet.length; n++) {
    const r = o.open(packet.subarray(0, n))
    t.false(r.ok)
    if (!r.ok) t.is(r.reason, n < ENVELOPE_OVERHEAD ? 'size' : 'tag', `length ${n}`)
  }
})

test('envelope: a datagram over 1400 bytes drops as size', (t) => {
  const o = opener(k1)
  const r = o.open(new Uint8Array(MAX_DATAGRAM_BYTES + 1))
  t.deepEqual(r, { ok: false, reason: 'size' })
})

test('envelope: a replayed packet drops as replay', (t) => {
  const o = opener(k1)
  const p = seal(k1, 1, 9, text('once'))
  t.true(o.open(p).ok)
  t.deepEqual(o.open(p), { ok: false, reason: 'replay' })
  t.is(o.drops.replay, 1)
})

test('envelope: a packet older than the window drops as stale', (t) => {
  const o = opener(k1)
  const old = seal(k1, 1, 10, text('old'))
  t.true(o.open(seal(k1, 1, 10 + 2048, text('new'))).ok)
  t.deepEqual(o.open(old), { ok: false, reason: 'stale' })
})

test('envelope: an unknown key id drops as unknown-key', (t) => {
  const o = opener(k1)
  t.deepEqual(o.open(seal(k2, 1, 0, text('who?'))), { ok: false, reason: 'unknown-key' })
})

test('envelope: a wrong version drops as version', (t) => {
  const p = seal(k1, 1, 0, text('v'))
  p[0] = 2
  t.deepEqual(opener(k1).open(p), { ok: false, reason: 'version' })
})

test('envelope: same id but different key material fails the tag', (t) => {
  const other = deriveEnvelopeKey(new Uint8Array(32).fill(5), 'crux/v1 secondary', 1)
  t.deepEqual(opener(k1).open(seal(other, 1, 0, text('forged'))), { ok: false, reason: 'tag' })
})

test('envelope: old and new epoch keys both open while held; a removed key is unknown', (t) => {
  const o = opener(k1, k2)
  t.true(o.open(seal(k1, 1, 0, text('old epoch'))).ok)
  t.true(o.open(seal(k2, 1, 0, text('new epoch'))).ok)
  t.true(o.removeKey(1))
  t.false(o.hasKey(1))
  t.true(o.hasKey(2))
  t.deepEqual(o.open(seal(k1, 1, 1, text('late'))), { ok: false, reason: 'unknown-key' })
  t.true(o.open(seal(k2, 1, 1, text('still fine'))).ok)
  t.false(o.removeKey(1))
})

test('envelope: re-adding the same key keeps its replay window', (t) => {
  const o = opener(k1)
  const p = seal(k1, 1, 3, text('x'))
  t.true(o.open(p).ok)
  o.addKey(k1)
  t.deepEqual(o.open(p), { ok: false, reason: 'replay' })
})

test('envelope: the opener keeps its own copy of the key', (t) => {
  const k = deriveEnvelopeKey(secret, 'copy', 9)
  const o = opener(k)
  const p = seal(k, 1, 0, text('x'))
  k.key.fill(0)
  t.true(o.open(p).ok)
})

test('envelope: windows are per key id', (t) => {
  const o = opener(k1, k2)
  t.true(o.open(seal(k1, 1, 5, text('a'))).ok)
  t.true(o.open(seal(k2, 1, 5, text('b'))).ok)
})

test('envelope fuzz: 100 000 random and mutated datagrams, none accepted, no throw', (t) => {
  const rng = new Rng('envelope-fuzz')
  const o = opener(k1, k2)
  const sealer = new EnvelopeSealer(k1, 10_000)
  const body = (): Uint8Array => new Uint8Array(rng.int(200)).map(() => rng.u32() & 255)
  // Delivered packets (mutations of these mostly meet the replay window) and never-delivered ones
  // (fresh counters, so mutations of these reach the AEAD and must fail the tag).
  const delivered: Uint8Array[] = []
  const unseen: Uint8Array[] = []
  for (let i = 0; i < 64; i++) {
    const p = sealer.seal(rng.int(256), body())
    t.true(o.open(p).ok)
    delivered.push(p)
  }
  for (let i = 0; i < 64; i++) unseen.push(sealer.seal(rng.int(256), body()))
  const base = o.accepted
  const N = 100_000
  for (let i = 0; i < N; i++) {
    let d: Uint8Array
    const kind = rng.int(6)
    const pool = rng.chance(0.5) ? delivered : unseen
    const g = pool[rng.int(pool.length)]!
    if (kind === 0) {
      d = new Uint8Array(rng.int(1500)).map(() => rng.u32() & 255) // noise
    } else if (kind === 1) {
      d = delivered[rng.int(delivered.length)]!.slice() // replay
    } else if (kind === 2) {
      d = g.subarray(0, rng.int(g.length)) // truncated
    } else if (kind === 3) {
      d = g.slice() // a few random bit flips
      for (let f = 1 + rng.int(4); f > 0; f--) d[rng.int(d.length)]! ^= 1 << rng.int(8)
      if (pool === unseen && d.every((x, j) => x === g[j])) d[d.length - 1]! ^= 1 // flips that cancelled out
    } else if (kind === 4) {
      d = g.slice() // forged header: valid version, held key id, any counter, garbage body
      d[0] = ENVELOPE_VERSION
      d[5] = 1 + rng.int(2)
      new DataView(d.buffer).setUint32(10, rng.int(20_000))
      if (d.length > 14) d[14]! ^= 1 + rng.int(255)
    } else {
      d = new Uint8Array(g.length + 1 + rng.int(50)) // extended with junk
      d.set(g)
    }
    let r
    try {
      r = o.open(d)
    } catch (err) {
      return t.fail(`open threw on case ${i}: ${String(err)}`)
    }
    if (r.ok) return t.fail(`case ${i} (kind ${kind}) accepted`)
  }
  t.is(o.accepted, base)
  t.is(totalDrops(o), N)
  for (const reason of Object.keys(o.drops) as DropReason[]) t.true(o.drops[reason] > 0, `no ${reason} drops`)
  t.log('drops', JSON.stringify(o.drops))
})

test('envelope: seal refuses oversize plaintext and bad arguments', (t) => {
  const err = t.throws(() => seal(k1, 0, 0, new Uint8Array(MAX_ENVELOPE_PLAINTEXT + 1)), { instanceOf: CruxError })
  t.is(err?.code, Code.INVALID_ARGUMENT)
  for (const type of [-1, 256, 1.5]) t.throws(() => seal(k1, type, 0, new Uint8Array(1)), { instanceOf: CruxError })
  for (const c of [-1, 0.5, 2 ** 53, Number.NaN]) t.throws(() => seal(k1, 0, c, new Uint8Array(1)), { instanceOf: CruxError })
  t.throws(() => seal({ ...k1, key: new Uint8Array(16) }, 0, 0, new Uint8Array(1)), { instanceOf: CruxError })
  t.throws(() => seal({ ...k1, id: 2 ** 32 }, 0, 0, new Uint8Array(1)), { instanceOf: CruxError })
})

test('envelope sealer counts up and stops before the counter runs out', (t) => {
  const s = new EnvelopeSealer(k1, Number.MAX_SAFE_INTEGER - 1)
  const o = opener(k1)
  const a = o.open(s.seal(1, text('a')))
  const b = o.open(s.seal(1, text('b')))
  t.true(a.ok && a.counter === Number.MAX_SAFE_INTEGER - 1)
  t.true(b.ok && b.counter === Number.MAX_SAFE_INTEGER)
  t.throws(() => s.seal(1, text('c')), { instanceOf: CruxError })
})

test('envelope sealer does not burn a counter on a refused seal', (t) => {
  const s = new EnvelopeSealer(k1)
  t.throws(() => s.seal(1, new Uint8Array(MAX_DATAGRAM_BYTES)))
  t.is(s.counter, 0)
})

test('deriveEnvelopeKey is deterministic; info and id both change the key', (t) => {
  const a = deriveEnvelopeKey(secret, 'crux/v1 secondary', 1)
  t.deepEqual(a, k1)
  t.is(a.key.length, 32)
  t.is(a.salt.length, 4)
  const hex = (k: typeof a): string => Buffer.from([...k.key, ...k.salt]).toString('hex')
  const variants = [
    a,
    deriveEnvelopeKey(secret, 'crux/v1 secondary', 2),
    deriveEnvelopeKey(secret, 'crux/v1 session', 1),
    deriveEnvelopeKey(secret, 'crux/v1 secondary\0', 1),
    deriveEnvelopeKey(new Uint8Array(32), 'crux/v1 secondary', 1),
  ]
  t.is(new Set(variants.map(hex)).size, variants.length)
  t.throws(() => deriveEnvelopeKey(new Uint8Array(8), 'x', 1), { instanceOf: CruxError })
})

test('20 000 envelopes sealed in a row all open: the replay window slides with the counter', (t) => {
  // The rate of this loop is `npm run bench -- wire-codec` (seal_open_300b_us), not a test's business.
  const s = new EnvelopeSealer(k2)
  const o = opener(k2)
  const payload = new Uint8Array(300).fill(0x5a)
  const n = 20_000
  let ok = 0
  for (let i = 0; i < n; i++) if (o.open(s.seal(1, payload)).ok) ok++
  t.is(ok, n)
  t.is(totalDrops(o), 0)
})
