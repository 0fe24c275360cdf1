import test from 'ava'
import fc from 'fast-check'
import { CruxError } from '../../runtime/errors.js'
import { DEFAULT_REPLAY_WINDOW, ReplayWindow } from '../../runtime/replay-window.js'

/** check then mark, as the envelope does; returns the verdict. */
function accept(w: ReplayWindow, c: number): string {
  const v = w.check(c)
  if (v === 'ok') w.mark(c)
  return v
}

test('replay window accepts counters in order', (t) => {
  const w = new ReplayWindow()
  for (let c = 0; c < 5000; c++) t.is(accept(w, c), 'ok')
  t.is(w.highest, 4999)
})

test('replay window accepts out-of-order counters inside the window', (t) => {
  const w = new ReplayWindow()
  t.is(accept(w, 3000), 'ok')
  for (const c of [2999, 1500, 2000, 953, 3001, 2500]) t.is(accept(w, c), 'ok', `counter ${c}`)
})

test('replay window rejects a duplicate as replay', (t) => {
  const w = new ReplayWindow()
  accept(w, 10)
  accept(w, 7)
  t.is(w.check(10), 'replay')
  t.is(w.check(7), 'replay')
  t.is(w.check(8), 'ok')
})

test('replay window check does not change state', (t) => {
  const w = new ReplayWindow()
  t.is(w.check(100), 'ok')
  t.is(w.check(100), 'ok')
  t.is(w.highest, -1)
})

test('replay window edges: highest − 2047 accepted once, highest − 2048 stale', (t) => {
  const w = new ReplayWindow()
  accept(w, 10_000)
  t.is(accept(w, 10_000 - 2047), 'ok')
  t.is(accept(w, 10_000 - 2047), 'replay')
  t.is(w.check(10_000 - 2048), 'stale')
  t.is(w.check(0), 'stale')
})

test('replay window: marking a stale counter changes nothing', (t) => {
  const w = new ReplayWindow()
  w.mark(5000)
  w.mark(1)
  t.is(w.highest, 5000)
  t.is(w.check(5000 - 2047), 'ok')
})

test('replay window: a small advance frees only the slots it passes', (t) => {
  const w = new ReplayWindow()
  for (let c = 0; c < 2048; c++) w.mark(c)
  w.mark(2048 + 40) // counters 0..40 fall out; their ring slots now belong to 2048..2088
  for (let c = 2048; c < 2088; c++) t.is(w.check(c), 'ok', `counter ${c}`)
  t.is(w.check(41), 'replay')
  t.is(w.check(2047), 'replay')
  t.is(w.check(40), 'stale')
})

test('replay window: a large jump clears the whole bitmap', (t) => {
  const w = new ReplayWindow()
  for (let c = 0; c < 2048; c++) w.mark(c)
  const far = 1_000_000
  w.mark(far)
  for (let c = far - 2047; c < far; c++) if (w.check(c) !== 'ok') return t.fail(`counter ${c} not free`)
  t.is(w.check(far), 'replay')
  t.is(w.check(far - 2048), 'stale')
  t.pass()
})

test('replay window handles counters near 2^53', (t) => {
  const w = new ReplayWindow()
  const top = Number.MAX_SAFE_INTEGER
  t.is(accept(w, top - 5), 'ok')
  t.is(accept(w, top), 'ok')
  t.is(accept(w, top - 5), 'replay')
  t.is(accept(w, top - 4), 'ok')
  t.is(w.check(top - 2048), 'stale')
})

test('replay window: invalid counters are stale to check and refused by mark', (t) => {
  const w = new ReplayWindow()
  for (const c of [-1, 1.5, Number.NaN, 2 ** 53, Infinity]) {
    t.is(w.check(c), 'stale')
    t.throws(() => w.mark(c), { instanceOf: CruxError })
  }
})

test('replay window refuses a size below 2048 or not a multiple of 32', (t) => {
  t.is(new ReplayWindow().size, DEFAULT_REPLAY_WINDOW)
  t.is(new ReplayWindow(4096).size, 4096)
  for (const s of [0, 1024, 2047, 2050, 2048.5]) t.throws(() => new ReplayWindow(s), { instanceOf: CruxError })
})

test('replay window agrees with a naive set model (property)', (t) => {
  const size = 2048
  // Counters cluster around a moving point, with occasional far jumps, so edges and wraps are hit.
  const step = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: -2100, max: 40 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 10_000 }) },
  )
  fc.assert(
    fc.property(fc.array(step, { maxLength: 400 }), fc.nat(2 ** 40), (steps, base) => {
      const w = new ReplayWindow(size)
      const seen = new Set<number>()
      let highest = -1
      let cursor = base
      for (const s of steps) {
        cursor = Math.max(0, cursor + s)
        const c = cursor
        const want = c > highest ? 'ok' : highest - c >= size ? 'stale' : seen.has(c) ? 'replay' : 'ok'
        if (w.check(c) !== want) return false
        if (want === 'ok') {
          w.mark(c)
          seen.add(c)
          highest = Math.max(highest, c)
        }
        if (w.highest !== highest) return false
      }
      return true
    }),
    { numRuns: 500 },
  )
  t.pass()
})
