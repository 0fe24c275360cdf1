import test from 'ava'
import type { ConfabAnswer } from '../../../machines/flock/types.js'
import type { MonRecord, StatusView } from '../../../machines/status/types.js'
import { explainLive } from '../../../actors/viz/live-explain.js'
import { createLive, liveView, pollTargets, readAnswer, readMon, standingOf } from '../../../actors/viz/live.js'

const T = Date.UTC(2026, 11, 7, 8, 0, 0)
const mon = (op: MonRecord['op'], node: string, flock: string, leader: string, more: Partial<MonRecord> = {}): MonRecord => ({ op, node, flock, leader, n: 0, oflock: '', t: 0, cause: '', ...more })
const names = (node: string, flock: string, leader: [string, string], role: string, entries: Array<[string, string]> = []): ConfabAnswer => ({
  nonce: 1, node, flock, leader: { id: leader[0], addr: leader[1], horde: '' }, members: entries.length, steward: '', registry: '', epoch: '1-ab', role,
  entries: entries.map(([id, addr]) => ({ id, addr, horde: '' })), index: 0, count: 1, ok: true, reason: '',
})
const status = (flock: string, leader: string, nodes: number, stable: boolean): StatusView => ({ at: T, flocks: [{ flock, leader, nodes, since: T - 6000, stable }], rebooting: [] })

test('every node of a flock is drawn, from MonInfo records, answers and the leader list, with its role and address', (t) => {
  const s = createLive(3000)
  readMon(s, mon('LeaderStart', 'a', 'F', 'a', { cause: 'start-own-flock' }), T)
  readMon(s, mon('Join', 'b', 'F', 'b', { oflock: 'E', cause: 'join-bigger-flock' }), T + 10)
  readMon(s, mon('Probe', 'b', 'F', 'a', { cause: 'probe-round' }), T + 20)
  // c never sent a record (it joined before anyone listened): only its leader's list names it.
  readAnswer(s, names('a', 'F', ['a', '10.0.0.1:1'], 'leader.stable', [['a', '10.0.0.1:1'], ['b', '10.0.0.2:1'], ['c', '10.0.0.3:1']]), '10.0.0.1:1', T + 100)
  readAnswer(s, names('b', 'F', ['a', '10.0.0.1:1'], 'member.following'), '10.0.0.2:1', T + 100)
  const v = liveView(s, status('F', 'a', 3, true), T + 200)
  t.is(v.flocks.length, 1)
  t.like(v.flocks[0], { flock: 'F', leader: 'a', nodes: 3, stable: true, reported: true })
  t.deepEqual(v.flocks[0]!.members.map((m) => [m.id, m.role, m.addr, m.source]), [
    ['a', 'leader.stable', '10.0.0.1:1', 'node'],
    ['b', 'member.following', '10.0.0.2:1', 'node'],
    ['c', 'member', '10.0.0.3:1', 'leader list'],
  ])
  t.deepEqual(pollTargets(s, ['10.0.0.9:1']), { names: ['10.0.0.9:1', '10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1'], members: ['10.0.0.1:1'] })
})

test('the newest source decides where a node stands; one that left or went silent is gone', (t) => {
  const s = createLive(3000)
  readAnswer(s, names('b', 'F', ['a', '10.0.0.1:1'], 'member.following'), '10.0.0.2:1', T)
  readMon(s, mon('Join', 'b', 'G', 'x', { oflock: 'F' }), T + 50)
  t.like(standingOf(s.nodes.get('b')!), { flock: 'G', leader: 'x', role: 'member', source: 'moninfo' })
  readMon(s, mon('Exit', 'b', 'G', 'x', { cause: 'leave' }), T + 60)
  t.deepEqual(liveView(s, null, T + 100).flocks, [])
  // Silent since long ago: kept while its leader still reports its flock and no fresh list says otherwise.
  readMon(s, mon('Join', 'd', 'H', 'h', { oflock: 'D' }), T + 40_000)
  t.is(liveView(s, status('H', 'h', 2, true), T + 60_000).flocks[0]!.members.length, 1)
  t.is(liveView(s, null, T + 60_000).flocks.length, 0)
  readAnswer(s, names('h', 'H', ['h', '10.0.0.8:1'], 'leader.stable', [['h', '10.0.0.8:1']]), '10.0.0.8:1', T + 59_000)
  t.deepEqual(liveView(s, status('H', 'h', 1, true), T + 60_000).flocks[0]!.members.map((m) => m.id), ['h'])
  // Gone for 10 × forgetMs: forgotten altogether, explanation included.
  t.true(s.nodes.has('d'))
  liveView(s, null, T + 70_001)
  t.false(s.nodes.has('d'))
  t.false(s.nodes.has('b'))
  t.is(explainLive(s, null, 'd', T + 90_000), null)
})

test('a member is explained: whom it follows, since which record and rule, and what the answer rests on', (t) => {
  const s = createLive(3000)
  readMon(s, mon('Probe', 'b', 'E', 'b', { cause: 'probe-round' }), T)
  readMon(s, mon('Join', 'b', 'F', 'b', { oflock: 'E', cause: 'join-bigger-flock' }), T + 1000)
  readMon(s, mon('Probe', 'b', 'F', 'a', { cause: 'probe-round' }), T + 2000)
  readAnswer(s, names('a', 'F', ['a', '10.0.0.1:1'], 'leader.stable', [['a', '10.0.0.1:1'], ['b', '10.0.0.2:1']]), '10.0.0.1:1', T + 3000)
  readAnswer(s, names('b', 'F', ['a', '10.0.0.1:1'], 'member.following'), '10.0.0.2:1', T + 3000)
  const why = explainLive(s, status('F', 'a', 2, true), 'b', T + 3500)!
  t.is(
    why.answer.split(' Under')[0],
    'b is not leader: it follows a (10.0.0.1:1) in flock F (member.following, epoch 1-ab); a itself answers that it leads F (leader.stable); it joined F at 08:00:01 UTC (rule join-bigger-flock: F is a bigger flock name than its old flock E), and has named a its leader since 08:00:02 UTC (Probe, rule probe-round). The status analyser judges the flock stable: the same leader has reported 2 node(s) since 07:59:54 UTC.',
  )
  t.regex(why.answer, /election rule/)
  t.regex(why.basis, /^Based on its own Confab answer at 08:00:03 UTC .*; 3 MonInfo record\(s\) .*crux replay FILE --explain b\.$/)
  t.is(why.history.length, 3)
  t.regex(why.history[0]!.what, /^Probe · flock F · leader a/)
  t.is(explainLive(s, null, 'nobody', T), null)
})

test('a leader is explained by the members that name it, and when it started leading', (t) => {
  const s = createLive(3000)
  readMon(s, mon('LeaderStart', 'a', 'F', 'a', { oflock: 'E', cause: 'start-over' }), T)
  readAnswer(s, names('a', 'F', ['a', '10.0.0.1:1'], 'leader.stable', [['a', '10.0.0.1:1'], ['b', '10.0.0.2:1'], ['c', '10.0.0.3:1']]), '10.0.0.1:1', T + 100)
  readAnswer(s, names('b', 'F', ['a', '10.0.0.1:1'], 'member.following'), '10.0.0.2:1', T + 100)
  const why = explainLive(s, status('F', 'a', 3, false), 'a', T + 200)!
  t.true(why.answer.startsWith('a is leader of flock F (leader.stable, epoch 1-ab): 1 of the 2 other node(s) known in it name it as their leader in their own answers; it started leading F at 08:00:00 UTC (rule start-over, leaving flock E). The status analyser sees the flock still settling'), why.answer)
})
