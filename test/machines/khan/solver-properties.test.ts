/**
 * Properties of the khan solver over random programs, nodes and current placements (fast-check): a
 * solution satisfies every pick it claims to (checked by a separate, naive evaluator over id sets);
 * a failure names a pick that truly cannot be placed; the solver is deterministic; re-solving a
 * solution moves nothing, whatever the seed; after a node dies, only its instances move.
 */
import test from 'ava'
import fc from 'fast-check'
import { parse } from '../../../machines/khan/parser.js'
import { solve, type KhanNode, type Placement, type SolveResult } from '../../../machines/khan/solver.js'
import type { Expr, Program } from '../../../machines/khan/ast.js'

const LABELS = ['a', 'b', 'c']

/** A random set expression over labels and the names defined so far. */
const setExpr = (names: string[], depth: number): fc.Arbitrary<string> => {
  const leaves = fc.oneof(fc.constant('ALL'), fc.constantFrom(...LABELS).map((l) => `label(${l})`), ...(names.length > 0 ? [fc.constantFrom(...names)] : []))
  if (depth === 0) return leaves
  const sub = setExpr(names, depth - 1)
  return fc.oneof({ weight: 3, arbitrary: leaves }, sub.map((s) => `!(${s})`), fc.tuple(sub, sub).map(([x, y]) => `(${x} & ${y})`), fc.tuple(sub, sub).map(([x, y]) => `(${x} | ${y})`))
}
const countExpr = (names: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: 0, max: 7 }).map(String),
    setExpr(names, 1).map((s) => `size(${s})`),
    fc.tuple(setExpr(names, 1), fc.integer({ min: 1, max: 3 })).map(([s, d]) => `size(${s}) / ${d} + 1`),
  )

/** A program of up to five picks, each named, each set built from labels and earlier picks. */
const programs = fc.integer({ min: 1, max: 5 }).chain((n) => {
  const lines: fc.Arbitrary<string>[] = []
  for (let i = 0; i < n; i++) {
    const names = Array.from({ length: i }, (_, j) => `v${j}`)
    lines.push(fc.tuple(fc.boolean(), countExpr(names), setExpr(names, 2)).map(([hard, c, s]) => `v${i} := ${hard ? 'pickh' : 'pick'}(s${i}, ${c}, ${s})`))
  }
  return fc.tuple(...lines).map((ls) => ls.join('\n') + '\n')
})
const nodeLists = fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray(LABELS).map((labels): KhanNode => ({ id: `n${i}`, labels })))))
const currents = fc.dictionary(
  fc.constantFrom('s0', 's1', 's2', 's3', 's4', 'zz'),
  fc.dictionary(fc.constantFrom('n0', 'n1', 'n2', 'n3', 'n7', 'gone'), fc.integer({ min: 0, max: 4 })),
) as fc.Arbitrary<Placement>
const seeds = fc.oneof(fc.integer(), fc.string({ maxLength: 6 }))

/** The naive meaning of a set or count, with pick values taken from the solution. */
function naive(e: Expr, nodes: KhanNode[], env: Map<string, Set<string> | number>, r: SolveResult): Set<string> | number {
  const all = new Set(nodes.map((x) => x.id))
  const set = (x: Expr) => naive(x, nodes, env, r) as Set<string>
  const num = (x: Expr) => naive(x, nodes, env, r) as number
  switch (e.kind) {
    case 'all':
      return all
    case 'label':
      return new Set(nodes.filter((x) => x.labels.includes(e.name)).map((x) => x.id))
    case 'var':
      return env.get(e.name)!
    case 'not':
      return new Set([...all].filter((id) => !set(e.operand).has(id)))
    case 'set': {
      const [l, rr] = [set(e.left), set(e.right)]
      return new Set([...all].filter((id) => (e.op === '&' ? l.has(id) && rr.has(id) : l.has(id) || rr.has(id))))
    }
    case 'size':
      return set(e.set).size
    case 'number':
      return e.value
    case 'arith': {
      const [l, rr] = [num(e.left), num(e.right)]
      return e.op === '+' ? l + rr : e.op === '-' ? l - rr : e.op === '*' ? l * rr : l / rr
    }
    case 'pick':
      return new Set(Object.keys(r.placement[e.service] ?? {}))
    default:
      throw new Error(`unexpected ${e.kind}`)
  }
}

