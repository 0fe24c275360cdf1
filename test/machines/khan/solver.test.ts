/**
 * The khan solver on chosen cases: seed 003's program, pick stacking with a warning, pickh failing with
 * an explanation, fewest moves after a node dies, trimming, counts that cannot be, and the seed.
 */
import test from 'ava'
import { parse } from '../../../machines/khan/parser.js'
import { solve, type KhanNode, type Placement } from '../../../machines/khan/solver.js'
import { KhanCheckError } from '../../../machines/khan/errors.js'

const nodes = (n: number, labels: (i: number) => string[] = () => []): KhanNode[] => Array.from({ length: n }, (_, i) => ({ id: `n${String(i).padStart(2, '0')}`, labels: labels(i) }))
const total = (per: Record<string, number> = {}) => Object.values(per).reduce((a, b) => a + b, 0)

test("seed 003's stix.khan: three servers, agents on every other node, prog2 on every node", (t) => {
  const src = 'cserv := pick(cserver, 3, ALL)\npick(cagent, size(ALL)-size(cserv), ~cserv)\npick(prog1, 2, ALL)\npick(prog2, size(ALL), ALL)\n'
  const r = solve(parse(src), nodes(6), { seed: 7 })
  t.true(r.ok)
  t.is(Object.keys(r.placement.cserver!).length, 3)
  t.deepEqual(r.sets.cserv, Object.keys(r.placement.cserver!))
  t.deepEqual(Object.keys(r.placement.cagent!).sort(), nodes(6).map((x) => x.id).filter((id) => !r.sets.cserv!.includes(id)))
  t.is(total(r.placement.prog1), 2)
  t.deepEqual(Object.values(r.placement.prog2!), [1, 1, 1, 1, 1, 1])
  t.deepEqual(r.warnings, [])
  t.deepEqual(r.moves, { started: 14, stopped: 0, kept: 0 })
})

test('pick stacks instances when its set holds too few nodes, and warns', (t) => {
  const r = solve(parse('pick(w, 5, label(gpu))'), nodes(6, (i) => (i < 2 ? ['gpu'] : [])))
  t.true(r.ok)
  t.deepEqual(Object.values(r.placement.w!).sort(), [2, 3])
  t.deepEqual(r.warnings, ['1:1: pick(w, 5, label(gpu)) stacks 5 instances on 2 node(s), up to 3 per node: its set holds fewer nodes than instances'])
})

test('pickh with too few nodes fails, and says which constraint excluded which nodes and why', (t) => {
  const ns = nodes(6, (i) => [...(i < 4 ? ['gpu'] : []), ...(i === 1 ? ['drain'] : [])])
  const r = solve(parse('a := pick(A, 2, label(gpu))\npickh(w, 3, label(gpu) & !label(drain) & !a)'), ns, { seed: 1 })
  t.false(r.ok)
  t.deepEqual(r.failed, { line: 2, col: 1, expression: 'pickh(w, 3, label(gpu) & !label(drain) & !a)' })
  const a = r.sets.a!
  t.is(a.length, 2)
  t.regex(r.explain[0]!, /^2:1: pickh\(w, 3, .*\) cannot be placed: it needs 3 distinct node\(s\) \(pickh places at most one instance per node\), and its set `label\(gpu\) & !label\(drain\) & !a` holds \d: /)
  t.true(r.explain.includes('2:13: `label(gpu)` excluded 2 node(s): n04, n05 (no label "gpu")'), r.explain.join('\n'))
  t.true(r.explain.includes('2:26: `!label(drain)` excluded 1 node(s): n01 (in `label(drain)`)'), r.explain.join('\n'))
  t.true(r.explain.some((l) => /^2:42: `!a` excluded \d node\(s\): .* \(in `a`: chosen by pick\(A, 2, label\(gpu\)\) at 1:6\)$/.test(l)), r.explain.join('\n'))
  // The same count with pick instead of pickh stacks instead.
  t.true(solve(parse('a := pick(A, 2, label(gpu))\npick(w, 3, label(gpu) & !label(drain) & !a)'), ns, { seed: 1 }).ok)
})

