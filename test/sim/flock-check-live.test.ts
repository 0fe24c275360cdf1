/**
 * The checker's liveness rules over hand-built histories: for each rule a history that breaks it and
 * the nearby histories that do not (a partition, a crash, a recent fault, a voluntary move). The
 * contexts come from the flock fixtures, so these tests do not depend on how the protocol behaves.
 */
import test from 'ava'
import { FlockChecker, type NodeView } from '../../actors/sim/check.js'
import { listRemove } from '../../machines/flock/member-list.js'
import type { FlockContext } from '../../machines/flock/types.js'
import { leaderCtx, leaderWith, memberCtx, node, selfAs } from '../fixtures/flock-fixtures.js'

const lead = (id: string, flock: string): FlockContext => leaderCtx({ flock }, { self: selfAs(id) })
const views = (cs: Record<string, FlockContext>): NodeView[] => Object.entries(cs).map(([n, ctx]) => ({ node: n, ctx }))

/** Leader `L` of `_m` with members x and y, both following it. */
function flock(): { L: FlockContext; x: FlockContext; y: FlockContext } {
  return { L: leaderWith(['x', 'y'], 0, {}, { self: selfAs('L') }), x: memberCtx(node('L'), {}, { self: selfAs('x') }), y: memberCtx(node('L'), {}, { self: selfAs('y') }) }
}

/** Member `x` gives up on its leader: a new flock of its own, as startOver leaves it. */
function startOver(x: FlockContext): void {
  x.flock = `_${x.me.id}-again`
  x.leader = x.me
  x.stats.startOvers++
}

test('islands: two flocks in one connected group past oneFlockHb after the start', (t) => {
  const k = new FlockChecker({ oneFlockHb: 5 })
  const cs = { a: lead('a', '_f'), b: lead('b', '_g') }
  for (let hb = 1; hb <= 4; hb++) k.observe(hb, views(cs), false)
  t.deepEqual(k.violations, [])
  k.observe(5, views(cs), false)
  t.deepEqual(k.kinds(), { islands: 1 })
  t.is(k.violations[0], 'HB 5: 2 flocks among the 2 live nodes of one connected group, split since the start (5 HB)')
})

test('islands: none across a partition, none for a crashed node, and the bound restarts at a fault', (t) => {
  const k = new FlockChecker({ oneFlockHb: 5 })
  const cs = { a: lead('a', '_f'), b: lead('b', '_g'), c: lead('c', '_h') }
  k.fault(1, { kind: 'partition', groups: [['a', 'c'], ['b']] })
  k.fault(2, { kind: 'crash', nodes: ['c'] })
  for (let hb = 2; hb <= 20; hb++) k.observe(hb, views(cs), false)
  t.deepEqual(k.violations, [])
  k.fault(21, { kind: 'heal' })
  for (let hb = 21; hb <= 25; hb++) k.observe(hb, views(cs), false)
  t.deepEqual(k.violations, [])
  k.observe(26, views(cs), false)
  t.deepEqual(k.kinds(), { islands: 1 })
  t.regex(k.violations[0]!, /split since the fault at HB 21 \(5 HB\)/)
})

test('islands: a split that mends within the bound is not one; a later lasting split is', (t) => {
  const k = new FlockChecker({ oneFlockHb: 5 })
  const a = lead('a', '_f')
  const b = lead('b', '_g')
  for (let hb = 1; hb <= 4; hb++) k.observe(hb, views({ a, b }), false)
  Object.assign(b, { flock: '_f', leader: a.me, list: a.list })
  for (let hb = 5; hb <= 30; hb++) k.observe(hb, views({ a, b }), false)
  Object.assign(b, { flock: '_g', leader: b.me })
  for (let hb = 31; hb <= 34; hb++) k.observe(hb, views({ a, b }), false)
  t.deepEqual(k.violations, [])
  k.observe(35, views({ a, b }), false)
  t.regex(k.violations[0]!, /split since HB 30 \(5 HB\)/)
})

test('live-removed: a leader drops a live member it can reach', (t) => {
  const k = new FlockChecker()
  const cs = flock()
  k.observe(1, views(cs), true)
  listRemove(cs.L.list, 'x')
  k.observe(2, views(cs), false)
  t.deepEqual(k.kinds(), { 'live-removed': 1 })
  t.is(k.violations[0], 'HB 2: leader L removed its live, reachable member x with no fault touching either for 10 HB')
})

