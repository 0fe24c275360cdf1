/**
 * Prints an expression back as source, fully parenthesised only where precedence needs it, so that
 * errors and explanations can quote the part they mean.
 */
import type { Expr } from './ast.js'

const LEVEL: Record<string, number> = { '|': 1, '&': 2, '+': 3, '-': 3, '*': 4, '/': 4 }

const quoteName = (s: string): string => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : JSON.stringify(s))

/** The source form of `e`. `outer` is the binding level of the context (0: none). */
export function show(e: Expr, outer = 0): string {
  switch (e.kind) {
    case 'assign':
      return `${e.name} := ${show(e.value)}`
    case 'list':
      return `(${e.items.map((s) => JSON.stringify(s)).join(', ')})`
    case 'pick':
      return `${e.hard ? 'pickh' : 'pick'}(${quoteName(e.service)}, ${show(e.count)}, ${show(e.set)})`
    case 'all':
      return 'ALL'
    case 'label':
      return `label(${quoteName(e.name)})`
    case 'not':
      return `!${show(e.operand, 5)}`
    case 'set':
    case 'arith': {
      const level = LEVEL[e.op]!
      // Left associative: the right operand needs parentheses at its own level too.
      const s = `${show(e.left, level)} ${e.op} ${show(e.right, level + 1)}`
      return level < outer ? `(${s})` : s
    }
    case 'size':
      return `size(${show(e.set)})`
    case 'number':
      return String(e.value)
    case 'var':
      return e.name
  }
}
