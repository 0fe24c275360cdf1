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
}

/** Up to ten node ids, then how many more. */
export function listNodes(ids: readonly string[], indices: readonly number[]): string {
  const shown = indices.slice(0, 10).map((i) => ids[i]!)
  return indices.length > 10 ? `${shown.join(', ')} and ${indices.length - 10} more` : shown.join(', ')
}

const at = (e: Expr): string => `${e.pos.line}:${e.pos.col}`
const pickWhere = (p: PickExpr): string => `${show(p)} at ${at(p)}`

/** Lines explaining why the nodes of `missing` are not in the value of `e`. */
export function exclusions(e: Expr, missing: Bits, cx: ExplainContext, out: string[] = []): string[] {
  if (missing.count() === 0) return out
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
      break
    case 'not': {
      // Excluded for being in a pick's set: say which pick put them there, since that is what to change.
      const b = e.operand.kind === 'var' ? cx.env.get(e.operand.name) : undefined
      let def = b?.def
      while (def?.kind === 'assign') def = def.value
      line(def?.kind === 'pick' ? `in \`${show(e.operand)}\`: chosen by ${pickWhere(def)}` : `in \`${show(e.operand)}\``)
      break
    }
    case 'var': {
      const b = cx.env.get(e.name)!
      let def = b.def
      while (def.kind === 'assign') def = def.value
      if (def.kind === 'pick') line(`not chosen by ${e.name} := ${pickWhere(def)}`)
      else if (def.kind === 'list') line(`not listed in ${e.name} at ${at(b.def)}`)
      else exclusions(def, missing, cx, out)
      break
    }
    case 'set':
      if (e.op === '&') {
        const l = value(e.left)
        exclusions(e.left, missing.minus(l), cx, out)
        exclusions(e.right, missing.and(l), cx, out)
      } else {
        line('in neither side')
        exclusions(e.left, missing, cx, out)
        exclusions(e.right, missing, cx, out)
      }
      break
    case 'assign':
      exclusions(e.value, missing, cx, out)
      break
    default:
      break
  }
  return out
}
