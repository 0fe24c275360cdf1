/**
 * The simulation suite over a fixed list of seeds: the real flock machines on the virtual clock and
 * SimNetwork. Each case asserts agreement (one flock, one leader, identical member lists naming
 * exactly the live nodes) within a bound of heartbeats, and that the history checker, which every
 * run carries, found no violation.
 */
import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runSim } from '../../actors/sim/simulator.js'

const SEEDS = [1, 2, 3]

for (const seed of SEEDS) {
  test(`N=10 agrees (seed ${seed})`, async (t) => {
    const s = await runSim({ nodes: 10, seed })
    t.true(s.agreed)
    t.deepEqual(s.violations, [])
    t.true(s.agreed_hb! <= 20, `agreed at HB ${s.agreed_hb}`)
  })

  test(`N=100 agrees (seed ${seed})`, async (t) => {
    const s = await runSim({ nodes: 100, seed })
    t.true(s.agreed)
    t.deepEqual(s.violations, [])
    t.true(s.agreed_hb! <= 25, `agreed at HB ${s.agreed_hb}`)
  })

  test(`N=100 agrees under 10 % loss (seed ${seed})`, async (t) => {
    const s = await runSim({ nodes: 100, seed, loss: 0.1 })
    t.true(s.agreed)
    t.deepEqual(s.violations, [])
    t.true(s.agreed_hb! <= 45, `agreed at HB ${s.agreed_hb}`)
  })
}

for (const fraction of [0.1, 0.5, 0.9]) {
  test(`reboot storm of ${fraction * 100} % at N=100 re-agrees`, async (t) => {
    const s = await runSim({ nodes: 100, seed: 5, reboot: { atHb: 20, fraction } })
    t.true(s.agreed)
    t.deepEqual(s.violations, [])
    t.true(s.settle_hb! <= 15, `re-agreed ${s.settle_hb} HB after the storm`)
  })
}

test('a partition into halves: one leader per half; heal → one flock, one leader', async (t) => {
  let split: { leaders: number; lists: number; smallestList: number } | null = null
  const s = await runSim({
    nodes: 40,
    seed: 2,
    partition: { atHb: 20, groups: 2, healHb: 60 },
    onHb: (hb, o) => {
      if (hb === 59) split = o
    },
  })
  t.like(split, { leaders: 2, lists: 2, smallestList: 20 })
  t.true(s.agreed)
  t.deepEqual(s.violations, [])
  t.is(s.flocks, 1)
  t.is(s.leaders, 1)
  t.true(s.settle_hb! <= 10, `merged ${s.settle_hb} HB after the heal`)
})

test('leader crash → exactly one new leader', async (t) => {
  let before = ''
  let after = ''
  const s = await runSim({
    nodes: 30,
    seed: 3,
    crashLeaderAtHb: 25,
    onHb: (hb, o, nodes) => {
      const leader = nodes.find((n) => n.host.has(n.id) && n.context().leader.id === n.context().me.id)
      if (hb === 24) before = leader?.context().me.id ?? ''
      if (o.agreed && hb > 25) after = leader?.context().me.id ?? ''
    },
  })
  t.true(s.agreed)
  t.deepEqual(s.violations, [])
  t.is(s.leaders, 1)
  t.truthy(before)
  t.truthy(after)
  t.not(after, before)
})

test('±2 s of clock skew changes nothing', async (t) => {
  const plain = await runSim({ nodes: 50, seed: 4 })
  const skewed = await runSim({ nodes: 50, seed: 4, skewMs: 2000 })
  t.true(skewed.agreed)
  t.deepEqual(skewed.violations, [])
  t.true(Math.abs(skewed.agreed_hb! - plain.agreed_hb!) <= 3, `${plain.agreed_hb} vs ${skewed.agreed_hb}`)
})

test('the same seed twice → identical trace_sha256; another seed → another', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-sim-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const run = (seed: number, name: string) => runSim({ nodes: 20, seed, loss: 0.05, dup: 0.05, reorder: 0.1, trace: join(dir, name) })
  const a = await run(9, 'a.ndjson')
  const b = await run(9, 'b.ndjson')
  const c = await run(10, 'c.ndjson')
  t.truthy(a.trace_sha256)
  t.is(a.trace_sha256, b.trace_sha256)
  t.not(a.trace_sha256, c.trace_sha256)
})

test('without list sync (only the leader holds the list) N=300 agrees, and members hold no copy', async (t) => {
  let copies = -1
  const s = await runSim({
    nodes: 300,
    seed: 7,
    seeded: 1,
    config: { listSync: false },
    onHb: (_hb, _o, nodes) => {
      copies = nodes.filter((n) => n.context().leader.id !== n.context().me.id && n.context().list.size > 0).length
    },
  })
  t.true(s.agreed)
  t.deepEqual(s.violations, [])
  t.is(copies, 0)
})
