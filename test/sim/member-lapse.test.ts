/**
 * How long a dead member stays on the lists, on the virtual clock: the bound that
 * test/integration/fulcrum.test.ts used to assert in wall-clock milliseconds (where a loaded machine
 * decides the figure as much as the protocol does). Here nothing but the protocol moves the figure;
 * the real-process figure is `npm run bench -- converge` (detect_s).
 *
 * The protocol (machines/flock/constants.ts): a member lapses 3.25 HB after its last beat, which came
 * 0–1 HB before it died; the leader prunes every ½ HB and checks in within ¼ HB of a list change,
 * and the members pull the change at once. So the leader drops it no sooner than 2.25 HB after the
 * death (a live member must miss two beats in a row), and every list is rid of it within 4 HB, plus
 * the network's few milliseconds.
 */
import test from 'ava'
import { createFlockActor, type FlockActor } from '../../actors/flock/flock.actor.js'
import { observe } from '../../actors/flock/observe.js'
import { SimNetwork } from '../../runtime/sim-network.js'

const HB = 1000
/** The simulated network's delay is 1–5 ms a packet; a pull and its answer cross it twice more. */
const NETWORK_SLACK_MS = 20

/**
 * `n` fulcrums on a simulated network (1–5 ms a packet, nothing lost), run until they agree and then
 * 10 HB more (the flock is stable); a member (not the leader) is then crashed. Returns when the first
 * survivor dropped it and when the last one did, in HB after the crash (polled every 5 virtual ms).
 */
function killAMember(n: number, seed: number): { first: number; last: number } {
  const net = new SimNetwork({ seed, faults: { delay: [1, 5] } })
  const addrs = Array.from({ length: n }, (_, i) => `n${i}`)
  const nodes: FlockActor[] = addrs.map((addr) =>
    createFlockActor(
      { transport: net.endpoint(addr), clock: net.clockFor(addr) },
      { node: addr, input: { self: { addr }, config: { hbMs: HB }, probe: { seeds: [], ranges: [{ kind: 'names', prefix: 'n', from: 0, to: n - 1 }], density: 1 }, seed: `${seed}:${addr}` } },
    ),
  )
  try {
    const dead = new Set<number>()
    for (let hb = 1; !observe(nodes, dead).agreed; hb++) {
      if (hb > 60) throw new Error(`${n} nodes (seed ${seed}) did not agree within 60 HB`)
      net.clock.runUntil(hb * HB)
    }
    net.clock.runUntil(net.clock.now() + 10 * HB)
    const i = nodes.findIndex((f) => f.context().leader.id !== f.context().me.id)
    const victim = nodes[i]!.context().me.id
    const killedAt = net.clock.now()
    net.crash(addrs[i]!)
    nodes[i]!.host.close()
    dead.add(i)
    const survivors = nodes.filter((_, k) => k !== i)
    let first: number | null = null
    for (let now = killedAt; now <= killedAt + 10 * HB; now += 5) {
      net.clock.runUntil(now)
      const listing = survivors.filter((f) => victim in f.context().list.entries).length
      if (listing < survivors.length) first ??= now
      if (listing === 0) return { first: ((first ?? now) - killedAt) / HB, last: (now - killedAt) / HB }
    }
    throw new Error(`the dead member ${victim} was still listed 10 HB after the crash (seed ${seed})`)
  } finally {
    for (const f of nodes) f.host.close()
  }
}

for (const n of [5, 20]) {
  test(`${n} fulcrums: a crashed member stays listed at least 2.25 HB and is gone from every list within 4 HB`, (t) => {
    const runs = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => killAMember(n, seed))
    t.log(runs.map((r) => `${r.first.toFixed(2)}–${r.last.toFixed(2)}`).join(', '), 'HB (first survivor dropped it – every survivor had)')
    for (const r of runs) {
      t.true(r.first >= 2.25, `dropped ${r.first} HB after the crash: a live member missing two beats would be dropped too`)
      t.true(r.last <= 4 + NETWORK_SLACK_MS / HB, `still listed somewhere ${r.last} HB after the crash`)
    }
  })
}
