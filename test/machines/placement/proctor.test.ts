/**
 * The proctor: idle until its node leads; leading, it solves the program against the muster and sends
 * each dean its node's share, again only when that changed, was not taken, or was not answered in
 * time; a node that leaves the muster has its instances placed elsewhere; start clauses hold new
 * instances back until they hold; an apply on a node that does not lead names the leader.
 */
import test from 'ava'
import { proctorLogic } from '../../../machines/proctor.machine.js'
import type { MusterNode, MusterService, PlacementProgram } from '../../../machines/placement/types.js'
import { sent, stepper } from '../strew-harness.js'

const H = (c: string) => `sha256:${c.repeat(64)}`
const node = (n: string, services: MusterService[] = [], labels: string[] = []): MusterNode => ({ node: n, address: `10.0.0.${n.slice(1)}:50059`, labels, services })
const run = (name: string, hash = H('a'), up = true): MusterService => ({ name, hash, state: up ? 'running' : 'starting', up })

function proctor() {
  const s = stepper(proctorLogic, { node: 'n1', now: 0, periodMs: 100, retryMs: 400, settleMs: 1000, seed: 'test' })
  let id = 0
  return {
    ...s,
    lead: (term = 7, at?: number, members = ['n1', 'n2', 'n3']) => s.send({ type: 'proctor.view', leading: true, term, leader: '10.0.0.1:50059', members }, at),
    members: (members: string[], at?: number) => s.send({ type: 'proctor.view', leading: true, term: s.context().term, leader: '10.0.0.1:50059', members }, at),
    retire: () => s.send({ type: 'proctor.view', leading: false, term: 0, leader: '10.0.0.2:50059', members: [] }),
    apply: (text: string, bundles: Record<string, string>) => s.send({ type: 'placement.apply', id: ++id, from: `reply:${id}`, caller: 'K', text, bundles }),
    program: (p: PlacementProgram) => s.send({ type: 'proctor.program', program: p }),
    muster: (nodes: MusterNode[], at?: number) => s.send({ type: 'proctor.inventory', nodes }, at),
    taken: (callId: number, at?: number) => s.send({ type: 'dean.assigned', id: callId, programVersion: s.context().program.version, program: null, taken: true }, at),
    tick: (at: number) => s.send({ type: 'timer.fired', name: 'period' }, at),
  }
}

const assigns = (out: ReturnType<ReturnType<typeof proctor>['send']>): Array<Record<string, any>> => out.filter((e) => e.type === 'send' && e.event.type === 'dean.assign').map((e) => ({ to: (e as { to: string }).to, ...(e as { event: Record<string, any> }).event }))

test('an apply on a node that does not lead is refused FAILED_PRECONDITION naming the leader', (t) => {
  const p = proctor()
  p.retire()
  const [r] = sent(p.apply('pick(web, 1, ALL)\n', { web: H('a') }), 'call.refused')
  t.is(r!.code, 'FAILED_PRECONDITION')
  t.regex(r!.message, /10\.0\.0\.2:50059/)
})

test('an apply that does not check, or places a service without a bundle, is refused INVALID_ARGUMENT', (t) => {
  const p = proctor()
  p.lead()
  t.regex(sent(p.apply('pick(web, ALL, 1)\n', { web: H('a') }), 'call.refused')[0]!.message, /^1:\d+: expected/)
  t.regex(sent(p.apply('pick(web, 1, ALL)\n', {}), 'call.refused')[0]!.message, /web has no bundle/)
  t.regex(sent(p.apply('pick(Web, 1, ALL)\n', { Web: H('a') }), 'call.refused')[0]!.message, /cannot be placed/)
  t.is(p.context().program, null)
})

test('leading with a program and a muster, every node is sent its share (empty ones too: they keep the program)', (t) => {
  const p = proctor()
  p.lead()
  p.muster([node('n1'), node('n2'), node('n3')])
  const out = p.apply('pick(web, 2, ALL)\n', { web: H('a') })
  t.like(sent(out, 'placement.applied')[0], { version: 1, services: ['web'] })
  const a = assigns(out)
  t.deepEqual(a.map((x) => x.to).sort(), ['grpc://10.0.0.1:50059/dean', 'grpc://10.0.0.2:50059/dean', 'grpc://10.0.0.3:50059/dean'])
  t.is(a.flatMap((x) => Object.keys(x.services)).length, 2)
  t.true(a.every((x) => x.term === 7 && x.program.version === 1))
  // Taken: nothing is sent again at the next period.
  for (const x of a) p.taken(x.id)
  t.deepEqual(assigns(p.tick(100)), [])
})

