import test from 'ava'
import { AddressInUseError } from '../../runtime/errors.js'
import { VirtualClock } from '../../runtime/clock.js'
import { createMemoryNetwork } from '../../runtime/memory-transport.js'
import type { Transport } from '../../runtime/transport.js'
import { transportConformance, virtualTime } from './conformance.js'

/** One macrotask turn: every queued microtask (and the ones they queue) has run by then. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function closeAll(eps: Transport[]): Promise<void> {
  await Promise.all(eps.map((e) => e.close()))
}

transportConformance('memory (microtasks)', {
  async create(n) {
    const net = createMemoryNetwork()
    const endpoints = Array.from({ length: n }, (_, i) => net.endpoint(`mem-${i}`))
    return {
      endpoints,
      unknownAddress: 'mem-nobody',
      settle: turn,
      async until(cond, boundMs = 1000) {
        // Microtask delivery has no timeline: count turns instead of milliseconds.
        for (let i = 0; i < boundMs && !cond(); i++) await turn()
        return cond()
      },
      teardown: () => closeAll(endpoints),
    }
  },
})

transportConformance('memory (virtual clock)', {
  async create(n) {
    const clock = new VirtualClock()
    const net = createMemoryNetwork({ clock })
    const endpoints = Array.from({ length: n }, (_, i) => net.endpoint(`mem-${i}`))
    return { endpoints, unknownAddress: 'mem-nobody', ...virtualTime(clock), teardown: () => closeAll(endpoints) }
  },
})

test('memory: delivery is asynchronous and FIFO per sender, interleaved in send order', async (t) => {
  const net = createMemoryNetwork()
  const [a, b, c] = ['a', 'b', 'c'].map((x) => net.endpoint(x))
  const seen: string[] = []
  c!.onReceive((bytes, from) => seen.push(`${from}${bytes[0]}`))
  for (let i = 0; i < 5; i++) {
    a!.send('c', Uint8Array.of(i))
    b!.send('c', Uint8Array.of(i))
  }
  t.deepEqual(seen, [], 'nothing is delivered synchronously')
  await turn()
  t.deepEqual(seen, ['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4', 'b4'])
  t.deepEqual({ ...net.stats }, { sent: 10, delivered: 10, dropped: 0 })
})

test('memory: an address is held until its endpoint closes, then can be bound again', async (t) => {
  const net = createMemoryNetwork()
  const a = net.endpoint('a')
  t.throws(() => net.endpoint('a'), { instanceOf: AddressInUseError })
  await a.close()
  const again = net.endpoint('a')
  t.is(again.address, 'a')
})

test('memory: with a clock, nothing moves until the clock runs', (t) => {
  const clock = new VirtualClock()
  const net = createMemoryNetwork({ clock })
  const a = net.endpoint('a')
  const b = net.endpoint('b')
  const seen: number[] = []
  b.onReceive((bytes) => seen.push(bytes[0]!))
  a.send('b', Uint8Array.of(7))
  t.deepEqual(seen, [])
  clock.runAll()
  t.deepEqual(seen, [7])
  t.is(clock.now(), 0, 'delivery takes no virtual time')
})

test('memory: a throwing handler does not lose the datagrams queued behind it', (t) => {
  const clock = new VirtualClock()
  const net = createMemoryNetwork({ clock })
  const a = net.endpoint('a')
  const b = net.endpoint('b')
  const seen: number[] = []
  b.onReceive((bytes) => {
    seen.push(bytes[0]!)
    if (bytes[0] === 1) throw new Error('handler bug')
  })
  for (let i = 0; i < 4; i++) a.send('b', Uint8Array.of(i))
  t.throws(() => clock.runAll(), { message: 'handler bug' })
  clock.runAll()
  t.deepEqual(seen, [0, 1, 2, 3])
  t.deepEqual({ ...net.stats }, { sent: 4, delivered: 4, dropped: 0 })
})
