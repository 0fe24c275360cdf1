/**
 * The khan placement language's tokens and syntax tree. A program is expressions, one per line, then
 * optional `start S after …` clauses (docs/KHAN.md). Every node carries the line and column (1-based)
 * where it starts, so the checker and the solver can point at the source.
 */

/** A place in the source: 1-based line and column (columns count UTF-16 code units; a tab is one). */
export interface Pos {
  readonly line: number
  readonly col: number
}

/** Token kinds. Keywords are `ident` tokens; the parser tells them apart by text. */
export type TokenKind = 'ident' | 'number' | 'string' | ':=' | '(' | ')' | ',' | '!' | '&' | '|' | '+' | '-' | '*' | '/' | '%' | '.' | 'newline' | 'eof'

/** One token: its kind, its source text (the value, for strings) and where it starts. */
export interface Token {
  readonly kind: TokenKind
  readonly text: string
  readonly pos: Pos
}

/** The words a name may not be: they start the language's forms. */
export const KEYWORDS: ReadonlySet<string> = new Set(['pick', 'pickh', 'size', 'label', 'ALL', 'start', 'after', 'of'])

/** Arithmetic on counts. */
export type ArithOp = '+' | '-' | '*' | '/'
/** Set intersection and union. */
export type SetOp = '&' | '|'

/** An expression. Whether it is a set or a count is the checker's business, not the grammar's. */
export type Expr =
  | { readonly kind: 'assign'; readonly name: string; readonly value: Expr; readonly pos: Pos }
  | { readonly kind: 'list'; readonly items: readonly string[]; readonly pos: Pos }
  | { readonly kind: 'pick'; readonly hard: boolean; readonly service: string; readonly servicePos: Pos; readonly count: Expr; readonly set: Expr; readonly pos: Pos }
  | { readonly kind: 'all'; readonly pos: Pos }
  | { readonly kind: 'label'; readonly name: string; readonly pos: Pos }
  | { readonly kind: 'not'; readonly operand: Expr; readonly pos: Pos }
  | { readonly kind: 'set'; readonly op: SetOp; readonly left: Expr; readonly right: Expr; readonly pos: Pos }
  | { readonly kind: 'arith'; readonly op: ArithOp; readonly left: Expr; readonly right: Expr; readonly pos: Pos }
  | { readonly kind: 'size'; readonly set: Expr; readonly pos: Pos }
  | { readonly kind: 'number'; readonly value: number; readonly pos: Pos }
  | { readonly kind: 'var'; readonly name: string; readonly pos: Pos }

/** The pick form, on its own. */
export type PickExpr = Extract<Expr, { kind: 'pick' }>

/** The stages a service passes through, as its heartbeats report them. */
export const STAGES: readonly string[] = ['start', 'ready', 'done', 'unknown']

/**
 * One condition of a start clause: `T[.stage]` (all of T's wanted instances), `N of T[.stage]` (at least
 * N instances) or `P % of T[.stage]` (at least P percent of T's wanted instances). The stage defaults
 * to `ready`.
 */
export interface Cond {
  readonly service: string
  readonly stage: string
  readonly count: number | null
  readonly percent: number | null
  readonly pos: Pos
  readonly stagePos: Pos
}

/** `start S after cond cond …`: S's instances start only once every condition holds. */
export interface After {
  readonly service: string
  readonly conds: readonly Cond[]
  readonly pos: Pos
  readonly servicePos: Pos
}

/** A parsed program. */
export interface Program {
  readonly exprs: readonly Expr[]
  readonly afters: readonly After[]
}
