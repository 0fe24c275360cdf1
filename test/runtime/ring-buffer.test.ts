import test from 'ava'
import { RingBuffer } from '../../runtime/ring-buffer.js'

test('a ring keeps the newest items, oldest first', (t) => {
  const r = new RingBuffer<number>(3)
  t.deepEqual(r.toArray(), [])
  for (let i = 1; i <= 2; i++) r.push(i)
  t.deepEqual(r.toArray(), [1, 2])
  for (let i = 3; i <= 7; i++) r.push(i)
  t.deepEqual(r.toArray(), [5, 6, 7])
  t.is(r.length, 3)
  t.is(r.pushed, 7)
})

test('a ring of no capacity is refused', (t) => {
  t.throws(() => new RingBuffer(0), { message: /positive integer/ })
})
