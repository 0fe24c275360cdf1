/**
 * The picket checker on hand-made histories: a crash restarted in time and a hung process killed in
 * time pass; a hung process killed late (or never), a service run twice at once, a late restart, a
 * failed bundle run again, a running service missing from its catalog and a crashed node's process
 * beating are each reported; and the seeded plan is a function of its seed with every kind in it.
 */
import test from 'ava'
import { PicketChecker, type PicketNodeView, type PicketServiceView } from '../../../actors/sim/picket-check.js'
import { EVENT_GAP_HB, planPicket } from '../../../actors/sim/picket-plan.js'

const HB = 1000
const TTL = 3 * HB
const config = { backoffMinMs: 250, backoffMaxMs: 8000 }
const checker = () => new PicketChecker(HB, config)

const svc = (o: Partial<PicketServiceView> = {}): PicketServiceView => ({ name: 'svc0', state: 'running', run: 1, address: 'n0:61001', registered: true, nodeId: '/sim/h/x/Job/Job0', failures: 0, restarts: 0, ...o })
const view = (services: PicketServiceView[], served: Record<string, { state: string; address: string; tags?: string[] }> = {}, node = 'n0', muster: PicketNodeView['muster'] = null): PicketNodeView => ({
  node,
  services,
  muster,
  served: (id) => (served[id] === undefined ? undefined : { tags: [], ...served[id]! }),
})

/** A service started at 0, run 1 up and registered at once, beating every HB up to `beatsTo` (ms). */
function started(c: PicketChecker, beatsTo: number): void {
  c.requested('n0', 'svc0', 0)
  c.spawned('n0', 'svc0', 1, 10, TTL)
  for (let t = 100; t <= beatsTo; t += HB) c.beat('n0', 'svc0', 1, t)
  c.registered('n0', 'svc0', 1, 100, 0)
}

test('a crash restarted within its backoff and a hung process killed at its ttl: no violation, and the figures', (t) => {
  const c = checker()
  started(c, 5100)
  c.exited('n0', 'svc0', 1, 5500) // crashed
  c.spawned('n0', 'svc0', 2, 5760, TTL)
  c.beat('n0', 'svc0', 2, 5900)
  c.registered('n0', 'svc0', 2, 5900, 1)
  c.observe(6000, [view([svc({ run: 2, address: 'n0:61002', failures: 1, restarts: 1 })])], true)
  // Run 2 hangs after its beat at 7900: killed 3 HB later, at its ttl.
  c.beat('n0', 'svc0', 2, 6900)
  c.beat('n0', 'svc0', 2, 7900)
  c.killed('n0', 'svc0', 2, 10_900)
  c.exited('n0', 'svc0', 2, 10_910)
  c.spawned('n0', 'svc0', 3, 11_500, TTL)
  c.registered('n0', 'svc0', 3, 11_710, 2)
  c.observe(12_000, [view([svc({ run: 3, address: 'n0:61003', failures: 2, restarts: 2 })])], true)
  t.deepEqual(c.found, [])
  t.like(c.summary(), { services: 1, restarts: 2, killed_hung: 1, failed: 0, restart_hb_max: 0.8, hung_kill_hb_max: 3, hung_restart_hb_max: 3.81, start_hb_max: 0.1, violations: [] })
  t.true(c.complete)
})

test('a hung process killed later than its ttl plus 1 HB is reported, and so is one still alive past it', (t) => {
  const late = checker()
  started(late, 2100)
  late.killed('n0', 'svc0', 1, 2100 + TTL + HB + 1)
  t.deepEqual(late.kinds(), { 'picket-hung-late': 1 })
  t.regex(late.found[0]!.message, /^HB 6\.1: run 1 of svc0 on n0 was killed 4 HB after its last beat \(HB 2\.1\): over its ttl \(3 HB\) \+ 1 HB$/)
  t.is(late.summary().hung_kill_hb_max, 4)
  const never = checker()
  started(never, 2100)
  never.observe(6000, [view([svc()])], true)
  t.deepEqual(never.kinds(), {}, 'within ttl + 1 HB it may still be alive')
  never.observe(7000, [view([svc()])], true)
  t.deepEqual(never.kinds(), { 'picket-hung-late': 1 })
  t.regex(never.found[0]!.message, /is still alive 4\.9 HB after its last beat/)
})

