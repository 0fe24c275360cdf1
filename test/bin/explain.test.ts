/** `crux replay TRACE --explain NODE` on a simulator trace: the answer agrees with the replayed state. */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const crux = (...args: string[]) => spawnSync(process.execPath, ['dist/bin/crux.js', ...args], { encoding: 'utf8', timeout: 60_000 })

interface Explanation {
  id: string
  answer: string
  final: { role: string; flock: string; leader: string; members: number }
  transitions: Array<{ seq: number; from: unknown; to: { role: string; flock: string; leader: string }; rule: string; cause: string }>
}

test('every node of an agreed simulation is explained: exactly one leads, the rest follow it, each answer names the rule and its cause', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-explain-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const trace = join(dir, 'run.ndjson')
  const sim = crux('sim', '--nodes', '5', '--seed', '3', '--trace', trace, '--json')
  t.is(sim.status, 0, sim.stderr)
  const es = ['n0', 'n1', 'n2', 'n3', 'n4'].map((n) => {
    const r = crux('replay', trace, '--explain', n, '--json')
    t.is(r.status, 0, r.stderr)
    return JSON.parse(r.stdout) as Explanation
  })
  const leaders = es.filter((e) => e.final.leader === e.id)
  t.is(leaders.length, 1)
  t.regex(leaders[0]!.answer, /^n\d is leader of flock \S+ \(5 node\(s\), leader\.(forming|stable)\) since seq \d+, rule [a-z-]+, caused by /)
  for (const e of es) {
    t.is(e.final.leader, leaders[0]!.id, 'all follow one leader')
    const last = e.transitions.at(-1)!.to
    t.deepEqual([last.role, last.flock, last.leader], [e.final.role, e.final.flock, e.final.leader], 'the last change is where it ends')
    t.is(e.transitions[0]!.from, null)
    for (const x of e.transitions) t.true(x.rule !== '' && x.cause !== '')
  }
  const follower = es.find((e) => e !== leaders[0])!
  t.regex(follower.answer, /is not leader: it follows /)
})

test('--explain of a node the journal does not have: one clear line, exit 2', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-explain-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const trace = join(dir, 'run.ndjson')
  t.is(crux('sim', '--nodes', '3', '--seed', '1', '--trace', trace).status, 0)
  const r = crux('replay', trace, '--explain', 'n9')
  t.is(r.status, 2)
  t.regex(r.stderr, /^crux: no node "n9" in this journal/)
})

test('under loss, --explain shows who was suspected, through whom it was checked, and who refuted it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-explain-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const trace = join(dir, 'run.ndjson')
  t.is(crux('sim', '--nodes', '20', '--seed', '3', '--loss', '0.2', '--until-hb', '40', '--trace', trace, '--json').status, 0)
  const r = crux('replay', trace, '--explain', 'n3', '--json')
  t.is(r.status, 0, r.stderr)
  const e = JSON.parse(r.stdout) as { suspicions: Array<{ rule: string; what: string }> }
  const raised = e.suspicions.filter((s) => s.rule === 'suspect-leader')
  t.true(raised.length > 0)
  t.regex(raised[0]!.what, /^suspected its leader \S+, checked through \S+, \S+, \S+$/)
  t.true(e.suspicions.some((s) => s.rule === 'leader-refuted' && /refuted by \S+$/.test(s.what)))
  const text = crux('replay', trace, '--explain', 'n3')
  t.regex(text.stdout, /Suspicions \(\d+\):\n {2}seq \d+ {2}\+[\d.]+ s {2}suspect-leader: suspected its leader/)
})
