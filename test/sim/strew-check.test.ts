import test from 'ava'
import { StrewChecker, type StrewNodeView } from '../../actors/sim/strew-check.js'

const HB = 1000

/** A node's view: its catalog (term, version, the up ids) and its own services (id → registered at, ms). */
function view(node: string, term: number, version: number, up: string[], services: Record<string, number | null> = {}, steward = false): StrewNodeView {
  const endpoints: Record<string, { state: string }> = {}
  for (const id of up) endpoints[id] = { state: 'up' }
  return { node, catalog: { term, version, endpoints }, services: Object.entries(services).map(([id, registeredAt]) => ({ id, registeredAt })), stewardTerm: steward ? term : 0 }
}

test('services seen everywhere within the bound: no violation, and visible_hb_max is the worst lag', (t) => {
  const k = new StrewChecker(HB)
  k.observe(1 * HB, [view('a', 1, 1, [], { sa: 500 }, true), view('b', 1, 1, [], { sb: 900 })], true)
  k.observe(2 * HB, [view('a', 1, 2, ['sa', 'sb'], { sa: 500 }, true), view('b', 1, 2, ['sa'], { sb: 900 })], true)
  k.observe(3 * HB, [view('a', 1, 3, ['sa', 'sb'], { sa: 500 }, true), view('b', 1, 3, ['sa', 'sb'], { sb: 900 })], true)
  t.deepEqual(k.summary(), { services: 2, visible_hb_max: 2, retired_hb_max: 0, violations: [] })
})

