import test from 'ava'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { Rng } from '../../runtime/rng.js'
import { type Faults, SimNetwork, type SimStats } from '../../runtime/sim-network.js'
import type { Transport } from '../../runtime/transport.js'

interface Delivery {
  at: number
  from: string
  to: string
  bytes: string
}

/** A network with endpoints n0..n{count-1}, each recording what it receives. */
function world(count: number, seed: number | string, faults: Partial<Faults> = {}) {
  const net = new SimNetwork({ seed, faults })
  const log: Delivery[] = []
  const eps = new Map<string, Transport>()
  for (let i = 0; i < count; i++) {
    const ep = net.endpoint(`n${i}`)
    ep.onReceive((bytes, from) => log.push({ at: net.clock.now(), from, to: ep.address, bytes: Buffer.from(bytes).toString('hex') }))
    eps.set(ep.address, ep)
  }
  const send = (from: string, to: string, bytes: Uint8Array = Uint8Array.of(0)): void => eps.get(from)!.send(to, bytes)
  return { net, log, eps, send }
}

/** sent + duplicated = delivered + dropped + in flight, and the drop reasons add up. */
function assertBalanced(t: { is(a: unknown, b: unknown, m?: string): void }, s: SimStats): void {
  const d = s.dropped
  t.is(d.loss + d.partition + d.crash + d.closed + d.unknown, d.total, 'drop reasons sum to the total')
  t.is(s.sent + s.duplicated, s.delivered + d.total + s.inFlight, 'every copy is delivered, dropped or in flight')
}

const ALL_FAULTS: Partial<Faults> = { loss: 0.1, duplicate: 0.05, reorder: 0.1, delay: [1, 30], reorderDelay: [1, 20] }

/** Thousands of sends at traffic-chosen times, with a partition and a crash on the way. */
function scenario(seed: number): { log: Delivery[]; stats: SimStats } {
  const { net, log, send } = world(20, seed, ALL_FAULTS)
  const traffic = new Rng('traffic') // the same sends for every network seed
  for (let i = 0; i < 5000; i++) {
    if (i === 1500) net.partition([['n0', 'n1', 'n2'], ['n3', 'n4']])
    if (i === 2500) net.heal()
    if (i === 3000) net.crash('n5')
    if (i === 3500) net.restart('n5')
    send(`n${traffic.int(20)}`, `n${traffic.int(20)}`, Uint8Array.of(i >> 8, i & 0xff, traffic.int(256)))
    net.clock.advance(traffic.int(3))
  }
  net.clock.runAll()
  return { log, stats: net.stats() }
}

test('the same seed and the same sends give the identical delivery sequence', (t) => {
  const a = scenario(7)
  const b = scenario(7)
  t.true(a.log.length > 3000)
  t.deepEqual(a.log, b.log)
  t.deepEqual(a.stats, b.stats)
  const s = a.stats
  t.true(s.dropped.loss > 0 && s.dropped.partition > 0 && s.dropped.crash > 0 && s.duplicated > 0 && s.reordered > 0)
})

test('another seed gives a different delivery sequence', (t) => {
  t.notDeepEqual(scenario(7).log, scenario(8).log)
})

test('a fault at probability 0 draws nothing: the run equals one without that setting', (t) => {
  const run = (faults: Partial<Faults>) => {
    const { net, log, send } = world(3, 1, faults)
    for (let i = 0; i < 300; i++) send(`n${i % 3}`, `n${(i + 1) % 3}`, Uint8Array.of(i & 0xff))
    net.clock.runAll()
    return log
  }
  t.deepEqual(run({ delay: [1, 9], reorder: 0.2 }), run({ delay: [1, 9], reorder: 0.2, loss: 0, duplicate: 0 }))
})

/** Asserts `count` is within 4 standard deviations of a Binomial(n, p) mean. */
function withinFourSigma(t: { true(v: boolean, m?: string): void }, count: number, n: number, p: number): void {
  const mean = n * p
  const sigma = Math.sqrt(n * p * (1 - p))
  t.true(Math.abs(count - mean) <= 4 * sigma, `${count} is not within ${mean} ± ${(4 * sigma).toFixed(1)}`)
}

