/**
 * The follower: the settle window before leading or registering, terms that only go up, the local
 * steward and registry started, fed the members and retired; registration with the named steward,
 * accepted only from the flock's leader, retried each heartbeat, again after a refusal.
 */
import test from 'ava'
import { followerLogic } from '../../machines/follower.machine.js'
import type { Member } from '../../machines/strew/events.js'
import { sent, stepper, timers } from './strew-harness.js'

const HB = 500

function follower() {
  const s = stepper(followerLogic, { node: 'me', nodeId: '/b/h1/me/Reeve/Reeve1', netId: '/Reeve1_0/me/net/10.0.0.5:50059', publicKey: 'a2V5', hbMs: HB, now: 1_000 })
  const view = (at: number, o: { leading?: boolean; leader?: string; steward?: string; members?: Member[]; listHeld?: boolean; lost?: { node: string; until: number } } = {}) =>
    s.send({ type: 'flock.view', leading: o.leading ?? false, leader: o.leader ?? 'L', steward: o.steward ?? 'L:50059', members: o.members ?? [], ...(o.listHeld === undefined ? {} : { listHeld: o.listHeld }), ...(o.lost === undefined ? {} : { lost: o.lost }) }, at)
  const fire = (name: string, at: number) => s.send({ type: 'timer.fired', name }, at)
  return { ...s, view, fire }
}

test('what the flock names must hold for the settle window (2 HB) before the node registers', (t) => {
  const f = follower()
  t.is(f.state(), 'lead.notLeading|follow.unnamed')
  t.deepEqual(timers(f.view(1_000)), [{ type: 'timer.set', name: 'settle', ms: 2 * HB }])
  t.deepEqual(timers(f.view(1_300, { leader: 'M', steward: 'M:50059' })), [{ type: 'timer.set', name: 'settle', ms: 2 * HB }], 'another steward named: the window starts again')
  t.deepEqual(sent(f.view(1_600, { leader: 'M', steward: 'M:50059' }), 'registry.register'), [], 'the same again changes nothing')
  const out = f.fire('settle', 2_300)
  t.deepEqual(sent(out, 'registry.register', 'grpc://M:50059/registry'), [{ type: 'registry.register', id: 1, steward: 'M', nodeId: '/b/h1/me/Reeve/Reeve1', netId: '/Reeve1_0/me/net/10.0.0.5:50059', publicKey: 'a2V5', seenTerm: 0 }])
  t.is(f.state(), 'lead.notLeading|follow.registering.calling')
})

test('registered: BUSY from the leader’s key tells the reeve to take its call-back; DONE names the steward to the reeve', (t) => {
  const f = follower()
  f.view(1_000)
  f.fire('settle', 2_000)
  const busy = f.send({ type: 'registry.busy', id: 1, stewardKeyId: '/Steward1_0/L/keys/x', stewardKey: 'bA==', stewardNode: 'L' })
  t.deepEqual(sent(busy, 'reeve.registering', 'me/reeve'), [{ type: 'reeve.registering', keyId: '/Steward1_0/L/keys/x', key: 'bA==' }])
  const done = f.send({ type: 'registry.done', id: 1, term: 77, stewardKeyId: '/Steward1_0/L/keys/x', stewardKey: 'bA==', stewardNode: 'L' })
  t.deepEqual(sent(done, 'reeve.steward', 'me/reeve'), [{ type: 'reeve.steward', address: 'L:50059', term: 77, keyId: '/Steward1_0/L/keys/x', key: 'bA==' }])
  t.is(f.state(), 'lead.notLeading|follow.following')
})

test('a steward whose key is not the flock leader’s is not accepted; a failure is retried each heartbeat', (t) => {
  const f = follower()
  f.view(1_000)
  f.fire('settle', 2_000)
  const out = f.send({ type: 'registry.busy', id: 1, stewardKeyId: 'k', stewardKey: 'bA==', stewardNode: 'impostor' })
  t.deepEqual([sent(out, 'reeve.registering'), timers(out)], [[], [{ type: 'timer.set', name: 'retry', ms: HB }]])
  t.is(f.state(), 'lead.notLeading|follow.retrying')
  const [again] = sent(f.fire('retry', 2_500), 'registry.register')
  t.is(again!.id, 2)
  t.deepEqual(sent(f.send({ type: 'registry.done', id: 1, term: 1, stewardKeyId: 'k', stewardKey: '', stewardNode: 'L' }), 'reeve.steward'), [], 'an answer to an old attempt is ignored')
  t.deepEqual(timers(f.send({ type: 'call.failed', id: 2, request: 'registry.register', code: 'UNAVAILABLE', message: 'x' })), [{ type: 'timer.set', name: 'retry', ms: HB }])
  f.fire('retry', 3_000)
  t.deepEqual(timers(f.send({ type: 'registry.failed', id: 3, error: 'registration refused' })), [{ type: 'timer.set', name: 'retry', ms: HB }])
})

test('a refusal reported by the reeve means registering again at once; one about another steward is ignored', (t) => {
  const f = follower()
  f.view(1_000)
  f.fire('settle', 2_000)
  f.send({ type: 'registry.done', id: 1, term: 5, stewardKeyId: 'k', stewardKey: '', stewardNode: 'L' })
  t.deepEqual(sent(f.send({ type: 'reeve.refused', address: 'other:1', term: 5, code: 'PERMISSION_DENIED' }), 'registry.register'), [])
  t.deepEqual(sent(f.send({ type: 'reeve.refused', address: 'L:50059', term: 5, code: 'FAILED_PRECONDITION' }), 'registry.register').map((e) => e.id), [2])
})