/** Checks every pick the solution placed; returns whether the failing pick (if any) truly fails. */
function verify(program: Program, nodes: KhanNode[], r: SolveResult): string | null {
  const env = new Map<string, Set<string> | number>()
  for (const line of program.exprs) {
    if (line.kind !== 'assign' || line.value.kind !== 'pick') return 'unexpected line'
    const p = line.value
    const k = Math.ceil(naive(p.count, nodes, env, r) as number)
    const set = naive(p.set, nodes, env, r) as Set<string>
    const failedHere = r.failed !== null && r.failed.line === p.pos.line
    const impossible = !Number.isFinite(k) || k < 0 || (k > 0 && set.size === 0) || (p.hard && set.size < k)
    if (failedHere) return impossible ? null : `${p.service} failed though ${k} instance(s) fit in ${set.size} node(s)`
    if (impossible) return `${p.service} was placed though it cannot be`
    const per = r.placement[p.service]
    if (per === undefined) return `${p.service} missing`
    const cap = p.hard ? 1 : Math.max(1, Math.ceil(k / set.size))
    if (Object.values(per).reduce((a, b) => a + b, 0) !== k) return `${p.service}: not ${k} instances`
    for (const [id, c] of Object.entries(per)) {
      if (!set.has(id)) return `${p.service} on ${id}, outside its set`
      if (!(c > 0 && c <= cap)) return `${p.service}: ${c} on ${id}, cap ${cap}`
    }
    const value = new Set(Object.keys(per))
    if (JSON.stringify([...value].sort()) !== JSON.stringify([...(r.sets[line.name] ?? [])].sort())) return `${line.name}'s set is not where ${p.service} runs`
    env.set(line.name, value)
  }
  return r.ok ? null : 'failed, but no pick failed'
}

test('a solution satisfies every pick it claims to, and a failure names a pick that cannot be placed', (t) => {
  fc.assert(
    fc.property(programs, nodeLists, currents, seeds, (src, nodes, current, seed) => {
      const program = parse(src)
      const r = solve(program, nodes, { current, seed })
      const problem = verify(program, nodes, r)
      if (problem !== null) throw new Error(`${problem}\n${src}`)
      if (!r.ok && r.explain.length === 0) throw new Error('a failure without an explanation')
    }),
    { numRuns: 400 },
  )
  t.pass()
})

test('the solver is deterministic for a seed', (t) => {
  fc.assert(
    fc.property(programs, nodeLists, currents, seeds, (src, nodes, current, seed) => {
      const a = solve(parse(src), nodes, { current, seed })
      const b = solve(parse(src), [...nodes].reverse(), { current: JSON.parse(JSON.stringify(current)), seed })
      return JSON.stringify(a) === JSON.stringify(b)
    }),
    { numRuns: 200 },
  )
  t.pass()
})

test('re-solving a satisfied placement moves nothing, whatever the seed', (t) => {
  fc.assert(
    fc.property(programs, nodeLists, currents, seeds, seeds, (src, nodes, current, seed, other) => {
      const first = solve(parse(src), nodes, { current, seed })
      fc.pre(first.ok)
      const again = solve(parse(src), nodes, { current: first.placement, seed: other })
      return again.ok && again.moves.started === 0 && again.moves.stopped === 0 && JSON.stringify(again.placement) === JSON.stringify(first.placement)
    }),
    { numRuns: 300 },
  )
  t.pass()
})

test('after a node dies only its instances move (fixed counts, sets of labels)', (t) => {
  const independent = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 6 }), setExpr([], 2)), { minLength: 1, maxLength: 5 }).map((ps) => ps.map(([hard, k, s], i) => `${hard ? 'pickh' : 'pick'}(s${i}, ${k}, ${s})`).join('\n'))
  fc.assert(
    fc.property(independent, nodeLists, fc.nat(), seeds, (src, nodes, which, seed) => {
      const first = solve(parse(src), nodes, { seed })
      fc.pre(first.ok && nodes.length > 1)
      const dead = nodes[which % nodes.length]!.id
      const lost = Object.values(first.placement).reduce((s, per) => s + (per[dead] ?? 0), 0)
      const again = solve(parse(src), nodes.filter((x) => x.id !== dead), { seed, current: first.placement })
      fc.pre(again.ok)
      return again.moves.started === lost && again.moves.stopped === lost
    }),
    { numRuns: 300 },
  )
  t.pass()
})