test('loss rate is within statistical bounds', (t) => {
  const { net, log, send } = world(2, 'loss', { loss: 0.1 })
  for (let i = 0; i < 20_000; i++) send('n0', 'n1')
  net.clock.runAll()
  const s = net.stats()
  withinFourSigma(t, s.dropped.loss, 20_000, 0.1)
  t.is(log.length, 20_000 - s.dropped.loss)
  t.is(s.dropped.total, s.dropped.loss)
})

test('duplication rate is within statistical bounds, and a copy is the same datagram', (t) => {
  const { net, log, send } = world(2, 'dup', { duplicate: 0.1, delay: [1, 5] })
  for (let i = 0; i < 20_000; i++) send('n0', 'n1', Uint8Array.of(i >> 8, i & 0xff))
  net.clock.runAll()
  const s = net.stats()
  withinFourSigma(t, s.duplicated, 20_000, 0.1)
  t.is(log.length, 20_000 + s.duplicated)
  t.is(new Set(log.map((d) => d.bytes)).size, 20_000, 'only whole copies of sent datagrams arrive')
  t.true(log.every((d) => d.from === 'n0'))
})

test('a partition blocks traffic between groups, and heal restores it', (t) => {
  const { net, log, send } = world(5, 1)
  net.partition([['n0', 'n1'], ['n2', 'n3']]) // n4 is in no group
  for (const [a, b] of [['n0', 'n1'], ['n2', 'n3'], ['n0', 'n2'], ['n3', 'n1'], ['n4', 'n0'], ['n1', 'n4'], ['n4', 'n4']] as const) send(a, b)
  net.clock.runAll()
  t.deepEqual(log.map((d) => `${d.from}>${d.to}`), ['n0>n1', 'n2>n3', 'n4>n4'])
  t.is(net.stats().dropped.partition, 4)
  net.heal()
  send('n0', 'n2')
  send('n4', 'n1')
  net.clock.runAll()
  t.deepEqual(log.slice(3).map((d) => `${d.from}>${d.to}`), ['n0>n2', 'n4>n1'])
})

test('a packet in flight across a new partition is dropped when it lands', (t) => {
  const { net, log, send } = world(2, 1, { delay: 10 })
  send('n0', 'n1')
  net.clock.advance(5)
  net.partition([['n0'], ['n1']])
  net.clock.runAll()
  t.is(log.length, 0)
  t.is(net.stats().dropped.partition, 1)
})

test('partition rejects an address in two groups', (t) => {
  const { net } = world(2, 1)
  t.throws(() => net.partition([['n0', 'n1'], ['n1']]), { instanceOf: InvalidArgumentError })
})

test('a crashed node neither sends nor receives, packets in flight to it are lost, restart resumes', (t) => {
  const { net, log, send } = world(2, 1, { delay: 10 })
  send('n0', 'n1', Uint8Array.of(1)) // lands at 10
  net.clock.advance(5)
  net.crash('n1')
  t.true(net.isCrashed('n1'))
  send('n0', 'n1', Uint8Array.of(2))
  send('n1', 'n0', Uint8Array.of(3))
  net.clock.advance(2)
  net.restart('n1') // before the first packet lands: it was sent to the incarnation that crashed
  net.clock.runAll()
  t.is(log.length, 0)
  t.is(net.stats().dropped.crash, 3)
  send('n0', 'n1', Uint8Array.of(4))
  send('n1', 'n0', Uint8Array.of(5))
  net.clock.runAll()
  t.deepEqual(log.map((d) => d.bytes), ['04', '05'], 'the endpoint and its handler survive the crash')
  assertBalanced(t, net.stats())
})

