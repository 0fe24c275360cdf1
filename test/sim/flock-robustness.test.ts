/**
 * What real networks do to a flock, in the simulator (docs/PROTOCOL.md, "Suspicion" and "Known
 * peers"): the node everyone used as seed, or the leader, dies; a fifth of all datagrams are lost;
 * nodes find each other only by sparse random probing. Each case is a target of the flock-robustness
 * issue, on a few fixed seeds (the sweep benchmark runs many more: `npm run bench -- sweep`).
 */
import test from 'ava'
import { runSim, type SimOptions } from '../../actors/sim/simulator.js'
import type { FlockActor } from '../../actors/flock/flock.actor.js'

/** Live nodes' protocol counters summed, read at the end of a run. */
function counters(nodes: readonly FlockActor[]): { confirmed: number; startOvers: number } {
  let confirmed = 0
  let startOvers = 0
  for (const n of nodes) {
    if (!n.host.has(n.id)) continue
    confirmed += n.context().stats.confirmed
    startOvers += n.context().stats.startOvers
  }
  return { confirmed, startOvers }
}

// Seed 4 ended in 8 flocks before known peers; 9 and 13 once looped on the dead leader's name.
for (const seed of [1, 4, 9, 13]) {
  test(`N=30, one seed address each, 30 % crash (seed ${seed}): one flock again within 10 HB`, async (t) => {
    const s = await runSim({ nodes: 30, seed, seeded: 1, crash: { atHb: 20, fraction: 0.3 }, untilHb: 60 })
    t.deepEqual(s.violations, [])
    t.is(s.flocks, 1)
    t.true(s.agreed)
    t.true(s.settle_hb! <= 10, `one flock ${s.settle_hb} HB after the crash`)
  })
}

for (const seed of [2, 3]) {
  test(`the leader crashes, one seed address each (seed ${seed}): the others are one flock again within 10 HB`, async (t) => {
    const s = await runSim({ nodes: 20, seed, seeded: 1, crashLeaderAtHb: 20, untilHb: 60 })
    t.deepEqual(s.violations, [])
    t.true(s.agreed)
    t.true(s.settle_hb! <= 10, `re-agreed ${s.settle_hb} HB after the leader died`)
  })
}

for (const seed of [1, 2]) {
  test(`N=50 at 20 % loss, 5 % dup, 10 % reorder (seed ${seed}): no live member removed, no start-over, one flock throughout`, async (t) => {
    let firstAgreed: number | null = null
    let flocksAfter = 0
    let startOversAtAgreement = 0
    let end = { confirmed: 0, startOvers: 0 }
    const o: SimOptions = { nodes: 50, seed, seeded: 1, loss: 0.2, dup: 0.05, reorder: 0.1, untilHb: 200 }
    const s = await runSim({
      ...o,
      onHb: (hb, obs, nodes) => {
        if (firstAgreed === null && obs.agreed) {
          firstAgreed = hb
          startOversAtAgreement = counters(nodes).startOvers
        }
        if (firstAgreed !== null) flocksAfter = Math.max(flocksAfter, obs.flocks)
        if (hb === o.untilHb) end = counters(nodes)
      },
    })
    t.deepEqual(s.violations, [])
    t.not(firstAgreed, null)
    t.is(flocksAfter, 1)
    t.is(end.confirmed, 0, 'members removed by a confirmed suspicion')
    t.is(end.startOvers, startOversAtAgreement, 'members that gave up on a live leader')
    t.true(s.agreed)
  })
}

for (const seed of [1, 5, 6]) {
  test(`N=100 probing only, density 0.01, HB 500 ms, no seeds (seed ${seed}): agreed by HB 40`, async (t) => {
    const s = await runSim({ nodes: 100, seed, probeDensity: 0.01, hbMs: 500, untilHb: 60 })
    t.deepEqual(s.violations, [])
    t.true(s.agreed_hb !== null && s.agreed_hb <= 40, `agreed at HB ${s.agreed_hb}`)
  })
}

test('a dead member, no loss: out of every list within 4 HB of its death', async (t) => {
  // The crash lands as heartbeat 20 begins (virtual time 19 HB); the observation at HB h is taken at
  // time h HB, so a settle of k heartbeats means gone everywhere within k + 1 HB of the death.
  let leaderDied = true
  const s = await runSim({
    nodes: 30,
    seed: 5,
    crash: { atHb: 20, fraction: 0.05 },
    untilHb: 40,
    onHb: (hb, o) => {
      if (hb === 20) leaderDied = o.leaders === 0
    },
  })
  t.false(leaderDied, 'this seed must crash members, not the leader')
  t.deepEqual(s.violations, [])
  t.true(s.settle_hb! + 1 <= 4, `gone everywhere within ${s.settle_hb! + 1} HB`)
})
