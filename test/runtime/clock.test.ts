import test from 'ava'
import { SkewedClock, VirtualClock } from '../../runtime/clock.js'

test('virtual clock fires timers in due order', (t) => {
  const c = new VirtualClock()
  const seen: string[] = []
  c.schedule(30, () => seen.push('c'))
  c.schedule(10, () => seen.push('a'))
  c.schedule(20, () => seen.push('b'))
  c.runAll()
  t.deepEqual(seen, ['a', 'b', 'c'])
  t.is(c.now(), 30)
})

test('virtual clock breaks ties by insertion order', (t) => {
  const c = new VirtualClock()
  const seen: number[] = []
  for (let i = 0; i < 50; i++) c.schedule(5, () => seen.push(i))
  c.runAll()
  t.deepEqual(seen, [...Array(50).keys()])
})

test('virtual clock runUntil stops at the bound and sets the time', (t) => {
  const c = new VirtualClock(1000)
  const seen: number[] = []
  c.schedule(100, () => seen.push(c.now()))
  c.schedule(300, () => seen.push(c.now()))
  c.runUntil(1200)
  t.deepEqual(seen, [1100])
  t.is(c.now(), 1200)
  t.is(c.pending, 1)
})

test('timers scheduled by a callback for the same instant run after those already due', (t) => {
  const c = new VirtualClock()
  const seen: string[] = []
  c.schedule(10, () => {
    seen.push('first')
    c.schedule(0, () => seen.push('nested'))
  })
  c.schedule(10, () => seen.push('second'))
  c.advance(10)
  t.deepEqual(seen, ['first', 'second', 'nested'])
})

test('cancelled timers never fire', (t) => {
  const c = new VirtualClock()
  let fired = 0
  const h = c.schedule(10, () => fired++)
  c.schedule(20, () => fired++)
  c.cancel(h)
  c.cancel(h)
  c.runAll()
  t.is(fired, 1)
  t.is(c.pending, 0)
})

test('time never goes backwards', (t) => {
  const c = new VirtualClock(50)
  c.runUntil(10)
  t.is(c.now(), 50)
})

test('skewed clock offsets now but shares the base timers', (t) => {
  const base = new VirtualClock(1000)
  const skewed = new SkewedClock(base, -2000)
  t.is(skewed.now(), -1000)
  let at = -1
  skewed.schedule(500, () => (at = skewed.now()))
  base.runAll()
  t.is(at, -500)
})
