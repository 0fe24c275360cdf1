/**
 * `crux khan check` and `crux khan solve` through the built bundle (CLI.md, Placement): the JSON
 * fields the contract names, errors as FILE:LINE:COL, the explanation of an unsatisfiable program,
 * and the exit codes (1 for a bad or unsatisfiable program or a bad input file, 2 for usage).
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const CRUX = 'dist/bin/crux.bundle.mjs'
const dir = mkdtempSync(join(tmpdir(), 'crux-khan-'))
const file = (name: string, text: string) => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}
const crux = (...args: string[]) => spawnSync(process.execPath, [CRUX, 'khan', ...args], { encoding: 'utf8', timeout: 30_000 })

const STIX = file('stix.khan', 'cserv := pick(cserver, 3, ALL)\npick(cagent, size(ALL)-size(cserv), ~cserv)\npick(prog1, 2, ALL)\npick(prog2, size(ALL), ALL)\nstart cagent after 50 % of cserver 1 of prog1.start\n')
const NODES = file('nodes.json', JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ id: `n${i}`, labels: i < 2 ? ['gpu'] : [] }))))

test('check: a sound program exits 0, and --json tells its services, names and start clauses', (t) => {
  const r = crux('check', STIX, '--json')
  t.is(r.status, 0, r.stderr)
  const j = JSON.parse(r.stdout)
  t.true(j.ok)
  t.is(j.expressions, 4)
  t.deepEqual(j.services.map((s: { service: string }) => s.service), ['cserver', 'cagent', 'prog1', 'prog2'])
  t.deepEqual(j.names, { cserv: 'set' })
  t.deepEqual(j.afters, [{ start: 'cagent', after: [{ service: 'cserver', stage: 'ready', count: null, percent: 50 }, { service: 'prog1', stage: 'start', count: 1, percent: null }] }])
  t.regex(crux('check', STIX).stdout, /ok: 4 expression\(s\), 4 service\(s\) placed/)
})

test('check: every error as FILE:LINE:COL: expected …, got …, exit 1', (t) => {
  const bad = file('bad.khan', '# placement\nx := pick(a, ALL, 1)\ny := z\n')
  const r = crux('check', bad)
  t.is(r.status, 1)
  t.deepEqual(r.stderr.trim().split('\n'), [`${bad}:2:14: expected a count, got a set (\`ALL\`)`, `${bad}:2:19: expected a set, got a count (\`1\`)`, `${bad}:3:6: expected a name defined on an earlier line, got \`z\``])
  const syntax = file('syntax.khan', 'pick(a, 1, ALL\n')
  const s = crux('check', syntax, '--json')
  t.is(s.status, 1)
  const j = JSON.parse(s.stdout)
  t.false(j.ok)
  t.like(j.errors[0], { line: 2, col: 1, error: 'KhanParseError' })
  t.is(s.stderr, `${syntax}:2:1: expected \`)\` to close pick(…) (its \`(\` is at 1:5), got the end of the program\n`)
})

test('solve --json: the placement, sets, start clauses and moves; deterministic for a seed', (t) => {
  const r = crux('solve', STIX, '--nodes', NODES, '--seed', '7', '--json')
  t.is(r.status, 0, r.stderr)
  const j = JSON.parse(r.stdout)
  for (const k of ['ok', 'placement', 'sets', 'afters', 'warnings', 'explain']) t.true(k in j, k)
  t.true(j.ok)
  t.deepEqual(Object.keys(j.placement), ['cserver', 'cagent', 'prog1', 'prog2'])
  t.deepEqual(Object.keys(j.placement.cserver), j.sets.cserv)
  t.is(j.afters.length, 1)
  t.deepEqual(j.explain, [])
  t.is(crux('solve', STIX, '--nodes', NODES, '--seed', '7', '--json').stdout, r.stdout)
  // Given its own solution as the current placement, nothing moves, whatever the seed.
  const current = file('current.json', JSON.stringify(j.placement))
  const again = JSON.parse(crux('solve', STIX, '--nodes', NODES, '--current', current, '--seed', 'other', '--json').stdout)
  t.deepEqual(again.placement, j.placement)
  t.deepEqual(again.moves, { started: 0, stopped: 0, kept: 12 })
})

test('solve: pickh with too few nodes exits 1 and explains; pick stacks and warns', (t) => {
  const hard = file('hard.khan', 'pickh(w, 3, label(gpu))\n')
  const r = crux('solve', hard, '--nodes', NODES)
  t.is(r.status, 1)
  t.deepEqual(r.stderr.trim().split('\n'), [
    `${hard}:1:1: pickh(w, 3, label(gpu)) cannot be placed: it needs 3 distinct node(s) (pickh places at most one instance per node), and its set \`label(gpu)\` holds 2: n0, n1`,
    `${hard}:1:13: \`label(gpu)\` excluded 3 node(s): n2, n3, n4 (no label "gpu")`,
  ])
  const j = JSON.parse(crux('solve', hard, '--nodes', NODES, '--json').stdout)
  t.false(j.ok)
  t.is(j.explain.length, 2)
  const soft = file('soft.khan', 'pick(w, 3, label(gpu))\n')
  const s = crux('solve', soft, '--nodes', NODES, '--explain')
  t.is(s.status, 0)
  t.regex(s.stdout, /^w: n0×2 n1$|^w: n0 n1×2$/m)
  t.regex(s.stdout, /soft\.khan:1:1: pick\(w, 3, label\(gpu\)\): 3 instance\(s\) on 2 of the set's 2 node\(s\)/)
  t.regex(s.stderr, /^warning: .*soft\.khan:1:1: pick\(w, 3, label\(gpu\)\) stacks 3 instances on 2 node\(s\), up to 2 per node/m)
})

test('bad input files: one line naming the file (bad JSON: its line and column), exit 1; unreadable or missing flags exit 2', (t) => {
  const badJson = file('bad.json', '[\n  {"id": "a",}\n]')
  const r = crux('solve', STIX, '--nodes', badJson)
  t.is(r.status, 1)
  t.regex(r.stderr, new RegExp(`^crux: ${badJson.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:14: not JSON: .+\n$`))
  const dup = file('dup.json', '[{"id":"a"},{"id":"a"}]')
  t.is(crux('solve', STIX, '--nodes', dup).stderr, `crux: ${dup}: node 2: the id "a" is given twice\n`)
  const cur = file('cur.json', '{"cserver":{"n0":-1}}')
  const c = crux('solve', STIX, '--nodes', NODES, '--current', cur)
  t.is(c.status, 1)
  t.is(c.stderr, `crux: ${cur}: "cserver" on "n0": expected a whole count of 0 or more, got -1\n`)
  t.is(crux('solve', STIX, '--nodes', join(dir, 'missing.json')).status, 2)
  t.is(crux('check', join(dir, 'missing.khan')).status, 2)
  const noNodes = crux('solve', STIX)
  t.is(noNodes.status, 2)
  t.is(noNodes.stderr.trim().split('\n').length, 1)
})
