/**
 * The placement checker on hand-made histories: a placement whole, broken by a crash and whole again
 * in time passes with its figures; a service short once the flock has settled, an instance stacked on
 * a node and more instances than wanted are each reported, and neither is judged before the flock has
 * settled (nor, after a leader change, before the new proctor's settle); the program's wanted counts;
 * and the seeded plan is a function of its seed whose program places what it says.
 */
import test from 'ava'
import { PlacementChecker, wantedOf, type PlacementNodeView } from '../../../actors/sim/placement-check.js'
import { planPlacement } from '../../../actors/sim/placement-plan.js'
import type { ServiceState } from '../../../machines/picket/types.js'

const HB = 1000
const PROGRAM = 'pick(p0, 2, ALL)\npickh(p1, 1, ALL)\n'

/** Node `node` running `names` (up unless given a state), leading under `term` (0: not). */
const node = (name: string, names: Array<string | [string, ServiceState, boolean]>, term = 0): PlacementNodeView => ({
  node: name,
  services: names.map((n) => (typeof n === 'string' ? { name: n, state: 'running' as ServiceState, up: true } : { name: n[0], state: n[1], up: n[2] })),
  leadingTerm: term,
})

/** The flock n0…n4 (n0 leading, term 1): p0 on n1 and n2, p1 on n3, and an unplaced service on n4. */
const steady = (): PlacementNodeView[] => [node('n0', [], 1), node('n1', ['p0-1', 'svc0']), node('n2', ['p0-2']), node('n3', ['p1-1']), node('n4', ['svc0'])]

/** A checker given the program at HB 5, marks from HB 1 to `to` with `views(hb)`, agreed throughout. */
function run(views: (hb: number) => PlacementNodeView[], to: number, c = new PlacementChecker(HB), from = 1): PlacementChecker {
  for (let hb = from; hb <= to; hb++) {
    if (hb === 5) c.applied(5 * HB - 500, PROGRAM)
    c.observe(hb * HB, views(hb), true)
  }
  return c
}

test('whole, a crash takes an instance, placed again on another node within the bound: no violation, and the figures', (t) => {
  const c = run((hb) => (hb < 6 ? [node('n0', [], 1), node('n1', []), node('n2', []), node('n3', []), node('n4', [])] : steady()), 20)
  c.fault(20.5 * HB, { kind: 'crash', nodes: ['n1'] })
  // n1's instance is gone with it (a dead node's views are not counted); p0 is placed on n4 by HB 24.
  run((hb) => {
    const v = steady().filter((x) => x.node !== 'n1')
    if (hb >= 24) v[3] = node('n4', ['svc0', ['p0-1', hb === 24 ? 'starting' : 'running', hb > 24]])
    return v
  }, 40, c, 21)
  t.deepEqual(c.found, [])
  t.deepEqual(c.summary(), { services: 2, wanted: 3, applied_hb: 4.5, moved: 1, whole: true, whole_hb_max: 4.5, violations: [] })
})

test('placement-short: a service short of instances up once the flock has settled is reported, once; not before', (t) => {
  // Applied at 4.5 HB, the leader since HB 1: ready at max(4.5 + 7, 1 + 15) = HB 16.
  const c = run(() => [node('n0', [], 1), node('n1', ['p0-1']), node('n2', [['p0-2', 'preparing', false]]), node('n3', ['p1-1'])], 15)
  t.deepEqual(c.found, [], 'not judged before the flock has settled')
  run(() => [node('n0', [], 1), node('n1', ['p0-1']), node('n2', [['p0-2', 'backoff', false]]), node('n3', ['p1-1'])], 30, c, 16)
  t.deepEqual(c.kinds(), { 'placement-short': 1 })
  t.is(c.found[0]!.message, 'HB 16: placed services short of instances up on live nodes: p0 1 of 2 (the flock settled by HB 16)')
  t.false(c.summary().whole)
})