test('a pick that fails because of where an earlier pick landed is solved again with that pick steered away', (t) => {
  const ns = nodes(6, (i) => [...(i < 4 ? ['gpu'] : []), ...(i === 1 ? ['drain'] : [])])
  // a must leave two of n00, n02, n03 free: only a choice of n01 and one other does.
  for (const seed of [0, 1, 2, 3, 4, 5]) {
    const r = solve(parse('a := pick(A, 2, label(gpu))\npickh(w, 2, label(gpu) & !label(drain) & !a)'), ns, { seed })
    t.true(r.ok, r.explain.join('\n'))
    t.true(r.sets.a!.includes('n01'))
    t.is(Object.keys(r.placement.w!).filter((id) => r.sets.a!.includes(id)).length, 0)
  }
  // Taking, too: b needs a node that a chose and that has the label.
  const take = solve(parse('a := pick(A, 1, ALL)\npickh(b, 1, a & label(gpu))'), nodes(8, (i) => (i === 5 ? ['gpu'] : [])), { seed: 3 })
  t.true(take.ok)
  t.deepEqual(take.sets.a, ['n05'])
  t.true(take.explain.some((l) => /^1:6: retried pick\(A, 1, ALL\) preferring n05, for pickh\(b, 1, a & label\(gpu\)\) at 2:1$/.test(l)), take.explain.join('\n'))
})

test('a pick over an empty set fails; a count of zero places nothing; a negative count or a division by zero fails', (t) => {
  const r = solve(parse('x := label(ssd)\npick(db, 1, x)'), nodes(3))
  t.false(r.ok)
  t.regex(r.explain[0]!, /it needs at least one node for its 1 instance\(s\), and its set `x` holds no node/)
  t.is(r.explain[1], '1:6: `label(ssd)` excluded 3 node(s): n00, n01, n02 (no label "ssd")')
  t.deepEqual(r.warnings, ['1:6: no node has the label "ssd"'])
  const zero = solve(parse('pick(db, 0, label(ssd))'), nodes(3))
  t.true(zero.ok)
  t.deepEqual(zero.placement, { db: {} })
  t.regex(solve(parse('pick(db, 1 - size(ALL), ALL)'), nodes(3)).explain[0]!, /the count `1 - size\(ALL\)` is -2, below zero/)
  t.regex(solve(parse('pick(db, 4 / size(label(x)), ALL)'), nodes(3)).explain[0]!, /divides by zero \(`size\(label\(x\)\)` is 0\)/)
  t.regex(solve(parse('pick(db, size(ALL) * 100000, ALL)'), nodes(3)).explain[0]!, /more than 100000 instances/)
})

test('explanations follow names, lists and unions down to the constraint that excluded each node', (t) => {
  const ns = nodes(5, (i) => (i === 0 ? ['a'] : i === 1 ? ['b'] : []))
  const r = solve(parse('farm := ("n02", "n03")\nsmall := label(a) | label(b)\npickh(s, 3, small & !farm)'), ns)
  t.false(r.ok)
  t.deepEqual(r.explain.slice(1), [
    '2:19: `label(a) | label(b)` excluded 3 node(s): n02, n03, n04 (in neither side)',
    '2:10: `label(a)` excluded 3 node(s): n02, n03, n04 (no label "a")',
    '2:21: `label(b)` excluded 3 node(s): n02, n03, n04 (no label "b")',
  ])
  const listed = solve(parse('farm := ("n02", "n03")\npickh(s, 3, farm)'), ns)
  t.deepEqual(listed.explain.slice(1), ['2:13: `farm` excluded 3 node(s): n00, n01, n04 (not listed in farm at 1:1)'])
  const many = solve(parse('pickh(s, 20, label(a))'), nodes(14, (i) => (i === 0 ? ['a'] : [])))
  t.is(many.explain[1], '1:14: `label(a)` excluded 13 node(s): n01, n02, n03, n04, n05, n06, n07, n08, n09, n10 and 3 more (no label "a")')
})

