/**
 * The khan grammar: every form parses to the tree it means, precedence and associativity are as
 * docs/KHAN.md says, and every syntax error names the line and column and what was expected.
 */
import test from 'ava'
import { parse } from '../../../machines/khan/parser.js'
import { lex } from '../../../machines/khan/lexer.js'
import { show } from '../../../machines/khan/printer.js'
import { KhanError, KhanLexError, KhanParseError } from '../../../machines/khan/errors.js'
import type { Expr } from '../../../machines/khan/ast.js'

const one = (src: string): Expr => {
  const p = parse(src)
  if (p.exprs.length !== 1) throw new Error(`${p.exprs.length} expressions`)
  return p.exprs[0]!
}
/** Fully parenthesised form, to see the tree's shape. */
const tree = (e: Expr): string => {
  switch (e.kind) {
    case 'set':
    case 'arith':
      return `(${tree(e.left)} ${e.op} ${tree(e.right)})`
    case 'not':
      return `!${tree(e.operand)}`
    case 'assign':
      return `${e.name} := ${tree(e.value)}`
    case 'size':
      return `size(${tree(e.set)})`
    case 'pick':
      return `${e.hard ? 'pickh' : 'pick'}(${e.service}, ${tree(e.count)}, ${tree(e.set)})`
    default:
      return show(e)
  }
}
const fails = (t: import('ava').ExecutionContext, src: string, cls: typeof KhanError, line: number, col: number, re: RegExp) => {
  const err = t.throws(() => parse(src), { instanceOf: cls })!
  t.is(`${err.line}:${err.col}`, `${line}:${col}`, err.message)
  t.regex(err.message, new RegExp(`^${line}:${col}: expected .+, got .+`))
  t.regex(err.message, re)
}

test('every expression form parses', (t) => {
  t.is(tree(one('pick(cserver, 3, ALL)')), 'pick(cserver, 3, ALL)')
  t.is(tree(one('pickh(web, 2, label(gpu))')), 'pickh(web, 2, label(gpu))')
  t.is(tree(one('x := ALL')), 'x := ALL')
  t.is(tree(one('ns3 := 3')), 'ns3 := 3')
  t.is(tree(one('x := label("zone=a")')), 'x := label("zone=a")')
  t.is(tree(one('pick("my-svc.v2", size(ALL) / 2, !label(a))')), 'pick(my-svc.v2, (size(ALL) / 2), !label(a))')
  t.is(tree(one('x := y := pick(s, 1, ALL)')), 'x := y := pick(s, 1, ALL)')
  const list = one('hosts := ("n1", "n2", "n3")')
  t.deepEqual(list.kind === 'assign' && list.value.kind === 'list' ? list.value.items : null, ['n1', 'n2', 'n3'])
  t.is(tree(one('a & b | c')), '((a & b) | c)')
  t.is(tree(one('a | b & c')), '(a | (b & c))')
  t.is(tree(one('!a | b')), '(!a | b)')
  t.is(tree(one('~a & !!b')), '(!a & !!b)')
  t.is(tree(one('1 + 2 * 3 - 4 / 5')), '((1 + (2 * 3)) - (4 / 5))')
  t.is(tree(one('10 - 2 - 3')), '((10 - 2) - 3)')
  t.is(tree(one('(1 + 2) * 3')), '((1 + 2) * 3)')
  t.is(tree(one('size(ALL) - size(cserv)')), '(size(ALL) - size(cserv))')
  t.is(tree(one('2.5')), '2.5')
})

test('a program: expressions one per line, comments and blank lines, a pick wrapped inside its parentheses', (t) => {
  const p = parse('# stix.khan\n\ncserv := pick(cserver, 3, ALL)   # three servers\npick(cagent,\n     size(ALL)-size(cserv),\n     ~cserv)\n\n')
  t.is(p.exprs.length, 2)
  t.deepEqual(p.exprs.map((e) => e.pos), [{ line: 3, col: 1 }, { line: 4, col: 1 }])
  t.is(p.afters.length, 0)
})

