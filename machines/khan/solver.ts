/**
 * The khan solver: a checked program, the nodes and where services run now, to where they should run.
 * Expressions are evaluated in program order; each pick is placed by {@link place} (fewest moves from
 * the current placement, spread otherwise, ties broken by the seed), and its value is the set of nodes
 * it chose, which later lines may use. A pick that cannot be placed stops the solve; if an earlier
 * pick's choice is to blame, the solve is retried with that pick steered away (see {@link solve});
 * otherwise the result explains which constraint excluded which nodes. Pure and deterministic for a seed.
 */
import type { After, Expr, PickExpr, Program } from './ast.js'
import { Bits } from './bits.js'
import { check } from './checker.js'
import { exclusions, listNodes, type Binding, type Hint } from './explain.js'
import { place } from './place.js'
import { show } from './printer.js'
import { rngNext, rngSeed } from '../rng.js'

/** A node as the solver sees it. */
export interface KhanNode {
  readonly id: string
  readonly labels: readonly string[]
}

/** Instances per service per node: `{SERVICE: {NODE_ID: count}}`. */
export type Placement = Record<string, Record<string, number>>

/** A start clause as the CLI prints it. */
export interface AfterJson {
  readonly start: string
  readonly after: { service: string; stage: string; count: number | null; percent: number | null }[]
}

/** What {@link solve} found. */
export interface SolveResult {
  readonly ok: boolean
  /** Every service the program places (as far as the solve got, when it failed). */
  readonly placement: Placement
  /** Every set-valued (or list-valued) name, as node ids in id order. */
  readonly sets: Record<string, string[]>
  /** Every count-valued name. */
  readonly counts: Record<string, number>
  readonly afters: AfterJson[]
  readonly warnings: string[]
  /** On failure, why; on success, one line per pick saying what it did. */
  readonly explain: string[]
  /** Instances started and stopped to get from the current placement to this one, and kept. */
  readonly moves: { started: number; stopped: number; kept: number }
  /** The expression that could not be satisfied. */
  readonly failed: { line: number; col: number; expression: string } | null
}

/** More instances than this in one pick is a mistake (a count like size(ALL)*size(ALL)), not a plan. */
export const MAX_INSTANCES = 100_000

/** Solves `program` over `nodes`. Throws the first checker error if the program does not check. */
export function solve(program: Program, nodes: readonly KhanNode[], opts: { current?: Placement; seed?: number | string } = {}): SolveResult {
  const checked = check(program)
  if (checked.errors.length > 0) throw checked.errors[0]!
  // Picks are placed greedily in program order. When a later pick fails because an earlier pick's
  // choice excluded nodes it needed (`!a`, or `a` itself), the solve is retried with that earlier pick
  // told to avoid (or take) those nodes, until it succeeds or the hints stop growing.
  const bias = new Map<PickExpr, Bias>()
  const retries: string[] = []
  for (let attempt = 0; ; attempt++) {
    const s = new Solver(program, nodes, opts.current ?? {}, opts.seed ?? 0, checked.picks, bias)
    const r = s.run()
    if (r.ok) return attempt === 0 ? r : { ...r, explain: [...r.explain, ...retries] }
    const grew = attempt < checked.picks.length ? merge(bias, s.hints) : []
    if (grew.length === 0) return attempt === 0 ? r : { ...r, explain: [...r.explain, ...retries] }
    for (const h of grew) retries.push(`${h.pick.pos.line}:${h.pick.pos.col}: retried ${show(h.pick)} ${h.avoid ? 'avoiding' : 'preferring'} ${listNodes(s.ids, h.nodes.indices())}, for ${r.failed!.expression} at ${r.failed!.line}:${r.failed!.col}`)
  }
}

/** The nodes a pick should avoid and take on a retry. */
interface Bias {
  avoid: Bits | null
  prefer: Bits | null
}

/** Adds the hints to `bias`; returns those that added a node, each with every node its pick now avoids (or prefers). */
function merge(bias: Map<PickExpr, Bias>, hints: readonly Hint[]): Hint[] {
  const grew: Hint[] = []
  for (const h of hints) {
    const b = bias.get(h.pick) ?? { avoid: null, prefer: null }
    const old = h.avoid ? b.avoid : b.prefer
    const next = old === null ? h.nodes : old.or(h.nodes)
    if (next.count() === (old?.count() ?? 0)) continue
    if (h.avoid) b.avoid = next
    else b.prefer = next
    bias.set(h.pick, b)
    grew.push({ ...h, nodes: next })
  }
  return grew
}

class Failure {
  constructor(
    readonly at: Expr,
    readonly lines: string[],
  ) {}
}

