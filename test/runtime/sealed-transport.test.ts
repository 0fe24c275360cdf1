import test from 'ava'
import { VirtualClock } from '../../runtime/clock.js'
import { DatagramTooLargeError } from '../../runtime/errors.js'
import { createMemoryNetwork } from '../../runtime/memory-transport.js'
import { createSealedTransport } from '../../runtime/sealed-transport.js'
import type { Transport } from '../../runtime/transport.js'

const secret = (b: number) => new Uint8Array(32).fill(b)
const text = (s: string) => new TextEncoder().encode(s)

function world() {
  const clock = new VirtualClock()
  const net = createMemoryNetwork({ clock })
  const got: Array<[string, string]> = []
  const sealed = (addr: string, s: Uint8Array, keyId: number) => {
    const tr = createSealedTransport({ transport: net.endpoint(addr), clock }, { secret: s, keyId, startCounter: 0 })
    tr.onReceive((b, from) => got.push([from, new TextDecoder().decode(b)]))
    return tr
  }
  // A raw endpoint that records what it hears, to capture and resend sealed bytes.
  const tap = (addr: string) => {
    const raw = net.endpoint(addr)
    const heard: Uint8Array[] = []
    raw.onReceive((b) => heard.push(b.slice()))
    return { raw, heard }
  }
  return { clock, net, got, sealed, tap }
}

test('two holders of the secret talk; the payload arrives intact', (t) => {
  const w = world()
  const a = w.sealed('a', secret(1), 11)
  w.sealed('b', secret(1), 22)
  a.send('b', text('hello'))
  w.clock.runAll()
  t.deepEqual(w.got, [['a', 'hello']])
})

test('a wrong secret: dropped as a bad tag, never delivered', (t) => {
  const w = world()
  const a = w.sealed('a', secret(1), 11)
  const b = w.sealed('b', secret(2), 22)
  a.send('b', text('hello'))
  w.clock.runAll()
  t.deepEqual(w.got, [])
  t.is(b.drops.tag, 1)
})

test('a captured datagram replayed, even from another address, is dropped as a replay', (t) => {
  const w = world()
  const a = w.sealed('a', secret(1), 11)
  const spy = w.tap('spy')
  const b = w.sealed('b', secret(1), 22)
  a.send('spy', text('once'))
  w.clock.runAll()
  const captured = spy.heard[0]!
  spy.raw.send('b', captured) // first delivery of those bytes to b: fresh, accepted
  w.clock.runAll()
  spy.raw.send('b', captured)
  w.net.endpoint('mallory').send('b', captured)
  w.clock.runAll()
  t.deepEqual(w.got, [['spy', 'once']])
  t.is(b.drops.replay, 2)
})

test('truncated and bit-flipped datagrams are dropped by reason', (t) => {
  const w = world()
  const a = w.sealed('a', secret(1), 11)
  const spy = w.tap('spy')
  const b = w.sealed('b', secret(1), 22)
  a.send('spy', text('payload'))
  w.clock.runAll()
  const bytes = spy.heard[0]!
  spy.raw.send('b', bytes.subarray(0, 10))
  const flipped = bytes.slice()
  flipped[flipped.length - 1]! ^= 1
  spy.raw.send('b', flipped)
  const badVersion = bytes.slice()
  badVersion[0] = 9
  spy.raw.send('b', badVersion)
  w.clock.runAll()
  t.deepEqual(w.got, [])
  t.like(b.drops, { size: 1, tag: 1, version: 1 })
})

test('the payload limit is 1 370 bytes: the envelope takes 30 of the 1 400', (t) => {
  const w = world()
  const a: Transport = w.sealed('a', secret(1), 11)
  w.sealed('b', secret(1), 22)
  t.notThrows(() => a.send('b', new Uint8Array(1370)))
  t.throws(() => a.send('b', new Uint8Array(1371)), { instanceOf: DatagramTooLargeError })
})

test('forged key ids are never kept: a later genuine sender with such an id still gets through', (t) => {
  const w = world()
  const b = w.sealed('b', secret(1), 22)
  const evil = w.net.endpoint('evil')
  for (let id = 0; id < 50; id++) {
    const junk = new Uint8Array(60)
    junk[0] = 1
    junk[1] = 1
    new DataView(junk.buffer).setUint32(2, id)
    evil.send('b', junk)
  }
  w.clock.runAll()
  t.is(b.drops.tag + b.drops['key-budget'], 50)
  const a = w.sealed('a', secret(1), 7) // an id the forger used
  a.send('b', text('real'))
  w.clock.runAll()
  t.deepEqual(w.got, [['a', 'real']])
})