test('a service spawned while another run of it is alive runs twice at once', (t) => {
  const c = checker()
  started(c, 3100)
  c.spawned('n0', 'svc0', 2, 3200, TTL)
  t.deepEqual(c.kinds(), { 'picket-twice': 1 })
  t.regex(c.found[0]!.message, /^HB 3\.2: svc0 on n0 runs twice at once: run 2 spawned while run 1 is alive$/)
  // After run 1 exits, a third run is alone with run 2 only if run 2 ended too.
  const ok = checker()
  started(ok, 3100)
  ok.exited('n0', 'svc0', 1, 3150)
  ok.spawned('n0', 'svc0', 2, 3500, TTL)
  t.deepEqual(ok.kinds(), {})
})

test('a crash not followed by a registered run within its backoff plus 1 HB is a late restart, at a mark or when it registers', (t) => {
  const atMark = checker()
  started(atMark, 3100)
  atMark.exited('n0', 'svc0', 1, 3500)
  atMark.observe(4000, [view([svc({ state: 'backoff', run: null, registered: false, failures: 3 })])], true)
  t.deepEqual(atMark.kinds(), {}, 'the third failure backs off 1 HB: 2 HB in all')
  atMark.observe(6000, [view([svc({ state: 'backoff', run: null, registered: false, failures: 3 })])], true)
  t.deepEqual(atMark.kinds(), { 'picket-restart-late': 1 })
  t.false(atMark.complete)
  const late = checker()
  started(late, 3100)
  late.exited('n0', 'svc0', 1, 3500)
  late.spawned('n0', 'svc0', 2, 4600, TTL)
  late.registered('n0', 'svc0', 2, 4800, 1)
  t.deepEqual(late.kinds(), { 'picket-restart-late': 1 })
  t.is(late.summary().restart_hb_max, 1.3)
  // Asked to quit first: its exit owes nothing.
  const asked = checker()
  started(asked, 3100)
  asked.quit('n0', 'svc0', 1, 3200)
  asked.exited('n0', 'svc0', 1, 3300)
  asked.observe(9000, [view([svc({ state: 'stopped', run: null, registered: false })])], true)
  t.deepEqual(asked.kinds(), {})
})

test('a service whose bundle failed must end failed and never be spawned', (t) => {
  const c = checker()
  c.requested('n0', 'svc0', 0)
  c.bundleFailed('n0', 'svc0', 300)
  c.observe(1000, [view([svc({ state: 'failed', run: null, registered: false, nodeId: null })])], true)
  t.deepEqual(c.kinds(), {})
  t.true(c.complete)
  c.observe(2000, [view([svc({ state: 'preparing', run: 2, registered: false, nodeId: null })])], true)
  c.spawned('n0', 'svc0', 2, 2100, TTL)
  t.deepEqual(c.kinds(), { 'picket-failed': 2 })
  t.is(c.summary().failed, 1)
})

