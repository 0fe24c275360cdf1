/**
 * The khan checker: sets and counts kept apart, names defined once and before use, one pick per
 * service, start clauses that make sense; every error a KhanCheckError at the right line and column.
 */
import test from 'ava'
import { parse } from '../../../machines/khan/parser.js'
import { check } from '../../../machines/khan/checker.js'
import { KhanCheckError } from '../../../machines/khan/errors.js'

const errors = (src: string): string[] => {
  const r = check(parse(src))
  for (const e of r.errors) if (!(e instanceof KhanCheckError)) throw new Error('not a KhanCheckError')
  return r.errors.map((e) => e.message)
}

test('a sound program checks, with the type of every name and the picks in order', (t) => {
  const r = check(parse('ns3 := 3\nhosts := ("n1", "n2")\ncserv := pick(cserver, ns3, ALL)\npick(cagent, size(ALL) - size(cserv), !cserv & hosts)\nstart cagent after 50 % of cserver\n'))
  t.deepEqual(r.errors, [])
  t.deepEqual(r.warnings, [])
  t.deepEqual([...r.names].map(([n, v]) => [n, v.type]), [['ns3', 'count'], ['hosts', 'list'], ['cserv', 'set']])
  t.deepEqual(r.picks.map((p) => p.service), ['cserver', 'cagent'])
})

test('sets where counts belong, and counts where sets belong, are errors at the operand', (t) => {
  t.deepEqual(errors('pick(a, ALL, ALL)'), ['1:9: expected a count, got a set (`ALL`)'])
  t.deepEqual(errors('pick(a, 1, 2)'), ['1:12: expected a set, got a count (`2`)'])
  t.deepEqual(errors('x := ALL + 1'), ['1:6: expected a count, got a set (`ALL`)'])
  t.deepEqual(errors('x := 3\ny := !x'), ['2:7: expected a set, got a count (`x`)'])
  t.deepEqual(errors('x := size(1 + 2)'), ['1:13: expected a set, got a count (`1 + 2`)'])
  t.deepEqual(errors('x := ("a")\ny := x + 1'), ['2:6: expected a count, got a list (`x`)'])
})

test('names: defined on an earlier line, once', (t) => {
  t.deepEqual(errors('pick(a, 1, later)\nlater := ALL'), ['1:12: expected a name defined on an earlier line, got `later`'])
  t.deepEqual(errors('x := ALL\n\nx := label(a)'), ['3:1: expected a new name, got `x`, already defined at 1:1'])
})

test('a service is placed by one pick', (t) => {
  t.deepEqual(errors('pick(a, 1, ALL)\npickh(a, 2, ALL)'), ['2:7: expected a service placed by one pick only, got `a`, already placed at 1:1'])
})

test('start clauses: placed services, known stages, sane numbers, no cycles', (t) => {
  const head = 'pick(S, 1, ALL)\npick(T, 2, ALL)\n'
  t.deepEqual(errors(head + 'start X after T'), ['3:7: expected a service placed by a pick, got `X`'])
  t.deepEqual(errors(head + 'start S after T.warm'), ['3:17: expected a stage (start, ready, done, unknown), got `warm`'])
  t.deepEqual(errors(head + 'start S after 1.5 of T'), ['3:15: expected a whole number of instances, got 1.5'])
  t.deepEqual(errors(head + 'start S after 150 % of T'), ['3:15: expected a percentage from 0 to 100, got 150 %'])
  t.deepEqual(errors(head + 'start S after S'), ['3:15: expected a condition on another service, got `S`, the service being started'])
  t.deepEqual(errors(head + 'start S after 50 % of V'), ['3:15: expected a percentage of a service this program places (a percentage is of the wanted instances), got `V`'])
  t.deepEqual(errors(head + 'start S after T\nstart T after S'), ['3:1: expected start clauses without a cycle, got S → T → S'])
  const r = check(parse(head + 'start S after 2 of V'))
  t.deepEqual(r.errors, [])
  t.deepEqual(r.warnings, [{ line: 3, col: 15, message: '`V` is not placed by this program: its instances are counted wherever they run' }])
})

test('every error is reported, not just the first; a line with no effect is a warning', (t) => {
  t.is(errors('pick(a, ALL, 1)\npick(b, 1, nope)').length, 3)
  t.deepEqual(check(parse('ALL & label(a)')).warnings, [{ line: 1, col: 5, message: '`ALL & label(a)` places nothing and names nothing: it has no effect' }])
})
