/**
 * Failing seeds of `npm run bench -- sweep` (bench/sweep.ts; seeds ≤ 100 from the first run, the
 * rest from the 1 000-seed runs after suspicion and known peers), kept as fixed cases: one for each way
 * the sweep found the flock failing. The options are written out, so the cases stay put
 * when the sweep's mix generator changes. Each must end with no checker violation; `found` is what the
 * checker reported when the sweep found it (the protocol of the commit that added this file).
 */
import test from 'ava'
import { runSim, type SimOptions } from '../../actors/sim/simulator.js'

const CASES: Array<{ seed: number; found: string; options: SimOptions }> = [
  { seed: 8, found: 'islands (7 flocks among 19 live nodes after a 30 % crash), no-agreement', options: { nodes: 31, seed: 8, loss: 0.07, dup: 0.003, reorder: 0.02, seeded: 1, crash: { atHb: 20, fraction: 0.3 }, untilHb: 80 } },
  { seed: 18, found: 'live-removed ×6, list-lag, steady-state under 18 % loss', options: { nodes: 12, seed: 18, loss: 0.18, dup: 0.021, reorder: 0.047, seeded: 1, reboot: { atHb: 30, fraction: 0.75 }, untilHb: 90 } },
  { seed: 20, found: 'live-removed, then steady-state (agreement lost at HB 53 with no fault at all)', options: { nodes: 38, seed: 20, loss: 0.07, dup: 0.029, reorder: 0.053, untilHb: 60 } },
  { seed: 42, found: 'live-removed, islands (3 flocks 30 HB after the leader crashed), no-agreement', options: { nodes: 50, seed: 42, loss: 0.07, dup: 0.018, reorder: 0.092, seeded: 1, crashLeaderAtHb: 16, untilHb: 76 } },
  { seed: 84, found: 'islands ×2 (8 and 11 flocks among the 14 nodes of two partition groups)', options: { nodes: 42, seed: 84, loss: 0.06, dup: 0.021, reorder: 0.03, skewMs: 557, seeded: 1, partition: { atHb: 21, groups: 3, healHb: 61 }, untilHb: 121 } },
  { seed: 97, found: "list-lag at 30 % loss: a delta pull and its answer lost for 10 HB in a row (one try a heartbeat)", options: { nodes: 32, seed: 97, loss: 0.3, dup: 0.042, reorder: 0.063, seeded: 1, crash: { atHb: 23, fraction: 0.32 }, untilHb: 83 } },
  { seed: 715, found: "live-removed at 29 % loss: a member's loss estimate fell to 0.035 over 10 lucky check-ins and its window to 1.7 HB", options: { nodes: 41, seed: 715, loss: 0.29, dup: 0.001, reorder: 0.066, seeded: 1, crash: { atHb: 17, fraction: 0.16 }, untilHb: 77 } },
  { seed: 563, found: "islands since the start: the only link between two flocks died after both ping-backs to its probes were lost", options: { nodes: 35, seed: 563, loss: 0.08, dup: 0.012, reorder: 0.068, seeded: 1, crash: { atHb: 10, fraction: 0.27 }, untilHb: 70 } },
  { seed: 938, found: "list-lag after a reboot storm at 25 % loss: the lag was counted while the node was rebooting", options: { nodes: 17, seed: 938, loss: 0.25, dup: 0.014, reorder: 0.068, reboot: { atHb: 27, fraction: 0.52 }, untilHb: 87 } },
  { seed: 946, found: "live-removed at 27 % loss in formation: a new member judged its leader with no loss samples (window 1 HB)", options: { nodes: 27, seed: 946, loss: 0.27, dup: 0.04, reorder: 0.054, skewMs: 1863, untilHb: 60 } },
  { seed: 92, found: 'live-removed ×2 at 4 % loss: members gave up on a live leader after 3 lost check-ins', options: { nodes: 46, seed: 92, loss: 0.04, dup: 0.043, reorder: 0.027, seeded: 1, untilHb: 60 } },
]

for (const c of CASES) {
  test(`sweep seed ${c.seed} (found: ${c.found}) has no violation`, async (t) => {
    const s = await runSim(c.options)
    t.deepEqual(s.violations, [])
  })
}