test('delays stay within the configured range and cover it', (t) => {
  const { net, log, send } = world(2, 3, { delay: [5, 15] })
  const sentAt = new Map<string, number>()
  for (let i = 0; i < 2000; i++) {
    const bytes = Uint8Array.of(i >> 8, i & 0xff)
    sentAt.set(Buffer.from(bytes).toString('hex'), net.clock.now())
    send('n0', 'n1', bytes)
    net.clock.advance(1)
  }
  net.clock.runAll()
  const delays = new Set(log.map((d) => d.at - sentAt.get(d.bytes)!))
  t.deepEqual([...delays].sort((a, b) => a - b), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
})

test('a fixed delay is exact, and packets landing together land in send order', (t) => {
  const { net, log, send } = world(3, 1, { delay: 3 })
  for (let i = 0; i < 50; i++) send(`n${i % 2}`, 'n2', Uint8Array.of(i))
  net.clock.runAll()
  t.true(log.every((d) => d.at === 3))
  t.deepEqual(log.map((d) => parseInt(d.bytes, 16)), [...Array(50).keys()])
})

test('fractional delay ranges draw within bounds', (t) => {
  const { net, log, send } = world(2, 1, { delay: [0.5, 1.5] })
  for (let i = 0; i < 500; i++) send('n0', 'n1')
  net.clock.runAll()
  t.true(log.every((d) => d.at >= 0.5 && d.at <= 1.5))
  t.true(new Set(log.map((d) => d.at)).size > 100)
})

test('reordering makes later packets overtake earlier ones, and loses none', (t) => {
  const { net, log, send } = world(2, 5, { delay: 5, reorder: 0.2, reorderDelay: [2, 10] })
  for (let i = 0; i < 1000; i++) {
    send('n0', 'n1', Uint8Array.of(i >> 8, i & 0xff))
    net.clock.advance(1)
  }
  net.clock.runAll()
  const order = log.map((d) => parseInt(d.bytes, 16))
  t.is(order.length, 1000)
  const overtaken = order.filter((v, i) => i > 0 && v < order[i - 1]!).length
  t.true(overtaken > 50, `only ${overtaken} inversions`)
  withinFourSigma(t, net.stats().reordered, 1000, 0.2)
  t.true(log.every((d) => d.at - parseInt(d.bytes, 16) >= 5 && d.at - parseInt(d.bytes, 16) <= 15))
})

test('clock skew shows in clockFor(x).now(), and durations are unaffected', (t) => {
  const { net } = world(2, 1)
  const c0 = net.clockFor('n0')
  t.is(net.clockFor('n0'), c0, 'the same clock object every time')
  net.setSkew('n0', 250)
  net.setSkew('n1', -40)
  net.clock.advance(1000)
  t.is(c0.now(), 1250)
  t.is(net.clockFor('n1').now(), 960)
  t.is(net.clockFor('n2').now(), 1000, 'an unskewed node reads the network time')
  let firedAt = -1
  c0.schedule(100, () => (firedAt = c0.now()))
  net.clock.runAll()
  t.is(firedAt, 1350)
  t.throws(() => net.setSkew('n0', Number.NaN), { instanceOf: InvalidArgumentError })
})

test('per-link faults override the global ones; clearLink restores them', (t) => {
  const { net, log, send } = world(3, 1, { delay: 2 })
  net.setLink('n0', 'n1', { loss: 1 })
  net.setLink('n0', 'n2', { delay: 50 }, { oneWay: true })
  send('n0', 'n1')
  send('n1', 'n0')
  send('n0', 'n2')
  send('n2', 'n0')
  net.clock.runAll()
  t.deepEqual(log.map((d) => `${d.from}>${d.to}@${d.at}`), ['n2>n0@2', 'n0>n2@50'])
  net.configure({ delay: 7 }) // the global change reaches the fields a link did not set
  net.clearLink('n0', 'n2')
  const t0 = net.clock.now()
  send('n0', 'n1')
  send('n0', 'n2')
  net.clock.runAll()
  t.deepEqual(log.slice(2).map((d) => `${d.from}>${d.to}@${d.at - t0}`), ['n0>n2@7'])
  t.is(net.stats().dropped.loss, 3)
})

test('invalid settings are rejected', (t) => {
  const net = new SimNetwork({ seed: 1 })
  t.throws(() => net.configure({ loss: 1.5 }), { instanceOf: InvalidArgumentError })
  t.throws(() => net.configure({ delay: [5, 1] }), { instanceOf: InvalidArgumentError })
  t.throws(() => net.configure({ delay: -1 }), { instanceOf: InvalidArgumentError })
  t.throws(() => net.configure({ los: 0.1 } as unknown as Partial<Faults>), { instanceOf: InvalidArgumentError })
  t.throws(() => new SimNetwork({ seed: 1, faults: { duplicate: Number.NaN } }), { instanceOf: InvalidArgumentError })
  t.deepEqual(net.faults.loss, 0, 'a rejected change leaves the settings alone')
})

test('unknown and closed destinations are counted apart', async (t) => {
  const { net, eps, send } = world(2, 1, { delay: 5 })
  send('n0', 'nobody')
  send('n0', 'n1') // in flight while n1 closes
  await eps.get('n1')!.close()
  send('n0', 'n1')
  net.clock.runAll()
  const d = net.stats().dropped
  t.is(d.unknown, 1)
  t.is(d.closed, 2)
})

test('counters add up, mid-flight and at rest, with every fault on', (t) => {
  const { net, log, eps, send } = world(10, 'count', ALL_FAULTS)
  const traffic = new Rng(99)
  let bytesSeen = 0
  for (const ep of eps.values()) {
    ep.onReceive((bytes) => {
      bytesSeen += bytes.length
      log.push({ at: 0, from: '', to: '', bytes: '' })
    })
  }
  for (let i = 0; i < 10_000; i++) {
    if (i === 2000) net.partition([['n0', 'n1', 'n2', 'n3', 'n4'], ['n5', 'n6', 'n7', 'n8']])
    if (i === 4000) net.crash('n3')
    if (i === 5000) void eps.get('n9')!.close()
    if (i === 6000) net.heal()
    if (i === 8000) net.restart('n3')
    const from = `n${traffic.int(9)}`
    const to = traffic.chance(0.01) ? 'nowhere' : `n${traffic.int(10)}`
    send(from, to, new Uint8Array(1 + traffic.int(100)))
    if (i % 10 === 0) net.clock.advance(1)
    if (i === 7000) {
      const mid = net.stats()
      t.true(mid.inFlight > 0)
      assertBalanced(t, mid)
    }
  }
  net.clock.runAll()
  const s = net.stats()
  assertBalanced(t, s)
  t.is(s.inFlight, 0)
  t.is(s.delivered, log.length)
  t.is(s.bytesDelivered, bytesSeen)
  for (const reason of ['loss', 'partition', 'crash', 'closed', 'unknown'] as const) t.true(s.dropped[reason] > 0, reason)
})

test('a throwing handler does not lose the packets landing with it', (t) => {
  const { net, log, eps, send } = world(2, 1, { delay: 2 })
  eps.get('n1')!.onReceive((bytes) => {
    log.push({ at: net.clock.now(), from: '', to: '', bytes: String(bytes[0]) })
    if (bytes[0] === 1) throw new Error('handler bug')
  })
  for (let i = 0; i < 4; i++) send('n0', 'n1', Uint8Array.of(i))
  t.throws(() => net.clock.runAll(), { message: 'handler bug' })
  net.clock.runAll()
  t.deepEqual(log.map((d) => `${d.bytes}@${d.at}`), ['0@2', '1@2', '2@2', '3@2'])
  assertBalanced(t, net.stats())
  t.is(net.stats().inFlight, 0)
})

test('zero-delay replies sent while landing go out on a later timer of the same instant', (t) => {
  const net = new SimNetwork({ seed: 1, faults: { delay: 0 } })
  const a = net.endpoint('a')
  const b = net.endpoint('b')
  const seen: string[] = []
  const bounce = (self: Transport) => (bytes: Uint8Array, from: string) => {
    seen.push(`${self.address}${bytes[0]}`)
    if (bytes[0]! < 5) self.send(from, Uint8Array.of(bytes[0]! + 1))
  }
  a.onReceive(bounce(a))
  b.onReceive(bounce(b))
  a.send('b', Uint8Array.of(0))
  net.clock.schedule(0, () => seen.push('timer'))
  net.clock.runAll()
  t.deepEqual(seen, ['b0', 'timer', 'a1', 'b2', 'a3', 'b4', 'a5'])
  t.is(net.clock.now(), 0)
})