test('a service that never appears in one node\'s catalog is a strew-visible violation', (t) => {
  const k = new StrewChecker(HB)
  for (let hb = 1; hb <= 6; hb++) k.observe(hb * HB, [view('a', 1, hb, ['sa'], { sa: 0 }, true), view('b', 1, hb, [], { sb: null })], true)
  t.is(k.found.length, 1)
  t.is(k.found[0]!.kind, 'strew-visible')
  t.regex(k.found[0]!.message, /sa of live node a was not in b's catalog within/)
  t.true(k.summary().visible_hb_max > 2)
})

test('a dead node\'s service that stays up is a strew-retired violation; retired ones give retired_hb_max', (t) => {
  const k = new StrewChecker(HB, { retireHb: 5 })
  const svc = { sa: 0 }
  k.observe(1 * HB, [view('a', 1, 1, ['sa', 'sc'], svc, true), view('b', 1, 1, ['sa', 'sc']), view('c', 1, 1, ['sa', 'sc'], { sc: 0 })], true)
  k.fault(1 * HB, { kind: 'crash', nodes: ['c'] })
  // b drops c's service at HB 4; a (the steward's node) keeps it past the bound.
  for (let hb = 2; hb <= 8; hb++) k.observe(hb * HB, [view('a', 1, 1 + hb, ['sa', 'sc'], svc, true), view('b', 1, 1 + hb, hb >= 4 ? ['sa'] : ['sa', 'sc'])], true)
  const kinds = k.found.map((v) => v.kind)
  t.deepEqual(kinds, ['strew-retired'])
  t.regex(k.found[0]!.message, /sc of c, crashed 6 HB ago, is still up in a's catalog/)
})

test('a dead node\'s services gone from every catalog within the bound: no violation', (t) => {
  const k = new StrewChecker(HB)
  k.observe(1 * HB, [view('a', 1, 1, ['sa', 'sc'], { sa: 0 }, true), view('c', 1, 1, ['sa', 'sc'], { sc: 0 })], true)
  k.fault(1 * HB, { kind: 'crash', nodes: ['c'] })
  k.observe(2 * HB, [view('a', 1, 2, ['sa', 'sc'], { sa: 0 }, true)], true)
  k.observe(4 * HB, [view('a', 1, 3, ['sa'], { sa: 0 }, true)], true)
  t.deepEqual(k.found, [])
  t.is(k.summary().retired_hb_max, 3)
})

test('a catalog going back to an older (term, version) is a violation; a higher term starting over is not', (t) => {
  const k = new StrewChecker(HB)
  k.observe(1 * HB, [view('a', 2, 7, [])], true)
  k.observe(2 * HB, [view('a', 3, 1, [])], true)
  t.deepEqual(k.found, [])
  k.observe(3 * HB, [view('a', 3, 0, [])], true)
  k.observe(4 * HB, [view('a', 2, 9, [])], true)
  t.deepEqual(
    k.found.map((v) => v.kind),
    ['strew-catalog-back'],
  )
  t.regex(k.found[0]!.message, /from \(term 3, version 1\) to \(term 3, version 0\)/)
})

test('a service lost across a steward change is a strew-lost violation', (t) => {
  const k = new StrewChecker(HB)
  const svc = { sb: 0 }
  k.observe(1 * HB, [view('a', 1, 1, ['sb'], {}, true), view('b', 1, 1, ['sb'], svc)], true)
  // A new steward (term 2) whose catalog never gets b's service back.
  for (let hb = 2; hb <= 6; hb++) k.observe(hb * HB, [view('a', 2, hb, []), view('b', 2, hb, ['sb'], svc, true)], true)
  t.deepEqual(
    k.found.map((v) => v.kind),
    ['strew-lost'],
  )
})

test('catalogs that never come to one term while the flock agrees are strew-unsettled; a partition pauses visibility', (t) => {
  const k = new StrewChecker(HB, { settleHb: 3 })
  for (let hb = 1; hb <= 5; hb++) k.observe(hb * HB, [view('a', 1, 1, [], { sa: 0 }), view('b', 0, 0, [])], true)
  t.deepEqual(
    k.found.map((v) => v.kind),
    ['strew-unsettled'],
  )
  const p = new StrewChecker(HB)
  p.observe(1 * HB, [view('a', 1, 1, ['sa', 'sb'], { sa: 0 }, true), view('b', 1, 1, ['sa', 'sb'], { sb: 0 })], true)
  p.fault(1 * HB, { kind: 'partition', groups: [['a'], ['b']] })
  for (let hb = 2; hb <= 9; hb++) p.observe(hb * HB, [view('a', 1, hb, ['sa'], { sa: 0 }, true), view('b', 2, hb, ['sb'], { sb: 0 }, true)], false)
  t.deepEqual(p.found, [])
})

test('catalogs still on a crashed steward\'s term are not settled: nothing is owed until a live steward\'s term settles', (t) => {
  const k = new StrewChecker(HB)
  k.observe(1 * HB, [view('a', 1, 1, ['sa'], { sa: 0 }, true), view('b', 1, 1, ['sa'], { sb: null })], true)
  k.fault(1 * HB, { kind: 'crash', nodes: ['a'] })
  // b's service registers after the steward died; b's catalog stays on the dead steward's term.
  for (let hb = 2; hb <= 6; hb++) k.observe(hb * HB, [view('b', 1, 1, [], { sb: 1500 })], true)
  t.deepEqual(k.found, [])
  // b leads now under term 2 and its catalog holds its service at once: seen 0 HB after the settling.
  k.observe(7 * HB, [view('b', 2, 1, ['sb'], { sb: 1500 }, true)], true)
  t.deepEqual(k.found, [])
  t.is(k.summary().visible_hb_max, 0)
})

test('a reboot excuses the absence of its node\'s services for faultGraceHb, not longer', (t) => {
  const k = new StrewChecker(HB, { faultGraceHb: 4 })
  const views = (hb: number, up: string[]) => [view('a', 1, hb, up, { sa: 0 }, true), view('b', 1, hb, up, { sb: 0 })]
  k.observe(1 * HB, views(1, ['sa', 'sb']), true)
  k.fault(1 * HB, { kind: 'reboot', nodes: ['b'] })
  for (let hb = 2; hb <= 7; hb++) k.observe(hb * HB, views(hb, ['sa']), true)
  t.deepEqual(k.found, [])
  k.observe(8 * HB, views(8, ['sa']), true)
  t.deepEqual(
    k.found.map((v) => v.kind),
    ['strew-lost'],
  )
})

test('fed the catalog pushes, lags are timed from the push that brought or took a service, not from the next mark', (t) => {
  const k = new StrewChecker(HB)
  k.observe(1 * HB, [view('a', 1, 1, [], { sa: null }, true), view('c', 1, 1, ['sc'], { sc: 0 })], true)
  // Before the next mark: c's service reaches a at 1100; a's service registers at 1200 and reaches a at 1270, c (a whole catalog) at 1300.
  k.catalogChanged('a', 1100, ['sc'])
  k.catalogChanged('a', 1270, ['sa'])
  k.catalogChanged('c', 1300, null)
  k.observe(2 * HB, [view('a', 1, 2, ['sa', 'sc'], { sa: 1200 }, true), view('c', 1, 2, ['sa', 'sc'], { sc: 0 })], true)
  t.is(k.summary().visible_hb_max, 0.1)
  k.fault(2 * HB, { kind: 'crash', nodes: ['c'] })
  k.catalogChanged('a', 2350, ['sc'])
  k.observe(3 * HB, [view('a', 1, 3, ['sa'], { sa: 1200 }, true)], true)
  t.is(k.summary().retired_hb_max, 0.35)
  t.deepEqual(k.found, [])
})
