/**
 * One solve of the proctor: the program, the flock's muster and what was last assigned, to what each
 * node should run. What runs now is what the proctor last assigned a node (so an instance still
 * starting is counted and not placed twice) or, for a node it has not assigned since it came to lead,
 * the live instances the node's muster shows. The khan solver keeps instances where they are when the
 * program allows; a service whose start clauses do not hold keeps the instances it has and gets no
 * new ones. Pure module.
 */
import { compile } from '../khan/compile.js'
import { solve, type AfterJson, type Placement } from '../khan/solver.js'
import { inStage, instanceName, instanceOf, isLive } from './names.js'
import type { Assignment, MusterNode, PlacementProgram, Solved } from './types.js'

/** What a solve gives: the findings, and each node's services (null: the program cannot be placed now). */
export interface Plan {
  solved: Solved
  desired: Record<string, Record<string, string>> | null
}

/** The instance names of each service on each node now: service → node → names. */
function currentNames(nodes: readonly MusterNode[], assigned: Readonly<Record<string, Assignment>>, services: ReadonlySet<string>): Map<string, Map<string, string[]>> {
  const names = new Map<string, Map<string, string[]>>()
  for (const n of nodes) {
    const here = assigned[n.node] !== undefined ? Object.keys(assigned[n.node]!.services) : n.services.filter((s) => isLive(s.state)).map((s) => s.name)
    for (const name of here) {
      const i = instanceOf(name, services)
      if (i === null) continue
      const bySvc = names.get(i.service) ?? new Map<string, string[]>()
      names.set(i.service, bySvc)
      bySvc.set(n.node, [...(bySvc.get(n.node) ?? []), name])
    }
  }
  return names
}

/** How many instances of `service` the muster shows in `stage`. */
function inStageCount(nodes: readonly MusterNode[], services: ReadonlySet<string>, service: string, stage: string): number {
  let k = 0
  for (const n of nodes) for (const s of n.services) if (instanceOf(s.name, services)?.service === service && inStage(stage, s.state, s.up)) k++
  return k
}

/** The conditions of `a` that do not hold, as words ('' when every one holds). */
function holding(a: AfterJson, nodes: readonly MusterNode[], services: ReadonlySet<string>, placement: Placement): string {
  const open: string[] = []
  for (const c of a.after) {
    const wanted = Object.values(placement[c.service] ?? {}).reduce((x, y) => x + y, 0)
    const need = c.count ?? Math.ceil(((c.percent ?? 100) * wanted) / 100)
    const have = inStageCount(nodes, services, c.service, c.stage)
    if (have < need) open.push(`${c.count !== null ? `${c.count} of ` : c.percent !== null ? `${c.percent} % of ` : ''}${c.service}.${c.stage} (${have} of ${need})`)
  }
  return open.join(', ')
}

/** The names of `count` instances on one node: those it has, lowest numbers first, then new ones (none when `hold`). */
function namesFor(service: string, have: readonly string[], count: number, hold: boolean, services: ReadonlySet<string>): string[] {
  const kept = [...have].sort((a, b) => instanceOf(a, services)!.n - instanceOf(b, services)!.n).slice(0, count)
  const used = new Set(kept)
  for (let n = 1; kept.length < count && !hold; n++) if (!used.has(instanceName(service, n))) kept.push(instanceName(service, n))
  return kept
}

/** Solves `program` over the muster `nodes`, from what was `assigned`. */
export function plan(program: PlacementProgram, nodes: readonly MusterNode[], assigned: Readonly<Record<string, Assignment>>, seed: string): Plan {
  const c = compile(program.text)
  if (c.program === null) return { solved: { ok: false, placement: {}, warnings: [], explain: c.errors.map((e) => e.message), held: {} }, desired: null }
  const services = new Set(Object.keys(program.bundles))
  const names = currentNames(nodes, assigned, services)
  const current: Placement = {}
  for (const [svc, byNode] of names) current[svc] = Object.fromEntries([...byNode].map(([n, l]) => [n, l.length]))
  const r = solve(c.program, nodes.map((n) => ({ id: n.node, labels: n.labels })), { current, seed })
  const held: Record<string, string> = {}
  for (const a of r.afters) {
    const open = holding(a, nodes, services, r.placement)
    if (open !== '') held[a.start] = held[a.start] === undefined ? open : `${held[a.start]}, ${open}`
  }
  const solved: Solved = { ok: r.ok, placement: r.placement, warnings: r.warnings, explain: r.ok ? [] : r.explain, held }
  if (!r.ok) return { solved, desired: null }
  const desired: Record<string, Record<string, string>> = Object.fromEntries(nodes.map((n) => [n.node, {}]))
  for (const [svc, byNode] of Object.entries(r.placement)) {
    const hash = program.bundles[svc]
    if (hash === undefined) continue
    for (const [node, count] of Object.entries(byNode)) {
      for (const name of namesFor(svc, names.get(svc)?.get(node) ?? [], count, held[svc] !== undefined, services)) desired[node]![name] = hash
    }
  }
  return { solved, desired }
}
