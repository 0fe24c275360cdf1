/**
 * A small sample of the sweep (bench/sweep.ts), as CI runs it: ten seeds of mixed faults at N ≤ 20,
 * and not one violation of the history checker. To repeat a failing seed: its `command` in the message.
 */
import test from 'ava'
import { sweepSeed } from '../../bench/sweep.js'

for (let seed = 1; seed <= 10; seed++) {
  test(`sweep seed ${seed} (N ≤ 20) has no violation`, async (t) => {
    const r = await sweepSeed(seed, 20)
    t.deepEqual(r.violations, [], r.command ?? JSON.stringify(r.options))
  })
}