test('a registered, beating service must be up at its address in its node catalog once the flock has settled 5 HB', (t) => {
  const c = checker()
  started(c, 11_100)
  const id = '/sim/h/x/Job/Job0'
  c.observe(5000, [view([svc()])], true)
  c.observe(9000, [view([svc()])], true)
  t.deepEqual(c.kinds(), {}, 'the flock agrees only since HB 5')
  c.observe(10_000, [view([svc()], { [id]: { state: 'up', address: 'n0:61001' } })], true)
  t.deepEqual(c.kinds(), {})
  c.observe(11_000, [view([svc()], { [id]: { state: 'up', address: 'n0:61009' } })], true)
  t.deepEqual(c.kinds(), { 'picket-uncatalogued': 1 })
  t.regex(c.found[0]!.message, /^HB 11: svc0 on n0 runs at n0:61001 \(run 1, registered at HB 0\.1\), but its node's catalog has \/sim\/h\/x\/Job\/Job0 up at n0:61009$/)
})

test('a crashed node\'s process that beats or is spawned is a zombie; a start not registered within 3 HB is late; a refused start is reported', (t) => {
  const c = checker()
  started(c, 1100)
  c.fault(1500, { kind: 'crash', nodes: ['n0'] })
  c.beat('n0', 'svc0', 1, 2100)
  t.deepEqual(c.kinds(), { 'picket-zombie': 1 })
  const slow = checker()
  slow.requested('n0', 'svc0', 0)
  slow.observe(3000, [view([svc({ state: 'preparing', registered: false })])], true)
  t.deepEqual(slow.kinds(), {})
  slow.observe(4000, [view([svc({ state: 'starting', registered: false })])], true)
  t.deepEqual(slow.kinds(), { 'picket-start-late': 1 })
  slow.answered('n0', 'svc0', 'PERMISSION_DENIED', 'only the node itself may run services on it')
  t.is(slow.kinds()['picket-refused'], 1)
})

test('the plan is a function of its seed, and has a failed bundle, a crash and a hang, events apart and after the start', (t) => {
  const a = planPicket(7, 5, 3, 10, HB)
  t.deepEqual(planPicket(7, 5, 3, 10, HB), a)
  t.notDeepEqual(planPicket(8, 5, 3, 10, HB), a)
  t.is(a.length, 15)
  t.is(new Set(a.map((s) => s.hash)).size, 15)
  t.true(a.some((s) => s.failBundle))
  t.true(a.some((s) => s.events.some((e) => e.kind === 'crash')))
  t.true(a.some((s) => s.events.some((e) => e.kind === 'hang')))
  for (const s of a) {
    t.true(s.startHb >= 0 && s.startHb < 10)
    if (s.failBundle) t.deepEqual(s.events, [])
    s.events.forEach((e, i) => t.true(e.atHb >= s.startHb + 3 && (i === 0 || e.atHb - s.events[i - 1]!.atHb >= EVENT_GAP_HB)))
  }
  const one = planPicket(1, 1, 1, 10, HB)
  t.true(one[0]!.failBundle, 'even a run of one service fails a bundle')
})

test("a node's settled muster missing from, or stale in, another live node's catalog is reported; one in every catalog as it is, or not yet settled, is not", (t) => {
  const M = '/sim/h/n0/Picket/Picket1'
  const tags = ['svc svc0 running 0 up 1 100 sha256:x', 'api svc0 Job0 job_0']
  const n0 = (at: string[]) => view([], { [M]: { state: 'up', address: 'n0:1', tags: at } }, 'n0', { nodeId: M, tags })
  const n1 = (at: string[] | null) => view([], at === null ? {} : { [M]: { state: 'up', address: 'n0:1', tags: at } }, 'n1')
  const c = checker()
  // Not settled for 5 HB yet: nothing judged.
  c.observe(1000, [n0(tags), n1(null)], true)
  c.observe(5000, [n0(tags), n1(null)], true)
  t.deepEqual(c.kinds(), {})
  c.observe(6000, [n0(tags), n1(tags)], true)
  t.deepEqual(c.kinds(), {}, 'in every catalog as it is')
  c.observe(7000, [n0(tags), n1(tags.slice(0, 1))], true)
  t.deepEqual(c.kinds(), { 'picket-muster': 1 })
  t.regex(c.found[0]!.message, /^HB 7: n0's muster \(unchanged since HB 1, 2 tag\(s\)\) is not in n1's catalog as it is: it has 1 tag\(s\) that differ$/)
  c.observe(8000, [n0(tags), n1(null)], true)
  t.deepEqual(c.kinds(), { 'picket-muster': 1 }, 'reported once per node pair and muster')
})