test('start clauses: a service, N of, P % of, with and without stages, commas optional', (t) => {
  const p = parse('pick(S, 1, ALL)\npick(T, 2, ALL)\npick(U, 2, ALL)\nstart S after 30 % of T.ready 2 of U\nstart U after T.start, 1 of V.done\n')
  t.is(p.afters.length, 2)
  t.deepEqual(
    p.afters.map((a) => [a.service, a.conds.map((c) => [c.service, c.stage, c.count, c.percent])]),
    [
      ['S', [['T', 'ready', null, 30], ['U', 'ready', 2, null]]],
      ['U', [['T', 'start', null, 100], ['V', 'done', 1, null]]],
    ],
  )
  t.deepEqual(p.afters[0]!.pos, { line: 4, col: 1 })
})

test('an empty program is a program that places nothing', (t) => {
  t.deepEqual(parse(''), { exprs: [], afters: [] })
  t.deepEqual(parse('# nothing yet\n\n'), { exprs: [], afters: [] })
})

test('lexer errors name line and column', (t) => {
  fails(t, 'x := ALL\npick(a, 1, ALL) $', KhanLexError, 2, 17, /got `\$`/)
  fails(t, 'pick("abc, 1, ALL)', KhanLexError, 1, 6, /closing `"`/)
  fails(t, 'pick("a\\nb", 1, ALL)', KhanLexError, 1, 8, /backslash/)
  fails(t, 'x := ALL\u0007', KhanLexError, 1, 9, /control character U\+0007/)
  t.is(lex('a := 1').length, 5) // a := 1 newline eof
})

test('parser errors name line and column and what was expected', (t) => {
  fails(t, 'pick(a 1, ALL)', KhanParseError, 1, 8, /expected `,` after the service name, got the number 1/)
  fails(t, 'pick(a, 1, ALL', KhanParseError, 1, 15, /`\)` to close pick\(…\) \(its `\(` is at 1:5\), got the end of the program/)
  fails(t, 'x := size(ALL\n\ny := 1', KhanParseError, 3, 1, /`\)` to close size\(…\) \(its `\(` is at 1:10\), got `y`/)
  fails(t, 'x := ALL\ny := ALL &', KhanParseError, 2, 11, /expected a count or a set.*got the end of the program/)
  fails(t, 'x := ALL &\ny := ALL', KhanParseError, 1, 11, /expected a count or a set.*got the end of the line/)
  fails(t, 'ALL ALL', KhanParseError, 1, 5, /the end of the line \(one expression per line\), got `ALL`/)
  fails(t, 'pick := 3', KhanParseError, 1, 1, /a name to assign to, not a keyword, got `pick`/)
  fails(t, 'start := ALL', KhanParseError, 1, 7, /expected a service name/)
  fails(t, 'x := label(1)', KhanParseError, 1, 12, /a label \(a name or a string\), got the number 1/)
  fails(t, 'pick(ALL, 1, ALL)', KhanParseError, 1, 6, /a service name \(a name or a string\), not a keyword, got `ALL`/)
  fails(t, 'x := ("a", 1)', KhanParseError, 1, 12, /expected a string, got the number 1/)
  fails(t, 'pick(s, 1, ("a"))', KhanParseError, 1, 13, /a list of strings may only be assigned/)
  fails(t, 'pick(s, 1, ALL))', KhanParseError, 1, 16, /got `\)`/)
  fails(t, 'pick(s, 1, ALL)\nstart s after t\npick(u, 1, ALL)', KhanParseError, 3, 1, /expected `start` \(expressions come before the start clauses\)/)
  fails(t, 'pick(s, 1, ALL)\nstart s.ready after t', KhanParseError, 2, 8, /expected `after` \(a start clause names a service, not a stage\)/)
  fails(t, 'pick(s, 1, ALL)\nstart s before t', KhanParseError, 2, 9, /expected `after`, got `before`/)
  fails(t, 'pick(s, 1, ALL)\nstart s after 30 % t', KhanParseError, 2, 20, /`of` after the percentage/)
  fails(t, 'pick(s, 1, ALL)\nstart s after 3 t', KhanParseError, 2, 17, /`%` or `of` after the count/)
  fails(t, 'pick(s, 1, ALL)\nstart s after t.', KhanParseError, 2, 17, /a stage name after `\.`/)
  fails(t, 'pick(s, 1, ALL)\nstart s after', KhanParseError, 2, 14, /expected a condition/)
})
