/**
 * How fast does the khan solver place a big flock, and re-place it after a node dies? 1 000 nodes
 * (zones, racks, gpu, ssd, a few draining), 10 constraint sets, 50 services (every fifth a pickh,
 * some kept apart from the service before them, a few sized by their set): a full solve from nothing,
 * then, for 20 different nodes (once to warm up, once measured), the re-solve with that node gone and the first solution as the current
 * placement. The target for the re-solve is 10 ms, far below a heartbeat (docs/KHAN.md).
 *
 *   npm run bench -- khan [--nodes N] [--services N] [--kills N]
 */
import { parse } from '../machines/khan/parser.js'
import { solve, type KhanNode } from '../machines/khan/solver.js'
import { flag } from './flags.js'

const CONSTRAINTS = [
  'c0 := ALL & !label(drain)',
  'c1 := label(ssd) & c0',
  'c2 := label(gpu) & c0',
  'c3 := (label(z0) | label(z1)) & c0',
  'c4 := (label(z2) | label(z3) | label(z4)) & c0',
  'c5 := !label(gpu) & c0',
  'c6 := label(ssd) & !label(gpu) & c0',
  'c7 := (label(r0) | label(r1) | label(r2) | label(r3)) & c0',
  'c8 := c3 & label(ssd)',
  'c9 := c4 & !label(ssd)',
]

/** The benchmark's program: the constraints, then one pick per service. */
export function benchProgram(services: number): string {
  const lines = [...CONSTRAINTS]
  for (let i = 0; i < services; i++) {
    const c = `c${i % 10}`
    const set = i % 7 === 6 ? `${c} & !s${i - 1}` : c
    const count = i % 10 === 9 ? `size(${c}) / 8` : String(2 + ((i * 7) % 23))
    lines.push(`s${i} := ${i % 5 === 4 ? 'pickh' : 'pick'}(svc${i}, ${count}, ${set})`)
  }
  return lines.join('\n') + '\n'
}

/** The benchmark's nodes: deterministic labels from the index. */
export function benchNodes(n: number): KhanNode[] {
  return Array.from({ length: n }, (_, i) => {
    const labels = [`z${i % 5}`, `r${Math.floor(i / 50) % 20}`]
    if (i % 10 === 3) labels.push('gpu')
    if (i % 2 === 0) labels.push('ssd')
    if (i % 50 === 17) labels.push('drain')
    return { id: `node-${String(i).padStart(4, '0')}`, labels }
  })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const round = (x: number) => Math.round(x * 1000) / 1000

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const n = flag(args, '--nodes', 1000)
  const services = flag(args, '--services', 50)
  const kills = flag(args, '--kills', 20)
  const src = benchProgram(services)
  const nodes = benchNodes(n)
  let t0 = performance.now()
  const program = parse(src)
  const parseMs = performance.now() - t0
  const full: number[] = []
  let first = solve(program, nodes, { seed: 1 })
  for (let i = 0; i < 7; i++) {
    t0 = performance.now()
    first = solve(program, nodes, { seed: 1 })
    full.push(performance.now() - t0)
  }
  if (!first.ok) throw new Error(`the benchmark's program does not solve: ${first.explain.join('; ')}`)
  const instances = Object.values(first.placement).reduce((s, per) => s + Object.values(per).reduce((a, b) => a + b, 0), 0)
  // Kill nodes that run something, spread over the id range, one at a time, each from the first solution.
  const busy = nodes.filter((x) => Object.values(first.placement).some((per) => (per[x.id] ?? 0) > 0))
  const re: number[] = []
  let moved = 0
  // Two passes over the same kills: the first warms the JIT (as a long-running proctor's would be), the second is measured.
  for (let pass = 0; pass < 2; pass++) {
    for (let k = 0; k < kills; k++) {
      const dead = busy[Math.floor((k * busy.length) / kills)]!.id
      const alive = nodes.filter((x) => x.id !== dead)
      t0 = performance.now()
      const r = solve(program, alive, { seed: 1, current: first.placement })
      const ms = performance.now() - t0
      if (!r.ok) throw new Error(`re-solve without ${dead} failed: ${r.explain.join('; ')}`)
      if (pass === 1) {
        re.push(ms)
        moved += r.moves.started
      }
    }
  }
  return {
    nodes: n,
    services,
    constraints: CONSTRAINTS.length,
    instances,
    parse_ms: round(parseMs),
    solve_ms: round(median(full)),
    resolve_ms: round(median(re)),
    resolve_max_ms: round(Math.max(...re)),
    resolve_moves_mean: round(moved / kills),
    kills,
  }
}
