import test from 'ava'
import { Mailbox } from '../../runtime/mailbox.js'

const ev = (type: string, extra: Record<string, unknown> = {}) => ({ type, ...extra })

test('control messages come first, in order', (t) => {
  const m = new Mailbox()
  m.put('data', ev('d1'))
  m.put('control', ev('c1'))
  m.put('control', ev('c2'))
  t.deepEqual([m.take()?.type, m.take()?.type, m.take()?.type], ['c1', 'c2', 'd1'])
  t.is(m.take(), undefined)
})

test('control is never dropped: past its bound puts are rejected and counted', (t) => {
  const m = new Mailbox({ control: 2 })
  t.is(m.put('control', ev('a')), 'accepted')
  t.is(m.put('control', ev('b')), 'accepted')
  t.is(m.put('control', ev('c')), 'rejected')
  t.is(m.counters.controlRejected, 1)
  t.deepEqual([m.take()?.type, m.take()?.type], ['a', 'b'])
})

test('a newer heartbeat supersedes the pending one from the same key', (t) => {
  const m = new Mailbox()
  t.is(m.put('heartbeat', ev('hb', { n: 1 }), 'x'), 'accepted')
  t.is(m.put('heartbeat', ev('hb', { n: 2 }), 'x'), 'superseded')
  t.is(m.counters.heartbeatSuperseded, 1)
  const batch = m.take() as { type: string; beats: Array<{ n: number }> }
  t.is(batch.type, 'heartbeat.batch')
  t.deepEqual(batch.beats.map((b) => b.n), [2])
})

test('pending heartbeats are delivered as one batch in first-arrival order of keys', (t) => {
  const m = new Mailbox()
  m.put('heartbeat', ev('hb', { from: 'b' }), 'b')
  m.put('heartbeat', ev('hb', { from: 'a' }), 'a')
  m.put('heartbeat', ev('hb', { from: 'b', again: true }), 'b')
  m.put('heartbeat', ev('hb', { from: 'c' }), 'c')
  const batch = m.take() as unknown as { beats: Array<{ from: string }> }
  t.deepEqual(batch.beats.map((b) => b.from), ['b', 'a', 'c'])
  t.is(m.size, 0)
})

test('heartbeats from new keys past the bound are dropped and counted', (t) => {
  const m = new Mailbox({ heartbeat: 2 })
  m.put('heartbeat', ev('hb'), 'a')
  m.put('heartbeat', ev('hb'), 'b')
  t.is(m.put('heartbeat', ev('hb'), 'c'), 'dropped')
  t.is(m.put('heartbeat', ev('hb'), 'a'), 'superseded')
  t.is(m.counters.heartbeatDropped, 1)
})

test('heartbeat batch comes after control and before data', (t) => {
  const m = new Mailbox()
  m.put('data', ev('d'))
  m.put('heartbeat', ev('hb'), 'k')
  m.put('control', ev('c'))
  t.deepEqual([m.take()?.type, m.take()?.type, m.take()?.type], ['c', 'heartbeat.batch', 'd'])
})

test('data is bounded and drops the oldest', (t) => {
  const m = new Mailbox({ data: 3 })
  for (let i = 0; i < 5; i++) m.put('data', ev('d', { i }))
  t.is(m.counters.dataDropped, 2)
  const got: unknown[] = []
  for (let e = m.take(); e !== undefined; e = m.take()) got.push(e.i)
  t.deepEqual(got, [2, 3, 4])
})

test('clear discards everything and reports how much', (t) => {
  const m = new Mailbox()
  m.put('data', ev('d'))
  m.put('control', ev('c'))
  m.put('heartbeat', ev('h'), 'k')
  t.is(m.clear(), 3)
  t.is(m.size, 0)
  t.is(m.take(), undefined)
})
