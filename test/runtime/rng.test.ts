import test from 'ava'
import fc from 'fast-check'
import { Rng, isRngState, rngNext, rngSeed } from '../../runtime/rng.js'

test('same seed gives the same stream', (t) => {
  const a = new Rng(42)
  const b = new Rng(42)
  t.deepEqual(Array.from({ length: 100 }, () => a.u32()), Array.from({ length: 100 }, () => b.u32()))
})

test('different seeds give different streams', (t) => {
  const a = new Rng(1)
  const b = new Rng(2)
  t.notDeepEqual(Array.from({ length: 8 }, () => a.u32()), Array.from({ length: 8 }, () => b.u32()))
})

test('the class and the pure function agree, and state resumes the stream', (t) => {
  const r = new Rng('crux')
  let s = rngSeed('crux')
  for (let i = 0; i < 20; i++) {
    const [v, next] = rngNext(s)
    s = next
    t.is(r.u32(), v)
  }
  const resumed = new Rng(r.state())
  t.is(resumed.u32(), r.u32())
})

test('state round-trips through JSON and validates', (t) => {
  const s = rngSeed(7)
  t.true(isRngState(JSON.parse(JSON.stringify(s))))
  t.false(isRngState([1, 2, 3]))
  t.false(isRngState([1, 2, 3, 1.5]))
})

test('float stays in [0,1) and int in [0,n)', (t) => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
      const r = new Rng(seed)
      for (let i = 0; i < 50; i++) {
        const f = r.float()
        const k = r.int(n)
        if (!(f >= 0 && f < 1 && Number.isInteger(k) && k >= 0 && k < n)) return false
      }
      return true
    }),
  )
  t.pass()
})

test('chance(0) draws nothing', (t) => {
  const a = new Rng(9)
  const b = new Rng(9)
  t.false(a.chance(0))
  t.is(a.u32(), b.u32())
})

test('uniformity: mean of 100 000 floats is near 0.5', (t) => {
  const r = new Rng(123)
  let sum = 0
  const n = 100_000
  for (let i = 0; i < n; i++) sum += r.float()
  // σ of the mean is sqrt(1/12/n) ≈ 0.00091; allow 5σ.
  t.true(Math.abs(sum / n - 0.5) < 0.0046)
})