test('an assignment not answered within retryMs is sent again; one answered is not', (t) => {
  const p = proctor()
  p.lead(7, 0, ['n1', 'n2'])
  p.muster([node('n1'), node('n2')], 0)
  const a = assigns(p.apply('pick(web, 2, ALL)\n', { web: H('a') }))
  p.taken(a[0]!.id, 50)
  t.deepEqual(assigns(p.tick(100)), [])
  const again = assigns(p.tick(450))
  t.deepEqual(again.map((x) => x.to), [a[1]!.to])
  t.deepEqual(again[0]!.services, a[1]!.services)
})

test('a node the flock drops has its instances placed on the others at once, before its muster leaves the catalog; those elsewhere stay put', (t) => {
  const p = proctor()
  p.lead()
  p.muster([node('n1'), node('n2'), node('n3')])
  const first = assigns(p.apply('pick(web, 2, ALL)\n', { web: H('a') }))
  for (const x of first) p.taken(x.id)
  const holder = first.filter((x) => Object.keys(x.services).length > 0).map((x) => x.to)
  const dead = holder[0]!
  const live = [node('n1'), node('n2'), node('n3')].filter((n) => `grpc://${n.address}/dean` !== dead)
  const moved = assigns(p.members(live.map((n) => n.node)))
  t.is(moved.length, 1, 'only the node that gains an instance is told')
  t.false(holder.includes(moved[0]!.to))
  t.is(Object.keys(moved[0]!.services).length, 1)
  for (const x of moved) p.taken(x.id)
  // The muster leaving the catalog later changes nothing more.
  t.deepEqual(assigns(p.muster(live)), [])
})

test('a new term starts from the muster: instances already running (or starting) are kept, not doubled', (t) => {
  const p = proctor()
  p.program({ version: 3, text: 'pick(web, 2, ALL)\n', bundles: { web: H('a') } })
  p.lead()
  const a = assigns(p.muster([node('n1', [run('web-1')]), node('n2'), node('n3', [run('web-1', H('a'), false)])]))
  const by = Object.fromEntries(a.map((x) => [x.to, Object.keys(x.services)]))
  t.deepEqual(by['grpc://10.0.0.1:50059/dean'], ['web-1'])
  t.deepEqual(by['grpc://10.0.0.2:50059/dean'], [])
  t.deepEqual(by['grpc://10.0.0.3:50059/dean'], ['web-1'])
})

test('a start clause holds a service\'s new instances until it holds', (t) => {
  const p = proctor()
  p.lead(7, 0, ['n1', 'n2'])
  p.muster([node('n1'), node('n2')])
  const a = assigns(p.apply('pick(db, 1, ALL)\npick(web, 2, ALL)\nstart web after db.ready\n', { db: H('d'), web: H('a') }))
  t.deepEqual(a.flatMap((x) => Object.keys(x.services)), ['db-1'])
  t.regex(p.context().solved.held.web, /db\.ready \(0 of 1\)/)
  for (const x of a) p.taken(x.id)
  const dbNode = a.find((x) => Object.keys(x.services).length === 1)!
  const musters = [node('n1'), node('n2')].map((n) => (`grpc://${n.address}/dean` === dbNode.to ? node(n.node, [run('db-1', H('d'))]) : n))
  const b = assigns(p.muster(musters))
  t.deepEqual(b.flatMap((x) => Object.keys(x.services)).filter((n) => n.startsWith('web')).sort(), ['web-1', 'web-1'])
  t.deepEqual(p.context().solved.held, {})
})

test('a dean with a newer program hands it over: the proctor adopts it and assigns again', (t) => {
  const p = proctor()
  p.lead(7, 0, ['n1'])
  p.muster([node('n1')])
  const [a] = assigns(p.apply('pick(web, 1, ALL)\n', { web: H('a') }))
  const newer: PlacementProgram = { version: 5, text: 'pick(web, 1, ALL)\n', bundles: { web: H('b') } }
  const out = p.send({ type: 'dean.assigned', id: a!.id, programVersion: 5, program: newer, taken: false })
  t.is(p.context().program.version, 5)
  t.like(assigns(out)[0], { services: { 'web-1': H('b') } })
})