test('live-removed: a member starts over while its leader is live and reachable', (t) => {
  const k = new FlockChecker()
  const cs = flock()
  k.observe(1, views(cs), true)
  startOver(cs.y)
  k.observe(2, views(cs), false)
  t.deepEqual(k.kinds(), { 'live-removed': 1 })
  t.regex(k.violations[0]!, /^HB 2: y started over though its leader L is live and reachable/)
})

test('live-removed: not after a recent fault touching the member or its leader, nor for a crashed or partitioned member', (t) => {
  const k = new FlockChecker({ faultGraceHb: 3 })
  const cs = flock()
  k.observe(1, views(cs), true)
  k.fault(2, { kind: 'reboot', nodes: ['x'] })
  k.observe(2, views(cs), false)
  listRemove(cs.L.list, 'x')
  k.observe(5, views(cs), false) // 3 HB after x's reboot: still excused
  k.fault(6, { kind: 'crash', nodes: ['y'] })
  listRemove(cs.L.list, 'y')
  k.observe(6, views(cs), false)
  t.deepEqual(k.violations, [])
  // A member on the other side of a partition from its leader is unreachable, not removed while live.
  const p = new FlockChecker({ faultGraceHb: 0 })
  const ps = flock()
  p.fault(1, { kind: 'partition', groups: [['L', 'y'], ['x']] })
  p.observe(1, views(ps), false)
  listRemove(ps.L.list, 'x')
  startOver(ps.x)
  p.observe(2, views(ps), false)
  t.deepEqual(p.violations, [])
})

test('live-removed: a member that moves to another leader on its own, or whose leader steps down, is not removed', (t) => {
  const k = new FlockChecker()
  const cs = { ...flock(), M: lead('M', '_m') }
  k.observe(1, views(cs), false)
  cs.x.leader = node('M')
  listRemove(cs.L.list, 'x')
  cs.L.leader = node('M') // L follows M too: it no longer leads, so its members may leave it
  startOver(cs.y)
  k.observe(2, views(cs), false)
  t.deepEqual(k.violations, [])
})

test('steady-state: agreement lost for more than steadyHb in a row, reported once with the HB it broke', (t) => {
  const k = new FlockChecker({ steadyHb: 3 }, { steady: true })
  const at = (hb: number, agreed: boolean) => k.observe(hb, [], agreed)
  at(1, false)
  for (let hb = 2; hb <= 10; hb++) at(hb, true)
  for (let hb = 11; hb <= 13; hb++) at(hb, false) // 3 HB: within the bound
  at(14, true)
  for (let hb = 15; hb <= 18; hb++) at(hb, false)
  k.finish(18)
  t.deepEqual(k.violations, ['HB 18: agreement (reached at HB 2) lost at HB 15 for 4 HB in a row'])
  t.deepEqual(k.kinds(), { 'steady-state': 1 })
})

test('steady-state: the run must end agreed; a fault restarts the count (from after its own HB); runs without --until-hb are not judged', (t) => {
  const ends = new FlockChecker({}, { steady: true })
  for (let hb = 1; hb <= 5; hb++) ends.observe(hb, [], hb < 5)
  t.deepEqual(ends.finish(5), ['HB 5: the run ended without agreement (reached at HB 1, lost at HB 5)'])
  const faulted = new FlockChecker({ steadyHb: 1 }, { steady: true })
  for (let hb = 1; hb <= 5; hb++) faulted.observe(hb, [], true)
  faulted.fault(6, { kind: 'reboot', nodes: [] })
  for (let hb = 6; hb <= 12; hb++) faulted.observe(hb, [], hb >= 10)
  t.deepEqual(faulted.finish(12), [])
  // Agreement seen at the fault's own heartbeat, or while partitioned, is the state before the fault took effect.
  const split = new FlockChecker({}, { steady: true })
  split.fault(3, { kind: 'partition', groups: [['a'], ['b']] })
  for (let hb = 3; hb <= 12; hb++) split.observe(hb, [], hb <= 5)
  split.fault(13, { kind: 'heal' })
  for (let hb = 13; hb <= 20; hb++) split.observe(hb, [], hb >= 15)
  t.deepEqual(split.finish(20), [])
  const unjudged = new FlockChecker()
  for (let hb = 1; hb <= 5; hb++) unjudged.observe(hb, [], hb < 2)
  t.deepEqual(unjudged.finish(5), [])
})
