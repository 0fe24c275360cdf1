/**
 * Bad input never crashes or hangs the khan language: any text parses or fails with a KhanError;
 * nesting deep enough to exhaust the stack is an error at a line and column; whatever compiles, solves
 * (or fails with an explanation) without throwing.
 */
import test from 'ava'
import fc from 'fast-check'
import { parse, MAX_DEPTH } from '../../../machines/khan/parser.js'
import { compile } from '../../../machines/khan/compile.js'
import { solve } from '../../../machines/khan/solver.js'
import { KhanError, KhanParseError } from '../../../machines/khan/errors.js'

const pieces = ['pick', 'pickh', '(', ')', ',', 'ALL', 'label', 'size', '!', '~', '&', '|', '+', '-', '*', '/', '%', '.', ':=', 'start', 'after', 'of', 'x', 'y', 's', 't', '1', '2.5', '0', '"a"', '"n1"', '\n', ' ', '#', 'ready']
const soup = fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((xs) => xs.join(' '))
const nodes = [{ id: 'n1', labels: ['a'] }, { id: 'n2', labels: [] }, { id: 'n3', labels: ['a', 'b'] }]

test('any text parses or fails with a KhanError naming a line and column', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), soup), (src) => {
      try {
        parse(src)
      } catch (err) {
        if (!(err instanceof KhanError)) throw err
        if (!/^\d+:\d+: expected .+, got .+$/s.test(err.message)) throw new Error(`badly formed: ${err.message}`)
      }
    }),
    { numRuns: 3000 },
  )
  t.pass()
})

test('whatever compiles solves, or fails with an explanation, without throwing', (t) => {
  fc.assert(
    fc.property(soup, fc.integer(), (src, seed) => {
      const c = compile(src)
      if (c.program === null) return
      const r = solve(c.program, nodes, { seed })
      if (!r.ok && r.explain.length === 0) throw new Error('a failure without an explanation')
    }),
    { numRuns: 3000 },
  )
  t.pass()
})

test('nesting past the bound is an error, not a stack overflow', (t) => {
  const deep = [
    '('.repeat(100_000) + 'ALL' + ')'.repeat(100_000),
    '!'.repeat(100_000) + 'ALL',
    'x := ' + 'ALL & '.repeat(100_000) + 'ALL',
    'pick(s, ' + '1 + '.repeat(100_000) + '1, ALL)',
    'a := '.repeat(100_000) + 'ALL',
  ]
  for (const src of deep) t.throws(() => parse(src), { instanceOf: KhanParseError, message: /nested at most 200 deep|at most 200 names assigned/ })
  // At the bound itself, all is well.
  t.is(parse('x := ' + '('.repeat(MAX_DEPTH - 2) + 'ALL' + ')'.repeat(MAX_DEPTH - 2)).exprs.length, 1)
  t.is(compile('x := ' + 'ALL & '.repeat(MAX_DEPTH - 2) + 'ALL').errors.length, 0)
})