test('a program that cannot be placed sends nothing and says why', (t) => {
  const p = proctor()
  p.lead(7, 0, ['n1'])
  p.muster([node('n1')])
  const out = p.apply('pickh(web, 2, ALL)\n', { web: H('a') })
  t.deepEqual(assigns(out), [])
  t.false(p.context().solved.ok)
  t.true(p.context().solved.explain.length > 0)
})

test('stopping leading stops the period and forgets the term\'s assignments', (t) => {
  const p = proctor()
  p.lead()
  p.muster([node('n1')])
  p.apply('pick(web, 1, ALL)\n', { web: H('a') })
  const out = p.retire()
  t.true(out.some((e) => e.type === 'timer.cancel' && e.name === 'period'))
  t.is(p.state(), 'idle')
  t.deepEqual(p.context().assigned, {})
  t.is(p.context().program.version, 1, 'the program is kept')
})

test('a new proctor waits for every member\'s muster before it solves, at most settleMs: it never stacks the flock on the nodes seen first', (t) => {
  const p = proctor()
  p.program({ version: 1, text: 'pick(web, 3, ALL)\n', bundles: { web: H('a') } })
  p.lead(7, 0)
  t.deepEqual(assigns(p.muster([node('n1')], 10)), [])
  t.regex(p.context().solved.explain[0], /waiting for the muster of 2 member\(s\) \(n2, n3\)/)
  const all = assigns(p.muster([node('n1'), node('n2'), node('n3')], 20))
  t.is(all.length, 3)
  t.true(all.every((x) => Object.keys(x.services).length === 1), 'spread one per node')
})

test('a member whose muster never comes does not hold placement back past settleMs', (t) => {
  const p = proctor()
  p.program({ version: 1, text: 'pick(web, 2, ALL)\n', bundles: { web: H('a') } })
  p.lead(7, 0)
  t.deepEqual(assigns(p.muster([node('n1'), node('n2')], 10)), [])
  const a = assigns(p.tick(1000))
  t.deepEqual(a.map((x) => x.to).sort(), ['grpc://10.0.0.1:50059/dean', 'grpc://10.0.0.2:50059/dean'])
})

test('a start-after chain starts in order: b waits for a, c for b, each once the one before is ready', (t) => {
  const p = proctor()
  p.lead(7, 0, ['n1', 'n2', 'n3'])
  const nodes = [node('n1'), node('n2'), node('n3')]
  p.muster(nodes)
  const program = 'pick(a, 1, ALL)\npick(b, 1, ALL)\npick(c, 1, ALL)\nstart b after a.ready\nstart c after b.ready\n'
  const placed = (out: ReturnType<ReturnType<typeof proctor>['send']>) => assigns(out).flatMap((x) => Object.keys(x.services).map((n) => [x.to, n] as const))
  const first = placed(p.apply(program, { a: H('a'), b: H('b'), c: H('c') }))
  t.deepEqual(first.map(([, n]) => n), ['a-1'])
  for (const x of assigns(p.tick(100))) p.taken(x.id)
  const where = (to: string) => nodes.find((n) => `grpc://${n.address}/dean` === to)!.node
  // a running but not yet registered: b still waits.
  const aNode = where(first[0]![0])
  const withA = (up: boolean) => nodes.map((n) => (n.node === aNode ? node(n.node, [run('a-1', H('a'), up)]) : n))
  t.deepEqual(placed(p.muster(withA(false))).map(([, n]) => n), [])
  const second = placed(p.muster(withA(true)))
  t.deepEqual(second.map(([, n]) => n).filter((n) => n !== 'a-1'), ['b-1'])
  t.regex(p.context().solved.held.c, /b\.ready \(0 of 1\)/)
  const bNode = where(second.find(([, n]) => n === 'b-1')![0])
  const withB = nodes.map((n) => node(n.node, [...(n.node === aNode ? [run('a-1', H('a'))] : []), ...(n.node === bNode ? [run('b-1', H('b'))] : [])]))
  const third = placed(p.muster(withB))
  t.true(third.some(([, n]) => n === 'c-1'))
  t.deepEqual(p.context().solved.held, {})
})
