/**
 * The khan parser: tokens to a {@link Program}. Recursive descent over this grammar (docs/KHAN.md):
 *
 *   program := line* start*
 *   line    := (NAME ':=')* (expr | '(' STRING (',' STRING)* ')') NEWLINE
 *   expr    := or;  or := and ('|' and)*;  and := sum ('&' sum)*;  sum := prod (('+'|'-') prod)*
 *   prod    := unary (('*'|'/') unary)*;  unary := '!' unary | atom
 *   atom    := NUMBER | ALL | NAME | '(' expr ')' | label '(' (NAME|STRING) ')' | size '(' expr ')'
 *            | (pick|pickh) '(' (NAME|STRING) ',' expr ',' expr ')'
 *   start   := 'start' SERVICE 'after' cond (','? cond)* NEWLINE
 *   cond    := SERVICE ['.' STAGE] | NUMBER ['%'] 'of' SERVICE ['.' STAGE]
 *
 * Throws {@link KhanParseError} (or the lexer's {@link KhanLexError}) at the first error.
 */
import { KEYWORDS, type After, type Cond, type Expr, type Pos, type Program, type Token, type TokenKind } from './ast.js'
import { KhanParseError } from './errors.js'
import { describe, lex } from './lexer.js'

/**
 * How deeply expressions may nest (parentheses, `!`, pick arguments, chains of operators). The
 * checker, the solver and the printer recurse over the tree; a bound keeps a hostile program from
 * exhausting the stack, and no real placement comes near it.
 */
export const MAX_DEPTH = 200

/** Parses a whole program. */
export function parse(source: string): Program {
  return new Parser(lex(source)).program()
}

class Parser {
  private i = 0
  private nest = 0
  private readonly depths = new WeakMap<Expr, number>()
  constructor(private readonly toks: Token[]) {}

  private get t(): Token {
    return this.toks[this.i]!
  }
  private peek(n = 1): Token {
    return this.toks[Math.min(this.i + n, this.toks.length - 1)]!
  }
  private fail(expected: string, t: Token = this.t): never {
    throw new KhanParseError(t.pos, expected, describe(t))
  }
  private expect(kind: TokenKind, expected = `\`${kind}\``): Token {
    if (this.t.kind !== kind) this.fail(expected)
    return this.toks[this.i++]!
  }
  private is(kind: TokenKind): boolean {
    return this.t.kind === kind
  }
  private isWord(word: string, t: Token = this.t): boolean {
    return t.kind === 'ident' && t.text === word
  }
  /** A closing parenthesis; missing, the error says where its `(` was, since newlines inside do not end the line. */
  private close(open: Token, what: string): void {
    if (!this.is(')')) this.fail(`\`)\` to close ${what} (its \`(\` is at ${open.pos.line}:${open.pos.col})`)
    this.i++
  }
  private endOfLine(): void {
    if (this.is('eof')) return
    this.expect('newline', 'the end of the line (one expression per line)')
  }

  program(): Program {
    const exprs: Expr[] = []
    const afters: After[] = []
    while (!this.is('eof') && !this.isWord('start')) {
      exprs.push(this.line())
      this.endOfLine()
    }
    while (!this.is('eof')) {
      if (!this.isWord('start')) this.fail('`start` (expressions come before the start clauses) or the end of the program')
      afters.push(this.after())
      this.endOfLine()
    }
    return { exprs, afters }
  }

  private line(): Expr {
    if (this.is('ident') && this.peek().kind === ':=') {
      const name = this.name('a name to assign to')
      if (this.nest >= MAX_DEPTH) this.fail(`at most ${MAX_DEPTH} names assigned at once`, name)
      this.i++
      if (this.is('(') && this.peek().kind === 'string') return { kind: 'assign', name: name.text, value: this.list(), pos: name.pos }
      this.nest++
      try {
        const value = this.line()
        return this.deep({ kind: 'assign', name: name.text, value, pos: name.pos }, name, value)
      } finally {
        this.nest--
      }
    }
    return this.expr()
  }

  private name(what: string): Token {
    const t = this.t
    if (t.kind !== 'ident') this.fail(what)
    if (KEYWORDS.has(t.text)) this.fail(`${what}, not a keyword`)
    this.i++
    return t
  }

  private list(): Expr {
    const open = this.expect('(')
    const items: string[] = [this.expect('string', 'a string').text]
    while (this.is(',')) {
      this.i++
      items.push(this.expect('string', 'a string').text)
    }
    if (!this.is(')')) this.fail(`\`,\` or \`)\` to close the list (its \`(\` is at ${open.pos.line}:${open.pos.col})`)
    this.i++
    return { kind: 'list', items, pos: open.pos }
  }

  private expr(): Expr {
    return this.binary(0)
  }

  // Binary levels, lowest first: | then & then + - then * /.
  private static readonly LEVELS: readonly (readonly TokenKind[])[] = [['|'], ['&'], ['+', '-'], ['*', '/']]

