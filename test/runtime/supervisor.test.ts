import test from 'ava'
import { Supervisor } from '../../runtime/supervisor.js'

test('backoff doubles per restart within the window, capped', (t) => {
  const s = new Supervisor({ maxRestarts: 10, windowMs: 1_000_000, backoffBaseMs: 100, backoffMaxMs: 1000, factor: 2 })
  const delays: number[] = []
  for (let i = 0; i < 6; i++) {
    const d = s.onFailure(i * 10)
    if (d.action === 'restart') delays.push(d.delayMs)
  }
  t.deepEqual(delays, [100, 200, 400, 800, 1000, 1000])
})

test('gives up past max restarts in the window', (t) => {
  const s = new Supervisor({ maxRestarts: 3, windowMs: 10_000, backoffBaseMs: 10, backoffMaxMs: 1000, factor: 2 })
  t.is(s.onFailure(0).action, 'restart')
  t.is(s.onFailure(100).action, 'restart')
  t.is(s.onFailure(200).action, 'restart')
  t.deepEqual(s.onFailure(300), { action: 'give-up', restartsInWindow: 3 })
})

test('restarts older than the window are forgotten, resetting the backoff', (t) => {
  const s = new Supervisor({ maxRestarts: 2, windowMs: 1000, backoffBaseMs: 50, backoffMaxMs: 5000, factor: 3 })
  t.deepEqual(s.onFailure(0), { action: 'restart', delayMs: 50, attempt: 1 })
  t.deepEqual(s.onFailure(500), { action: 'restart', delayMs: 150, attempt: 2 })
  t.is(s.onFailure(900).action, 'give-up')
  t.deepEqual(s.onFailure(1600), { action: 'restart', delayMs: 50, attempt: 1 })
  t.is(s.total, 3)
})

test('an invalid policy is refused', (t) => {
  t.throws(() => new Supervisor({ backoffBaseMs: 100, backoffMaxMs: 10 }), { instanceOf: RangeError })
  t.throws(() => new Supervisor({ factor: 0.5 }), { instanceOf: RangeError })
})
