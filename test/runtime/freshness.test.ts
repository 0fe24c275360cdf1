import test from 'ava'
import { FreshnessGuard } from '../../runtime/freshness.js'

const T0 = 1_700_000_000_000

test('a (time, nonce) is taken once, within the skew, and not from before the guard started', (t) => {
  const g = new FreshnessGuard({ since: T0, skewMs: 1_000 })
  t.is(g.take(T0 + 10, 'a', T0 + 20), null)
  t.is(g.take(T0 + 10, 'a', T0 + 30), 'replayed')
  t.is(g.take(T0 + 10, 'b', T0 + 1_011), 'stale', 'older than the skew')
  t.is(g.take(T0 + 2_100, 'c', T0 + 1_000), 'stale', 'from further ahead than the skew')
  t.is(g.take(T0 - 1, 'd', T0 + 10), 'early', 'sealed before we started: a previous incarnation may have taken it')
  t.is(g.take(Number.NaN, 'e', T0), 'stale')
})

test('nonces are forgotten after twice the skew, never before; when full, requests are refused until some expire', (t) => {
  const g = new FreshnessGuard({ since: T0, skewMs: 1_000, maxNonces: 2 })
  t.is(g.take(T0, 'a', T0), null)
  t.is(g.take(T0 + 500, 'b', T0 + 500), null)
  t.is(g.take(T0 + 600, 'c', T0 + 600), 'busy', 'fail closed')
  t.is(g.remembered, 2)
  // 'a' stays until T0 + 2 000: a copy sealed at T0 with a clock 1 000 behind is still in the window at T0 + 1 999.
  t.is(g.take(T0 + 999, 'a', T0 + 1_999), 'replayed')
  t.is(g.take(T0 + 1_500, 'c', T0 + 2_000), null, "'a' expired, room for 'c'")
  t.is(g.remembered, 2)
})
