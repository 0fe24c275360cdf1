/**
 * Pastiche in the simulator (`crux sim --blobs B`): seeded blobs fetched between the nodes over the
 * simulated network, under crashes, a partition and a corrupt peer; the pastiche checker's verdict, an
 * independent look at every live node's machine at the end, and determinism (same seed, same JSON and a
 * byte-identical trace that `crux replay` replays without divergence).
 */
import test from 'ava'
import type { FlockActor } from '../../../actors/flock/flock.actor.js'
import { runSim } from '../../../actors/sim/simulator.js'
import type { PasticheContext } from '../../../machines/pastiche/types.js'
import { crux, simTwice, tempDir } from '../../fixtures/sim-cli.js'

const BASE = ['--nodes', '12', '--services', '2', '--delay', '10-120', '--crash', '3:0.15', '--partition', '4:2:8', '--seed', '4']
const FAULTY = [...BASE, '--blobs', '12', '--corrupt-peers', '1']

test('crash + partition + a corrupt peer: every holding held intact, bad ranges found, same seed → same JSON and a byte-identical trace that replays', (t) => {
  const dir = tempDir(t, 'crux-pastiche-sim-')
  const { a, trace } = simTwice(t, dir, FAULTY)
  t.deepEqual(a.violations, [])
  const p = a.pastiche
  t.deepEqual(p.violations, [])
  t.like(p, { blobs: 12, wanted: 36, unservable: 0 })
  t.is(p.fetched, 36, 'every holding fetched')
  t.true(p.bad_ranges > 0, 'the corrupt peer was caught')
  t.true(p.bad_assemblies > 0)
  t.true(p.done_hb_max <= 30)
  const replay = crux('replay', trace, '--json')
  t.is(replay.status, 0, replay.stdout + replay.stderr)
  t.false(JSON.parse(replay.stdout).diverged)
  const text = crux('sim', ...FAULTY)
  t.regex(text.stdout, /^pastiche: 12 blobs, 36 holdings, 36 fetched, \d+ bad range\(s\), each holding held within \d+ HB; 0 violation\(s\)$/m)
})

test('the blobs change nothing else in a run: the flock and strew figures are those of the same run without them', (t) => {
  const run = (args: string[]) => JSON.parse(crux('sim', ...args, '--until-hb', '30', '--json').stdout)
  const without = run(BASE)
  const withBlobs = run(FAULTY)
  t.is(without.pastiche, undefined)
  t.deepEqual(withBlobs.pastiche.violations, [])
  const pick = (s: any) => ({ agreed_hb: s.agreed_hb, packets: s.packets, bytes: s.bytes, strew: s.strew })
  t.deepEqual(pick(withBlobs), pick(without))
})

test('long delays and crashes mid-transfer: failed ranges are retried elsewhere; at the end every live node holds every holding some live honest node can serve', async (t) => {
  // The live nodes' machines at the last heartbeat (the hosts are closed once the run ends).
  let last: PasticheContext[] = []
  const machines = (nodes: readonly FlockActor[]) =>
    nodes.flatMap((n) => {
      try {
        return [structuredClone(n.host.state(`${n.context().me.id}/pastiche`).context as PasticheContext)]
      } catch {
        return [] // crashed: its host is closed
      }
    })
  const s = await runSim({ nodes: 20, seed: 1, blobs: 40, delay: [100, 400], crash: { atHb: 3, fraction: 0.2 }, partition: { atHb: 5, groups: 2, healHb: 9 }, onHb: (_hb, _o, nodes) => void (last = machines(nodes)) })
  const p = s.pastiche!
  t.deepEqual(p.violations, [])
  t.true(p.failed_ranges > 0, 'some transfers broke')
  // Independently of the checker: the machines of the live nodes.
  let open = 0
  let held = 0
  t.true(last.length > 0 && last.length < 20, 'some nodes crashed')
  for (const ctx of last) {
    for (const w of Object.values(ctx.wants)) {
      if (w.phase === 'held') {
        held++
        t.true(ctx.pinned[w.hash], 'a held holding is pinned')
      } else open++
    }
  }
  t.is(open, p.unservable, 'what is not held is exactly what nobody live could serve')
  t.true(held > 0)
})

test('usage: --corrupt-peers needs --blobs; a bad --blobs is a usage error', (t) => {
  const r = crux('sim', '--nodes', '3', '--corrupt-peers', '1')
  t.is(r.status, 2)
  t.is(r.stderr, 'crux: --corrupt-peers needs --blobs\n')
  const bad = crux('sim', '--nodes', '3', '--blobs', 'x')
  t.is(bad.status, 2)
  t.regex(bad.stderr, /^crux: --blobs must be an integer/)
})
