/**
 * The wrong-secret warning's limiter on a virtual clock: one warning per peer per minute, a bounded
 * number in all, bounded memory under a flood of addresses.
 */
import test from 'ava'
import { likelyCause, unopenableWarner, WarnLimiter } from '../../../actors/flock/unopenable-warning.js'
import { VirtualClock } from '../../../runtime/clock.js'
import { MemoryDestination } from '../../../runtime/memory-destination.js'
import { createWalrus } from '../../../runtime/walrus.js'

test('one warning per source per minute, whatever arrives meanwhile', (t) => {
  const clock = new VirtualClock(1_000)
  const l = new WarnLimiter()
  const said: Array<[number, string]> = []
  // Two peers, one datagram each every 200 ms for 3 minutes.
  for (let i = 0; i < 900; i++) {
    for (const peer of ['10.0.0.1:23123', '10.0.0.2:23123']) if (l.take(peer, clock.now()) !== null) said.push([clock.now(), peer])
    clock.advance(200)
  }
  t.deepEqual(said, [
    [1_000, '10.0.0.1:23123'],
    [1_000, '10.0.0.2:23123'],
    [61_000, '10.0.0.1:23123'],
    [61_000, '10.0.0.2:23123'],
    [121_000, '10.0.0.1:23123'],
    [121_000, '10.0.0.2:23123'],
  ])
})

test('a flood from many addresses: at most maxPerWindow warnings a window, the rest counted and said next, memory bounded', (t) => {
  const l = new WarnLimiter({ maxPerWindow: 3, maxSources: 5 })
  const said: Array<{ suppressed: number } | null> = []
  for (let i = 0; i < 10; i++) said.push(l.take(`10.0.1.${i}:1`, 0))
  t.deepEqual(said.filter((s) => s !== null), [{ suppressed: 0 }, { suppressed: 0 }, { suppressed: 0 }])
  t.deepEqual(l.take('10.0.2.1:1', 60_000), { suppressed: 7 }, 'the next window says how many were held back')
  for (let i = 0; i < 100; i++) l.take(`10.0.3.${i}:1`, 120_000 + i * 60_000)
  t.true(l.size <= 5, `sources remembered: ${l.size}`)
})

test('the warner logs the peer, the reason and the likely cause, on the clock it is given', (t) => {
  const out = new MemoryDestination()
  const clock = new VirtualClock(5_000)
  const warn = unopenableWarner(clock, createWalrus({ destination: out, clock }))
  warn('127.0.0.9:23123', 'tag')
  warn('127.0.0.9:23123', 'tag')
  warn('127.0.0.8:23123', 'cert')
  clock.advance(59_999)
  warn('127.0.0.9:23123', 'tag')
  clock.advance(1)
  warn('127.0.0.9:23123', 'tag')
  const lines = out.lines()
  t.deepEqual(lines.map((l) => [l['level'], l['peer'], l['reason'], l['time']]), [
    [40, '127.0.0.9:23123', 'tag', 5_000],
    [40, '127.0.0.8:23123', 'cert', 5_000],
    [40, '127.0.0.9:23123', 'tag', 65_000],
  ])
  t.is(lines[0]!['cause'], likelyCause('tag'))
  t.regex(likelyCause('tag'), /another flock secret/)
  t.regex(likelyCause('cert'), /another bloc CA/)
})