test('a fractional count is rounded up', (t) => {
  t.is(total(solve(parse('pick(s, size(ALL) / 2, ALL)'), nodes(5)).placement.s), 3)
})

test('after a node dies only its instances move; the rest stay where they run', (t) => {
  const src = 'pick(a, 4, ALL)\npickh(b, 3, label(z))\npick(c, 12, ALL)\n'
  const ns = nodes(8, (i) => (i % 2 === 0 ? ['z'] : []))
  const first = solve(parse(src), ns, { seed: 3 })
  t.true(first.ok)
  const dead = Object.keys(first.placement.b!)[0]!
  const lost = Object.values(first.placement).reduce((s, per) => s + (per[dead] ?? 0), 0)
  const again = solve(parse(src), ns.filter((x) => x.id !== dead), { seed: 3, current: first.placement })
  t.true(again.ok)
  t.deepEqual(again.moves, { started: lost, stopped: lost, kept: 4 + 3 + 12 - lost })
  for (const [svc, per] of Object.entries(first.placement)) for (const [id, c] of Object.entries(per)) if (id !== dead) t.true((again.placement[svc]![id] ?? 0) >= Math.min(c, 2), `${svc} on ${id}`)
  t.is(again.warnings[0], `${dead} runs instances now but is not among the nodes: they are placed again`)
})

test('too many current instances are trimmed from the most stacked nodes; instances outside the set stop', (t) => {
  const current: Placement = { s: { n00: 3, n01: 1, n02: 1 }, other: { n00: 1 } }
  const r = solve(parse('pick(s, 3, !label(bad))'), nodes(4, (i) => (i === 2 ? ['bad'] : [])), { current })
  t.true(r.ok)
  t.deepEqual(r.placement.s, { n00: 1, n01: 1, n03: 1 })
  t.deepEqual(r.moves, { started: 1, stopped: 3, kept: 2 })
  t.deepEqual(r.warnings, ['other runs now but this program does not place it: it is left as it is'])
})

test('lists name nodes by id; an unknown id is a warning', (t) => {
  const r = solve(parse('hosts := ("n01", "n02", "n99")\npick(s, 2, hosts)'), nodes(4))
  t.deepEqual(r.sets.hosts, ['n01', 'n02'])
  t.deepEqual(Object.keys(r.placement.s!), ['n01', 'n02'])
  t.deepEqual(r.warnings, ['1:10: "n99" is not among the nodes'])
})

test('counts and sets of names are reported; start clauses are passed through', (t) => {
  const r = solve(parse('n := size(ALL) - 1\nx := pick(s, n, ALL)\npick(t, 1, ALL)\nstart s after 30 % of t.start 1 of u'), nodes(3))
  t.deepEqual(r.counts, { n: 2 })
  t.is(r.sets.x!.length, 2)
  t.deepEqual(r.afters, [{ start: 's', after: [{ service: 't', stage: 'start', count: null, percent: 30 }, { service: 'u', stage: 'ready', count: 1, percent: null }] }])
})

test('the seed chooses among equal nodes; the same seed chooses the same', (t) => {
  const p = parse('pick(s, 3, ALL)')
  const runs = [1, 2, 3, 4, 5].map((seed) => JSON.stringify(solve(p, nodes(20), { seed }).placement))
  t.true(new Set(runs).size > 1)
  t.is(JSON.stringify(solve(p, nodes(20), { seed: 2 }).placement), runs[1])
  // The order the nodes are given in does not matter.
  t.is(JSON.stringify(solve(p, nodes(20).reverse(), { seed: 2 }).placement), runs[1])
})

test('picks spread over the least loaded nodes', (t) => {
  const r = solve(parse('pick(a, 3, ALL)\npick(b, 3, ALL)'), nodes(6))
  t.deepEqual([...Object.keys(r.placement.a!), ...Object.keys(r.placement.b!)].sort(), nodes(6).map((x) => x.id))
})

test('a program that does not check is refused with its first checker error', (t) => {
  t.throws(() => solve(parse('pick(s, ALL, ALL)'), nodes(2)), { instanceOf: KhanCheckError, message: /^1:9: expected a count/ })
})
