/**
 * Why a set lacks the nodes it lacks: walks a set expression and charges each missing node to the
 * constraint that removed it (for `a & b`, to `a` if `a` lacks it, else to `b`; for `a | b`, to both
 * sides). One line per constraint: where it is, what it is, which nodes it excluded and why.
 */
import type { Expr, PickExpr } from './ast.js'
import type { Bits } from './bits.js'
import { show } from './printer.js'

/** What the solver knows of a name: its value and how it was defined. */
export interface Binding {
  readonly value: number | Bits
  readonly def: Expr
}

/** The evaluator's memory, for explaining after the fact. */
export interface ExplainContext {
  readonly ids: readonly string[]
  readonly env: ReadonlyMap<string, Binding>
  /** The set each set-valued subexpression evaluated to. */
  readonly values: ReadonlyMap<Expr, Bits>
  /** Collects, for each earlier pick that excluded nodes, which nodes it should leave or take. */
  readonly hints?: Hint[]
}

/**
 * What an earlier pick could do differently: `avoid` the nodes (they were excluded for being in its
 * set) or take them (they were excluded for not being in it). The solver retries with these.
 */
export interface Hint {
  readonly pick: PickExpr
  readonly nodes: Bits
  readonly avoid: boolean
}

/** The pick that made `x`'s value, when `x` is a pick or a name for one. */
function pickOf(x: Expr, cx: ExplainContext): PickExpr | undefined {
  let def: Expr | undefined = x.kind === 'var' ? cx.env.get(x.name)?.def : x
  while (def?.kind === 'assign') def = def.value
  return def?.kind === 'pick' ? def : undefined
}

/** Up to ten node ids, then how many more. */
export function listNodes(ids: readonly string[], indices: readonly number[]): string {
  const shown = indices.slice(0, 10).map((i) => ids[i]!)
  return indices.length > 10 ? `${shown.join(', ')} and ${indices.length - 10} more` : shown.join(', ')
}

const at = (e: Expr): string => `${e.pos.line}:${e.pos.col}`
const pickWhere = (p: PickExpr): string => `${show(p)} at ${at(p)}`

/**
 * Lines explaining why the nodes of `missing` are not in the value of `e`. `useful` (all of `missing`
 * at the top) narrows the hints to nodes the rest of the expression would accept: in `a & label(gpu)`,
 * `a` is told to take only gpu nodes.
 */
export function exclusions(e: Expr, missing: Bits, cx: ExplainContext, out: string[] = [], useful: Bits = missing): string[] {
  if (missing.count() === 0) return out
  const hint = (pick: PickExpr, avoid: boolean) => {
    const nodes = missing.and(useful)
    if (nodes.count() > 0) cx.hints?.push({ pick, nodes, avoid })
  }
  const line = (why: string) => {
    const idx = missing.indices()
    out.push(`${at(e)}: \`${show(e)}\` excluded ${idx.length} node(s): ${listNodes(cx.ids, idx)} (${why})`)
  }
  const value = (x: Expr): Bits => cx.values.get(x)!
  switch (e.kind) {
    case 'label':
      line(`no label ${JSON.stringify(e.name)}`)
      break
    case 'list':
      line('not in the list')
      break
    case 'pick':
      line(`not chosen by ${pickWhere(e)}`)
      hint(e, false)
      break
    case 'not': {
      // Excluded for being in a pick's set: say which pick put them there, since that is what to change.
      const p = pickOf(e.operand, cx)
      line(p !== undefined ? `in \`${show(e.operand)}\`: chosen by ${pickWhere(p)}` : `in \`${show(e.operand)}\``)
      if (p !== undefined) hint(p, true)
      break
    }
    case 'var': {
      const b = cx.env.get(e.name)!
      let def = b.def
      while (def.kind === 'assign') def = def.value
      if (def.kind === 'pick') {
        line(`not chosen by ${e.name} := ${pickWhere(def)}`)
        hint(def, false)
      } else if (def.kind === 'list') line(`not listed in ${e.name} at ${at(b.def)}`)
      else exclusions(def, missing, cx, out, useful)
      break
    }
    case 'set':
      if (e.op === '&') {
        const l = value(e.left)
        exclusions(e.left, missing.minus(l), cx, out, useful.and(value(e.right)))
        exclusions(e.right, missing.and(l), cx, out, useful.and(l))
      } else {
        line('in neither side')
        exclusions(e.left, missing, cx, out, useful)
        exclusions(e.right, missing, cx, out, useful)
      }
      break
    case 'assign':
      exclusions(e.value, missing, cx, out, useful)
      break
    default:
      break
  }
  return out
}