test('placement-short waits out a new proctor’s settle after the leader changes, and a fault, then judges again', (t) => {
  const c = run(steady, 20)
  c.fault(20.5 * HB, { kind: 'crash', nodes: ['n0'] })
  // No leader for 3 HB, then n4 leads (term 2) from HB 24; p1's instance is gone (made up: n3 lost it) and not placed again.
  const after = (hb: number) => [node('n1', ['p0-1']), node('n2', ['p0-2']), node('n3', []), node('n4', [], hb >= 24 ? 2 : 0)]
  run(after, 38, c, 21)
  t.deepEqual(c.found, [], 'ready only at HB 24 + 15 = 39')
  run(after, 39, c, 39)
  t.deepEqual(c.kinds(), { 'placement-short': 1 })
  t.regex(c.found[0]!.message, /^HB 39: .*p1 0 of 1/)
})

test('placement-twice: two live instances of a service on one node are reported at once; an instance stopping, or stopped, beside one is not', (t) => {
  const c = new PlacementChecker(HB)
  c.applied(0, PROGRAM)
  c.observe(HB, [node('n1', ['p0-1', ['p0-2', 'stopping', false]]), node('n2', [['p0-3', 'stopped', false]])], true)
  t.deepEqual(c.found, [])
  c.observe(2 * HB, [node('n1', ['p0-1', ['p0-2', 'starting', false]])], false)
  t.deepEqual(c.kinds(), { 'placement-twice': 1 })
  t.is(c.found[0]!.message, 'HB 2: n1 runs 2 instances of p0 (p0-1, p0-2); the program never stacks it')
})

test('placement-twice: more live instances than wanted once the flock has settled; in flight before then is allowed', (t) => {
  const three = () => [...steady().slice(0, 4), node('n4', ['svc0', ['p0-3', 'preparing', false]])]
  const c = run(three, 15)
  t.deepEqual(c.found, [], 'a new proctor may start one before the catalog shows its predecessor’s')
  run(three, 17, c, 16)
  t.deepEqual(c.kinds(), { 'placement-twice': 1 })
  t.is(c.found[0]!.message, 'HB 16: 3 live instances of p0 on live nodes, 2 wanted (the flock settled by HB 16)')
})

test('a crashed node’s instances are not counted, and only a program’s own instances are', (t) => {
  const c = run(steady, 20)
  c.fault(20.5 * HB, { kind: 'crash', nodes: ['n3'] })
  // n3 is still in the views handed over (the simulator drops it; `crux check` may not yet): not counted.
  run((hb) => [...steady().slice(0, 3), node('n3', ['p1-1', 'p1-2']), node('n4', hb >= 25 ? ['p1-1', 'p01-1', 'p0'] : [])], 40, c, 21)
  t.deepEqual(c.found, [])
  t.like(c.summary(), { moved: 1, whole: true, whole_hb_max: 4.5 })
})

test('wantedOf: each service’s literal count, rounded up as the solver does; a program it cannot judge is null', (t) => {
  t.deepEqual(wantedOf('pick(a, 2, ALL)\npickh(b, 3, ALL)\npick(c, 1.5, ALL)\n'), { a: 2, b: 3, c: 2 })
  t.is(wantedOf('pick(a, size(ALL), ALL)\n'), null)
  t.is(wantedOf('pick(a, 3 / 2, ALL)\n'), null)
  t.is(wantedOf('pick(a, 2,\n'), null)
})

test('the plan is a function of its seed: P services, counts under half the nodes, a program that wants them', (t) => {
  const a = planPlacement(3, 8, 4, HB)
  t.deepEqual(a, planPlacement(3, 8, 4, HB))
  t.notDeepEqual(a, planPlacement(4, 8, 4, HB))
  t.deepEqual(a.services.map((s) => s.service), ['p0', 'p1', 'p2', 'p3'])
  t.deepEqual(a.services.map((s) => s.hard), [false, true, false, true])
  for (const s of a.services) t.true(s.count >= 2 && s.count <= 3)
  t.deepEqual(wantedOf(a.text), Object.fromEntries(a.services.map((s) => [s.service, s.count])))
  t.true(a.applyHb >= 4 && a.applyHb < 8)
  t.deepEqual(new Set(a.shared.map((s) => s.hash)).size, 4)
  t.true(a.shared.every((s) => !s.failBundle && s.events.length === 0), 'every placed bundle runs healthily')
  t.deepEqual(planPlacement(1, 3, 2, HB).services.map((s) => s.count), [1, 1], 'one instance each on a small flock')
})