  private binary(level: number): Expr {
    if (level === Parser.LEVELS.length) return this.unary()
    let left = this.binary(level + 1)
    while (Parser.LEVELS[level]!.includes(this.t.kind)) {
      const op = this.t
      this.i++
      const right = this.binary(level + 1)
      left = this.deep(op.kind === '&' || op.kind === '|' ? { kind: 'set', op: op.kind, left, right, pos: op.pos } : { kind: 'arith', op: op.kind as '+', left, right, pos: op.pos }, op, left, right)
    }
    return left
  }

  /** Records `e`'s depth (its deepest child's plus one); too deep is an error at `at`. */
  private deep<T extends Expr>(e: T, at: Token, ...children: Expr[]): T {
    const d = 1 + Math.max(0, ...children.map((c) => this.depths.get(c) ?? 1))
    if (d > MAX_DEPTH) this.fail(`an expression nested at most ${MAX_DEPTH} deep`, at)
    this.depths.set(e, d)
    return e
  }

  private unary(): Expr {
    // Every nested expression passes through here: bound the recursion before it can overflow.
    if (this.nest >= MAX_DEPTH) this.fail(`an expression nested at most ${MAX_DEPTH} deep`)
    this.nest++
    try {
      if (this.is('!')) {
        const op = this.t
        this.i++
        const operand = this.unary()
        return this.deep({ kind: 'not', operand, pos: op.pos }, op, operand)
      }
      return this.atom()
    } finally {
      this.nest--
    }
  }

  private atom(): Expr {
    const t = this.t
    const what = 'a count or a set (a number, ALL, a name, pick(…), pickh(…), label(…), size(…), ! or `(`)'
    if (t.kind === 'number') {
      this.i++
      return { kind: 'number', value: Number(t.text), pos: t.pos }
    }
    if (t.kind === '(') {
      this.i++
      if (this.is('string')) this.fail('an expression (a list of strings may only be assigned: NAME := ("a", "b"))')
      const inner = this.expr()
      this.close(t, 'the parenthesis')
      return inner
    }
    if (t.kind !== 'ident') this.fail(what)
    switch (t.text) {
      case 'ALL':
        this.i++
        return { kind: 'all', pos: t.pos }
      case 'pick':
      case 'pickh': {
        this.i++
        const open = this.expect('(', `\`(\` after ${t.text}`)
        const svc = this.service()
        this.expect(',', '`,` after the service name')
        const count = this.expr()
        this.expect(',', '`,` after the count')
        const set = this.expr()
        this.close(open, `${t.text}(…)`)
        return this.deep({ kind: 'pick', hard: t.text === 'pickh', service: svc.text, servicePos: svc.pos, count, set, pos: t.pos }, t, count, set)
      }
      case 'label': {
        this.i++
        const open = this.expect('(', '`(` after label')
        const n = this.t
        if (n.kind !== 'ident' && n.kind !== 'string') this.fail('a label (a name or a string)')
        this.i++
        this.close(open, 'label(…)')
        return { kind: 'label', name: n.text, pos: t.pos }
      }
      case 'size': {
        this.i++
        const open = this.expect('(', '`(` after size')
        const set = this.expr()
        this.close(open, 'size(…)')
        return this.deep({ kind: 'size', set, pos: t.pos }, t, set)
      }
      default:
        if (KEYWORDS.has(t.text)) this.fail(what)
        this.i++
        return { kind: 'var', name: t.text, pos: t.pos }
    }
  }

  /** A service: a name (keywords excepted) or a string, for names with `-` or `.` in them. */
  private service(): Token {
    if (this.is('string')) {
      if (this.t.text === '') this.fail('a service name, not an empty string')
      return this.toks[this.i++]!
    }
    return this.name('a service name (a name or a string)')
  }

  private after(): After {
    const pos = this.t.pos
    this.i++
    const svc = this.service()
    if (this.is('.')) this.fail('`after` (a start clause names a service, not a stage)')
    if (!this.isWord('after')) this.fail('`after`')
    this.i++
    const conds: Cond[] = [this.cond()]
    while (!this.is('newline') && !this.is('eof')) {
      if (this.is(',')) this.i++
      conds.push(this.cond())
    }
    return { service: svc.text, conds, pos, servicePos: svc.pos }
  }

  private cond(): Cond {
    const pos = this.t.pos
    let count: number | null = null
    let percent: number | null = null
    if (this.is('number')) {
      const n = Number(this.toks[this.i++]!.text)
      if (this.is('%')) {
        this.i++
        percent = n
      } else count = n
      if (!this.isWord('of')) this.fail(percent === null ? '`%` or `of` after the count' : '`of` after the percentage')
      this.i++
    } else if (!this.is('ident') && !this.is('string')) this.fail('a condition: SERVICE[.STAGE], N of SERVICE[.STAGE] or P % of SERVICE[.STAGE]')
    const svc = this.service()
    let stage = 'ready'
    let stagePos: Pos = svc.pos
    if (this.is('.')) {
      this.i++
      const s = this.t
      if (s.kind !== 'ident') this.fail('a stage name after `.`')
      this.i++
      stage = s.text
      stagePos = s.pos
    }
    if (count === null && percent === null) percent = 100
    return { service: svc.text, stage, count, percent, pos, stagePos }
  }
}
