/**
 * The khan checker: a parsed program's meaning, without nodes. Sets and counts are told apart here
 * (the grammar allows `ALL + 1`; the checker does not); names must be defined on an earlier line and
 * once; each service is placed by one pick; start clauses name placed services, known stages, sane
 * counts and no cycle. Collects every error rather than stopping at the first.
 */
import { STAGES, type Expr, type PickExpr, type Pos, type Program } from './ast.js'
import { KhanCheckError } from './errors.js'
import { show } from './printer.js'

/** What an expression or a name stands for. A list of strings, used as a set, names nodes by id. */
export type KhanType = 'set' | 'count' | 'list'

/** A checker warning: legal, but probably not what was meant. */
export interface KhanWarning {
  readonly line: number
  readonly col: number
  readonly message: string
}

/** The checker's findings. */
export interface CheckResult {
  readonly errors: KhanCheckError[]
  readonly warnings: KhanWarning[]
  /** Every name, its type and where it was defined, in program order. */
  readonly names: Map<string, { type: KhanType; pos: Pos }>
  /** Every pick, in program order. */
  readonly picks: PickExpr[]
}

const article = (t: KhanType): string => (t === 'count' ? 'a count' : t === 'set' ? 'a set' : 'a list')

/** Checks `program`; an empty `errors` means the solver may run it. */
export function check(program: Program): CheckResult {
  const errors: KhanCheckError[] = []
  const warnings: KhanWarning[] = []
  const names = new Map<string, { type: KhanType; pos: Pos }>()
  const picks: PickExpr[] = []
  const placed = new Map<string, PickExpr>()

  const typeOf = (e: Expr): KhanType | undefined => {
    switch (e.kind) {
      case 'assign': {
        const t = typeOf(e.value)
        const prior = names.get(e.name)
        if (prior !== undefined) errors.push(new KhanCheckError(e.pos, 'a new name', `\`${e.name}\`, already defined at ${prior.pos.line}:${prior.pos.col}`))
        else if (t !== undefined) names.set(e.name, { type: t, pos: e.pos })
        return t
      }
      case 'list':
        return 'list'
      case 'number':
        return 'count'
      case 'all':
      case 'label':
        return 'set'
      case 'var': {
        const n = names.get(e.name)
        if (n === undefined) {
          errors.push(new KhanCheckError(e.pos, 'a name defined on an earlier line', `\`${e.name}\``))
          return undefined
        }
        return n.type
      }
      case 'pick': {
        want(e.count, 'count')
        want(e.set, 'set')
        const prior = placed.get(e.service)
        if (prior !== undefined) errors.push(new KhanCheckError(e.servicePos, 'a service placed by one pick only', `\`${e.service}\`, already placed at ${prior.pos.line}:${prior.pos.col}`))
        else placed.set(e.service, e)
        picks.push(e)
        return 'set'
      }
      case 'not':
        want(e.operand, 'set')
        return 'set'
      case 'set':
        want(e.left, 'set')
        want(e.right, 'set')
        return 'set'
      case 'arith':
        want(e.left, 'count')
        want(e.right, 'count')
        return 'count'
      case 'size':
        want(e.set, 'set')
        return 'count'
    }
  }
  // A list stands for the set of nodes it names, wherever a set is wanted.
  const want = (e: Expr, t: 'set' | 'count'): void => {
    const got = typeOf(e)
    if (got === undefined || got === t || (t === 'set' && got === 'list')) return
    errors.push(new KhanCheckError(e.pos, article(t), `${article(got)} (\`${show(e)}\`)`))
  }
  const hasPick = (e: Expr): boolean => {
    switch (e.kind) {
      case 'pick':
        return true
      case 'not':
        return hasPick(e.operand)
      case 'set':
      case 'arith':
        return hasPick(e.left) || hasPick(e.right)
      case 'size':
        return hasPick(e.set)
      default:
        return false
    }
  }

  for (const e of program.exprs) {
    typeOf(e)
    if (e.kind !== 'assign' && !hasPick(e)) warnings.push({ ...e.pos, message: `\`${show(e)}\` places nothing and names nothing: it has no effect` })
  }
  checkAfters(program, placed, errors, warnings)
  return { errors, warnings, names, picks }
}

function checkAfters(program: Program, placed: Map<string, PickExpr>, errors: KhanCheckError[], warnings: KhanWarning[]): void {
  const edges = new Map<string, { to: string; pos: Pos }[]>()
  for (const a of program.afters) {
    if (!placed.has(a.service)) errors.push(new KhanCheckError(a.servicePos, 'a service placed by a pick', `\`${a.service}\``))
    for (const c of a.conds) {
      if (!STAGES.includes(c.stage)) errors.push(new KhanCheckError(c.stagePos, `a stage (${STAGES.join(', ')})`, `\`${c.stage}\``))
      if (c.count !== null && !Number.isInteger(c.count)) errors.push(new KhanCheckError(c.pos, 'a whole number of instances', `${c.count}`))
      if (c.percent !== null && c.percent > 100) errors.push(new KhanCheckError(c.pos, 'a percentage from 0 to 100', `${c.percent} %`))
      if (c.service === a.service) errors.push(new KhanCheckError(c.pos, 'a condition on another service', `\`${c.service}\`, the service being started`))
      else if (!placed.has(c.service)) {
        if (c.percent !== null) errors.push(new KhanCheckError(c.pos, 'a percentage of a service this program places (a percentage is of the wanted instances)', `\`${c.service}\``))
        else warnings.push({ ...c.pos, message: `\`${c.service}\` is not placed by this program: its instances are counted wherever they run` })
      }
      if (c.service === a.service) continue
      const list = edges.get(a.service) ?? []
      list.push({ to: c.service, pos: a.pos })
      edges.set(a.service, list)
    }
  }
  // A cycle of start clauses would hold every service in it back for ever.
  const state = new Map<string, 'open' | 'done'>()
  const reported = new Set<string>()
  const visit = (s: string, path: string[]): void => {
    if (state.get(s) === 'done') return
    if (state.get(s) === 'open') {
      const cycle = [...path.slice(path.indexOf(s)), s]
      const key = [...cycle].sort().join(' ')
      const first = program.afters.find((a) => a.service === s)!
      if (!reported.has(key)) errors.push(new KhanCheckError(first.pos, 'start clauses without a cycle', cycle.join(' → ')))
      reported.add(key)
      return
    }
    state.set(s, 'open')
    for (const e of edges.get(s) ?? []) visit(e.to, [...path, s])
    state.set(s, 'done')
  }
  for (const a of program.afters) visit(a.service, [])
}