class Solver {
  readonly ids: string[]
  /** What earlier picks could do differently, gathered while explaining a failure. */
  readonly hints: Hint[] = []
  private readonly index = new Map<string, number>()
  private readonly labels = new Map<string, Bits>()
  private readonly n: number
  private readonly env = new Map<string, Binding>()
  private readonly values = new Map<Expr, Bits>()
  private readonly load: Float64Array
  private readonly nodeHash: Uint32Array
  private readonly current = new Map<string, { nodes: number[]; count: Map<number, number> }>()
  private readonly placed = new Map<string, Map<number, number>>()
  private readonly warnings: string[] = []
  private readonly notes: string[] = []
  private readonly moves = { started: 0, stopped: 0, kept: 0 }

  constructor(
    private readonly program: Program,
    nodes: readonly KhanNode[],
    private readonly currentIn: Placement,
    private readonly seed: number | string,
    picks: PickExpr[],
    private readonly bias: ReadonlyMap<PickExpr, Bias>,
  ) {
    // Nodes are indexed in id order, so the same nodes give the same indices whatever order they came in.
    this.ids = nodes.map((x) => x.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    this.ids.forEach((id, i) => this.index.set(id, i))
    if (this.index.size !== this.ids.length) throw new Error('node ids must be distinct')
    this.n = this.ids.length
    this.load = new Float64Array(this.n)
    this.nodeHash = new Uint32Array(this.n)
    this.ids.forEach((id, i) => (this.nodeHash[i] = fnv(id)))
    const byLabel = new Map<string, number[]>()
    for (const x of nodes)
      for (const l of x.labels) {
        const list = byLabel.get(l)
        if (list === undefined) byLabel.set(l, [this.index.get(x.id)!])
        else list.push(this.index.get(x.id)!)
      }
    for (const [l, idx] of byLabel) this.labels.set(l, Bits.of(this.n, idx))
    this.readCurrent(new Set(picks.map((p) => p.service)))
  }

  /** The current placement of the program's services on live nodes; the rest is stopped or left alone. */
  private readCurrent(services: Set<string>): void {
    const gone = new Set<string>()
    for (const [svc, per] of Object.entries(this.currentIn)) {
      if (!services.has(svc)) {
        this.warnings.push(`${svc} runs now but this program does not place it: it is left as it is`)
        continue
      }
      const entry = { nodes: [] as number[], count: new Map<number, number>() }
      for (const [id, c] of Object.entries(per)) {
        if (!(c > 0)) continue
        const i = this.index.get(id)
        if (i === undefined) {
          gone.add(id)
          this.moves.stopped += c
          continue
        }
        entry.nodes.push(i)
        entry.count.set(i, c)
        this.load[i]! += c
      }
      entry.nodes.sort((a, b) => a - b)
      this.current.set(svc, entry)
    }
    for (const id of [...gone].sort()) this.warnings.push(`${id} runs instances now but is not among the nodes: they are placed again`)
  }

  run(): SolveResult {
    let failure: Failure | null = null
    try {
      for (const e of this.program.exprs) this.evaluate(e)
    } catch (err) {
      if (!(err instanceof Failure)) throw err
      failure = err
    }
    const placement: Placement = {}
    for (const [svc, per] of this.placed) {
      const o: Record<string, number> = {}
      for (const i of [...per.keys()].sort((a, b) => a - b)) o[this.ids[i]!] = per.get(i)!
      placement[svc] = o
    }
    const sets: Record<string, string[]> = {}
    const counts: Record<string, number> = {}
    for (const [name, b] of this.env) {
      if (typeof b.value === 'number') counts[name] = b.value
      else sets[name] = b.value.indices().map((i) => this.ids[i]!)
    }
    return {
      ok: failure === null,
      placement,
      sets,
      counts,
      afters: this.program.afters.map(afterJson),
      warnings: this.warnings,
      explain: failure === null ? this.notes : failure.lines,
      moves: this.moves,
      failed: failure === null ? null : { line: failure.at.pos.line, col: failure.at.pos.col, expression: show(failure.at) },
    }
  }

  private evaluate(e: Expr): number | Bits {
    const v = this.value(e)
    if (typeof v !== 'number') this.values.set(e, v)
    return v
  }

  private set(e: Expr): Bits {
    return this.evaluate(e) as Bits
  }

  private count(e: Expr): number {
    return this.evaluate(e) as number
  }

  private value(e: Expr): number | Bits {
    switch (e.kind) {
      case 'assign': {
        const v = this.evaluate(e.value)
        this.env.set(e.name, { value: v, def: e })
        return v
      }
      case 'list': {
        const idx: number[] = []
        for (const id of e.items) {
          const i = this.index.get(id)
          if (i === undefined) this.warnings.push(`${e.pos.line}:${e.pos.col}: ${JSON.stringify(id)} is not among the nodes`)
          else idx.push(i)
        }
        return Bits.of(this.n, idx)
      }
      case 'number':
        return e.value
      case 'all':
        return Bits.full(this.n)
      case 'label': {
        const b = this.labels.get(e.name)
        if (b === undefined) this.warnings.push(`${e.pos.line}:${e.pos.col}: no node has the label ${JSON.stringify(e.name)}`)
        return b ?? Bits.empty(this.n)
      }
      case 'var':
        return this.env.get(e.name)!.value
      case 'not':
        return this.set(e.operand).not()
      case 'set': {
        const l = this.set(e.left)
        const r = this.set(e.right)
        return e.op === '&' ? l.and(r) : l.or(r)
      }
      case 'size':
        return this.set(e.set).count()
      case 'arith': {
        const l = this.count(e.left)
        const r = this.count(e.right)
        if (e.op === '/' && r === 0) throw new Failure(e, [`${e.pos.line}:${e.pos.col}: \`${show(e)}\` divides by zero (\`${show(e.right)}\` is 0)`])
        return e.op === '+' ? l + r : e.op === '-' ? l - r : e.op === '*' ? l * r : l / r
      }
      case 'pick':
        return this.pick(e)
    }
  }

  private pick(e: PickExpr): Bits {
    const raw = this.count(e.count)
    const set = this.set(e.set)
    const where = `${e.pos.line}:${e.pos.col}: ${show(e)}`
    // A fractional count is rounded up: `size(ALL)/2` of 5 nodes is 3 instances.
    const k = Math.ceil(raw - 1e-9)
    if (k < 0) throw new Failure(e, [`${where}: the count \`${show(e.count)}\` is ${raw}, below zero`])
    if (k > MAX_INSTANCES) throw new Failure(e, [`${where}: the count \`${show(e.count)}\` is ${raw}, more than ${MAX_INSTANCES} instances`])
    const m = set.count()
    if (k > 0 && (m === 0 || (e.hard && m < k))) {
      const held = m === 0 ? 'holds no node' : `holds ${m}: ${listNodes(this.ids, set.indices())}`
      const need = e.hard ? `${k} distinct node(s) (pickh places at most one instance per node)` : `at least one node for its ${k} instance(s)`
      throw new Failure(e, [`${where} cannot be placed: it needs ${need}, and its set \`${show(e.set)}\` ${held}`, ...this.why(e.set, set)])
    }
    const cur = this.current.get(e.service)
    for (const i of cur?.nodes ?? []) this.load[i]! -= cur!.count.get(i)!
    const cap = e.hard ? 1 : Math.max(1, Math.ceil(k / Math.max(m, 1)))
    let rank: Uint32Array | undefined
    const hint = this.bias.get(e)
    const out =
      k === 0
        ? new Map<number, number>()
        : place({
            k,
            cap,
            members: () => set.indices(),
            inSet: (i) => set.has(i),
            currentNodes: cur?.nodes ?? [],
            current: cur?.count ?? new Map(),
            load: this.load,
            rank: () => (rank ??= this.ranks(e.service)),
            bias: hint === undefined ? undefined : (i) => (hint.avoid?.has(i) === true ? 1 : hint.prefer?.has(i) === true ? -1 : 0),
          })
    if (!e.hard && cap > 1) this.warnings.push(`${where} stacks ${k} instances on ${m} node(s), up to ${cap} per node: its set holds fewer nodes than instances`)
    let kept = 0
    let started = 0
    let stopped = 0
    for (const [i, c] of out) {
      const was = cur?.count.get(i) ?? 0
      kept += Math.min(was, c)
      started += Math.max(0, c - was)
    }
    for (const i of cur?.nodes ?? []) stopped += Math.max(0, cur!.count.get(i)! - (out.get(i) ?? 0))
    this.moves.kept += kept
    this.moves.started += started
    this.moves.stopped += stopped
    this.notes.push(`${where}: ${k} instance(s) on ${out.size} of the set's ${m} node(s); kept ${kept}, started ${started}, stopped ${stopped}`)
    this.placed.set(e.service, out)
    return Bits.of(this.n, out.keys())
  }

  /** Why `set` (the value of `e`) lacks the nodes it lacks. */
  private why(e: Expr, set: Bits): string[] {
    const missing = set.not()
    if (missing.count() === 0) return []
    return exclusions(e, missing, { ids: this.ids, env: this.env, values: this.values, hints: this.hints })
  }

  /** A tie-break per node for one service: the seed and the service pick a key, each node's id mixes in. */
  private ranks(service: string): Uint32Array {
    const key = rngNext(rngSeed(`${this.seed}:${service}`))[0]
    const r = new Uint32Array(this.n)
    for (let i = 0; i < this.n; i++) r[i] = mix(this.nodeHash[i]! ^ key)
    return r
  }
}

function afterJson(a: After): AfterJson {
  return { start: a.service, after: a.conds.map((c) => ({ service: c.service, stage: c.stage, count: c.count, percent: c.percent })) }
}

function fnv(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function mix(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}
