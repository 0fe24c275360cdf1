import test from 'ava'
import { VirtualClock } from '../../runtime/clock.js'
import { ENVELOPE_OVERHEAD } from '../../runtime/envelope.js'
import { ENVELOPE_TYPE, SecondaryChannel } from '../../runtime/secondary-channel.js'

const SECRET = new Uint8Array(32).map((_, i) => i * 13 + 5)
const text = (s: string) => new TextEncoder().encode(s)
// The default budget (runtime/key-budget.ts BUDGET, docs/LIMITS.md), spelled out so
// that this file runs, and fails, against code without one.
const BUDGET = { perSource: { burst: 32, perS: 16 }, global: { burst: 256, perS: 128 } }

/** A forged envelope: right version and type, key id `id`, a counter that reaches the AEAD. */
function forged(id: number): Uint8Array {
  const d = new Uint8Array(ENVELOPE_OVERHEAD + 40)
  d[0] = 1
  d[1] = ENVELOPE_TYPE.offer
  new DataView(d.buffer).setUint32(2, id)
  d[13] = 1
  return d
}

test('secondary channel: 10 000 forged key ids from one source cost at most its burst of derivations; others still open', (t) => {
  const clock = new VirtualClock(1_000_000)
  const rx = new SecondaryChannel({ secret: SECRET, keyId: 1, startCounter: 0, clock })
  const known = new SecondaryChannel({ secret: SECRET, keyId: 2, startCounter: 0 })
  t.true(rx.open(known.seal(ENVELOPE_TYPE.secondary, text('before')), '127.0.0.9:40000').ok)
  const before = rx.derivations
  const reasons = new Map<string, number>()
  for (let i = 0; i < 10_000; i++) {
    const r = rx.open(forged(0x1000_0000 + i), `127.0.0.9:${1024 + (i % 60_000)}`) // the port varies freely
    t.false(r.ok)
    if (!r.ok) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1)
  }
  const burst = BUDGET.perSource.burst
  t.is(rx.derivations - before, burst - 1, 'the flooding source had spent one token on the genuine sender')
  t.deepEqual(Object.fromEntries(reasons), { tag: burst - 1, 'key-budget': 10_000 - (burst - 1) })
  // A sender already heard, even from the flooding host, opens without touching the budget.
  t.true(rx.open(known.seal(ENVELOPE_TYPE.secondary, text('during')), '127.0.0.9:40000').ok)
  // A new sender from another host opens at once.
  const fresh = new SecondaryChannel({ secret: SECRET, keyId: 3, startCounter: 0 })
  const r = rx.open(fresh.seal(ENVELOPE_TYPE.offer, text('hello')), '127.0.0.10:23123')
  t.true(r.ok && new TextDecoder().decode(r.plaintext) === 'hello')
  // The flooding host earns its rate back with time: one second, 16 more.
  clock.advance(1000)
  for (let i = 0; i < 100; i++) rx.open(forged(0x2000_0000 + i), '127.0.0.9:1')
  t.is(rx.derivations - before, burst + BUDGET.perSource.perS, 'the flood, the new sender, then one second of refill')
})

test('secondary channel: forged key ids from many sources are bounded by the global budget', (t) => {
  const clock = new VirtualClock()
  const rx = new SecondaryChannel({ secret: SECRET, keyId: 1, startCounter: 0, clock })
  let budget = 0
  for (let i = 0; i < 10_000; i++) {
    const r = rx.open(forged(i), `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:5000`)
    if (!r.ok && r.reason === 'key-budget') budget++
  }
  t.is(rx.derivations, BUDGET.global.burst)
  t.is(budget, 10_000 - BUDGET.global.burst)
  // Nothing a forged id brought is kept: a genuine sender still opens once the budget refills.
  clock.advance(100)
  const g = new SecondaryChannel({ secret: SECRET, keyId: 77, startCounter: 0 })
  t.true(rx.open(g.seal(ENVELOPE_TYPE.secondary, text('x')), '192.0.2.1:1').ok)
})