test('back to the steward registered with before the window ran out: nothing to do again', (t) => {
  const f = follower()
  f.view(1_000)
  f.fire('settle', 2_000)
  f.send({ type: 'registry.done', id: 1, term: 5, stewardKeyId: 'k', stewardKey: '', stewardNode: 'L' })
  f.view(2_100, { leader: 'M', steward: 'M:50059' })
  t.is(f.state(), 'lead.notLeading|follow.settling')
  const back = f.view(2_200)
  t.deepEqual([sent(back, 'registry.register'), f.state()], [[], 'lead.notLeading|follow.following'])
  t.deepEqual(timers(back), [{ type: 'timer.cancel', name: 'settle' }])
})

test('leading for the settle window starts the steward and registry under a term above the last; they get the members and retire', (t) => {
  const f = follower()
  const members = [{ node: 'me', host: '10.0.0.5' }]
  t.deepEqual(timers(f.view(1_000, { leading: true, leader: 'me', steward: 'me:50059', members })).filter((e) => e.type === 'timer.set' && e.name === 'lead'), [{ type: 'timer.set', name: 'lead', ms: 2 * HB }])
  t.deepEqual(sent(f.view(1_500, { leading: false }), 'steward.lead'), [], 'a moment alone leads to nothing')
  f.view(1_600, { leading: true, leader: 'me', steward: 'me:50059', members })
  const started = f.fire('lead', 2_600)
  t.deepEqual(sent(started, 'steward.lead', 'me/steward'), [{ type: 'steward.lead', term: 2_600 }])
  t.deepEqual(sent(started, 'registry.lead', 'me/registry'), [{ type: 'registry.lead', term: 2_600 }])
  t.deepEqual(sent(started, 'steward.members').map((e) => e.members), [members])
  t.deepEqual(sent(started, 'registry.members').map((e) => e.members), [members])
  const more = [...members, { node: 'n2', host: '10.0.0.6' }]
  t.deepEqual(sent(f.view(2_700, { leading: true, leader: 'me', steward: 'me:50059', members: more }), 'steward.members').map((e) => e.members.length), [2])
  t.deepEqual(sent(f.view(2_800, { leading: true, leader: 'me', steward: 'me:50059', members: [...more].reverse() }), 'steward.members'), [], 'the same members: nothing sent')
  const retired = f.view(2_900, { leading: false, leader: 'X', steward: 'X:1' })
  t.deepEqual([sent(retired, 'steward.retire').length, sent(retired, 'registry.retire').length], [1, 1])
  // Leading again at a time before the last term (a clock that went back): the term still goes up.
  f.view(2_000, { leading: true, leader: 'me', steward: 'me:50059', members })
  t.deepEqual(sent(f.fire('lead', 2_100), 'steward.lead').map((e) => e.term), [2_601])
})

test('the reeve gets the listed nodes; while a copy is taken afresh it keeps the last set, less the leader the flock gave up on', (t) => {
  const f = follower()
  const m = (...nodes: string[]) => nodes.map((node) => ({ node, host: node }))
  const members = (out: ReturnType<typeof f.view>) => sent(out, 'reeve.members', 'me/reeve').map((e) => e.nodes)
  t.deepEqual(members(f.view(1_000, { members: m('me', 'L', 'a'), listHeld: true })), [['L', 'a', 'me']])
  // Joined another flock: the copy starts empty; the last set stays.
  t.deepEqual(members(f.view(1_100, { leader: 'b', steward: 'b:50059', members: [], listHeld: true })), [])
  // The same while the flock names L lost (it left L while suspecting it): L is left out at once.
  t.deepEqual(members(f.view(1_200, { leader: 'b', steward: 'b:50059', members: [], listHeld: true, lost: { node: 'L', until: 6_000 } })), [['a', 'me']])
  t.deepEqual(members(f.view(1_300, { leader: 'c', steward: 'c:50059', members: [], listHeld: true, lost: { node: 'L', until: 6_000 } })), [], 'nothing new')
  t.deepEqual(members(f.view(1_400, { leader: 'b', steward: 'b:50059', members: m('b', 'me', 'a'), listHeld: true, lost: { node: 'L', until: 6_000 } })), [['a', 'b', 'me']], 'the copy, once taken')
})

test('a lost leader named past its time is not left out of the last set; nor is anything when the node holds no list', (t) => {
  const f = follower()
  const m = (...nodes: string[]) => nodes.map((node) => ({ node, host: node }))
  const members = (out: ReturnType<typeof f.view>) => sent(out, 'reeve.members', 'me/reeve').map((e) => e.nodes)
  t.deepEqual(members(f.view(1_000, { members: m('me', 'L', 'a'), listHeld: true })), [['L', 'a', 'me']])
  t.deepEqual(members(f.view(7_000, { leader: 'b', steward: 'b:50059', members: [], listHeld: true, lost: { node: 'L', until: 6_000 } })), [])
  const g = follower()
  t.deepEqual(sent(g.view(1_000, { members: m('me', 'L'), listHeld: true }), 'reeve.members', 'me/reeve').map((e) => e.nodes), [['L', 'me']])
  t.deepEqual(sent(g.view(1_100, { members: [], listHeld: false, lost: { node: 'L', until: 6_000 } }), 'reeve.members', 'me/reeve').map((e) => e.nodes), [null])
})
