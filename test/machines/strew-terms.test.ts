/**
 * Steward terms never go back after a partition heals (issue 15): a registration tells the highest
 * steward term its node has followed; a registry at or below it raises its term above it before DONE
 * and tells its steward (which keeps its catalog and pushes it whole under the new term) and its
 * follower; a reeve takes such a push, forwards under the new term and tells its follower; a reeve never
 * takes a catalog of a lower term, and asks to register again when its steward pushes one.
 */
import test from 'ava'
import { followerLogic } from '../../machines/follower.machine.js'
import { reeveLogic } from '../../machines/reeve.machine.js'
import { registryLogic } from '../../machines/registry.machine.js'
import { stewardLogic } from '../../machines/steward.machine.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import { sends, sent, stepper } from './strew-harness.js'

const FP = 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99'
const STEWARD_KEY = `/Steward1_0/st/keys/${FP}`
const reeveKey = (node: string) => `/Reeve1_0/${node}/keys/${FP}`
const ep = (node: string, svc: string): CatalogEndpoint => ({
  nodeId: `/b/h1/${node}/${svc}/${svc}1`, netId: `/${svc}1_0/${node}/net/${node}:5000`, horde: 'h1', api: `${svc}1`, instance: svc, address: `${node}:5000`, state: 'up', keyId: '/Pastiche1_0/*/keys/*',
})

// ---------------------------------------------------------------- the registry

function registry(term: number) {
  const s = stepper(registryLogic, { node: 'st', stewardKeyId: STEWARD_KEY, stewardKey: 'c3Q=', keys: [], now: 0 })
  s.send({ type: 'registry.lead', term })
  s.send({ type: 'registry.members', members: [{ node: 'n1', host: '10.0.0.1' }, { node: 'st', host: '10.0.0.9' }] })
  let n = 0
  /** A registration of n1 telling `seenTerm` (absent: an older caller), proven: what DONE's step sent. */
  const register = (seenTerm?: number) => {
    const out = s.send({
      type: 'registry.register', id: ++n, from: `reply:${n}`, caller: '', node: 'n1', nodeId: '/b/h1/n1/Reeve/Reeve1', netId: '/Reeve1_0/n1/net/10.0.0.1:50059',
      keyId: reeveKey('n1'), publicKey: 'a2V5MQ==', keyNode: 'n1', callback: '10.0.0.1:50059', netHost: '10.0.0.1', challenge: 'Y2g=', ...(seenTerm === undefined ? {} : { seenTerm }),
    })
    const [pull] = sent(out, 'keys.pull')
    return s.send({ type: 'keys.pulled', id: pull!.id, proven: true })
  }
  return { ...s, register }
}

test('registry: a node that followed a steward at or above this term makes it go above that term before DONE', (t) => {
  const r = registry(2_000)
  const out = r.register(25_922)
  t.deepEqual(sent(out, 'registry.done').map((e) => e.term), [25_923])
  t.deepEqual(sent(out, 'steward.raise', 'st/steward'), [{ type: 'steward.raise', term: 25_923 }])
  t.deepEqual(sent(out, 'follower.raised', 'st/follower'), [{ type: 'follower.raised', term: 25_923 }])
  t.is(r.context().term, 25_923)
  // An equal term is another steward's that started under the same clock reading: above it too.
  const eq = r.register(25_923)
  t.deepEqual([sent(eq, 'registry.done').map((e) => e.term), sent(eq, 'steward.raise').map((e) => e.term)], [[25_924], [25_924]])
})

test('registry: a lower seen term, none, or an older caller leave the term as it is', (t) => {
  const r = registry(2_000)
  for (const seen of [1_999, 0, undefined]) {
    const out = r.register(seen)
    t.deepEqual([sent(out, 'registry.done').map((e) => e.term), sent(out, 'steward.raise'), sent(out, 'follower.raised')], [[2_000], [], []], `seen ${seen}`)
  }
})

test('registry: a registration that fails raises nothing', (t) => {
  const r = registry(2_000)
  const out = r.send({ type: 'registry.register', id: 9, from: 'reply:9', caller: '', node: 'n1', nodeId: '/b/h1/n1/Reeve/Reeve1', netId: '/Reeve1_0/n1/net/10.0.0.1:50059', keyId: reeveKey('n1'), publicKey: 'a2V5MQ==', keyNode: 'n1', callback: '10.0.0.1:50059', netHost: '10.0.0.1', challenge: 'Y2g=', seenTerm: 9_000 })
  const [pull] = sent(out, 'keys.pull')
  const failed = r.send({ type: 'keys.pulled', id: pull!.id, proven: false })
  t.deepEqual([sent(failed, 'steward.raise'), r.context().term], [[], 2_000])
})

// ---------------------------------------------------------------- the steward

function steward(term: number) {
  const s = stepper(stewardLogic, { node: 'st', now: 0 })
  s.send({ type: 'steward.lead', term })
  let n = 0
  const update = (node: string, o: { term?: number; full?: boolean; upsert?: CatalogEndpoint[] } = {}) =>
    s.send({ type: 'endpoints.update', id: ++n, from: `reply:${n}`, caller: reeveKey(node), term: o.term ?? term, update: { reeve: `/b/h1/${node}/Reeve/Reeve1`, address: `${node}:50059`, horde: 'h1', full: o.full ?? true, upsert: o.upsert ?? [], remove: [] } })
  const pushes = () => sent(s.send({ type: 'timer.fired', name: 'push' }), 'catalog.push')
  return { ...s, update, pushes }
}

test('steward: raised, it keeps its catalog and reeves and pushes every reeve the whole catalog under the new term', (t) => {
  const s = steward(2_000)
  s.update('n1', { upsert: [ep('n1', 'A')] })
  s.update('n2', { upsert: [ep('n2', 'B')] })
  for (const p of s.pushes()) s.send({ type: 'catalog.pushed', id: p.id, version: p.version })
  const version = s.context().version
  const out = s.send({ type: 'steward.raise', term: 25_923 })
  t.deepEqual(out.filter((e) => e.type === 'timer.set'), [{ type: 'timer.set', name: 'push', ms: 50 }])
  const pushes = s.pushes()
  t.deepEqual(
    pushes.map((p) => [p.term, p.version, p.full, p.endpoints.map((e: CatalogEndpoint) => e.instance)]),
    [[25_923, version, true, ['A', 'B']], [25_923, version, true, ['A', 'B']]],
  )
  // Under the old term an update is refused (its reeve forwards again under the new one); under the new, a delta is taken.
  t.deepEqual(sent(s.update('n1', { term: 2_000, full: false }), 'call.refused').map((e) => e.code), ['FAILED_PRECONDITION'])
  t.deepEqual(sent(s.update('n1', { term: 25_923, full: false, upsert: [ep('n1', 'C')] }), 'endpoints.updated').map((e) => [e.term, e.version]), [[25_923, version + 1]])
})

test('steward: a raise to a term not above its own, or while idle, changes nothing', (t) => {
  const s = steward(2_000)
  t.deepEqual(s.send({ type: 'steward.raise', term: 2_000 }), [])
  t.deepEqual(s.send({ type: 'steward.raise', term: 1_500 }), [])
  t.is(s.context().term, 2_000)
  s.send({ type: 'steward.retire' })
  t.deepEqual([s.send({ type: 'steward.raise', term: 9_000 }), s.state(), s.context().term], [[], 'idle', 0])
})

test('steward: a push on its way when raised is answered as usual; the queued old-term ones are dropped', (t) => {
  const s = steward(2_000)
  s.update('n1', { upsert: [ep('n1', 'A')] })
  const [first] = s.pushes()
  s.update('n1', { full: false, upsert: [ep('n1', 'B')] })
  t.deepEqual(s.pushes(), [], 'one push at a time: the second waits')
  s.send({ type: 'steward.raise', term: 3_000 })
  t.deepEqual(s.pushes(), [], 'still waiting for the answer')
  const next = sent(s.send({ type: 'catalog.pushed', id: first!.id, version: first!.version }), 'catalog.push')
  t.deepEqual(next.map((p) => [p.term, p.full]), [[3_000, true]])
})

// ---------------------------------------------------------------- the reeve

function reeve() {
  const s = stepper(reeveLogic, { node: 'r1', reeve: '/b/h1/r1/Reeve/Reeve1', address: 'r1:50059', horde: 'h1', keyId: reeveKey('r1'), now: 0, local: [ep('r1', 'A')] })
  let n = 100
  const push = (term: number, version: number, o: { full?: boolean; base?: number; endpoints?: CatalogEndpoint[] } = {}) =>
    s.send({ type: 'catalog.push', id: ++n, from: `reply:${n}`, caller: STEWARD_KEY, term, version, full: o.full ?? true, base: o.base ?? 0, endpoints: o.endpoints ?? [ep('r1', 'A'), ep('n2', 'B')], remove: [], rules: [] })
  const steward = (address: string, term: number) => s.send({ type: 'reeve.steward', address, term, keyId: STEWARD_KEY, key: 'c3Q=' })
  return { ...s, push, steward }
}

test('reeve: a whole push of a higher term from its steward is taken; it forwards under it and tells the follower', (t) => {
  const r = reeve()
  const [f] = sent(r.steward('st:50059', 2_000), 'endpoints.update')
  r.send({ type: 'endpoints.updated', id: f!.id, term: 2_000, version: 1 })
  r.push(2_000, 1)
  t.deepEqual(sent(r.push(25_923, 1, { full: false, base: 1 }), 'catalog.pushed').map((e) => e.version), [1], 'a delta of an unknown term is not taken')
  const out = r.push(25_923, 1)
  t.deepEqual(sent(out, 'catalog.pushed').map((e) => e.version), [1])
  t.deepEqual(sent(out, 'reeve.raised', 'r1/follower'), [{ type: 'reeve.raised', address: 'st:50059', term: 25_923 }])
  t.deepEqual([r.context().catalog.term, r.context().steward.term], [25_923, 25_923])
  const fwd = sent(r.send({ type: 'service.state', nodeId: ep('r1', 'A').nodeId, state: 'down' }), 'endpoints.update')
  t.deepEqual(fwd.map((e) => [e.term, e.update.full]), [[25_923, false]])
})

test('reeve: a forward refused for the term its steward has since raised goes again under the new term, without registering again', (t) => {
  const r = reeve()
  const [f] = sent(r.steward('st:50059', 2_000), 'endpoints.update')
  r.send({ type: 'endpoints.updated', id: f!.id, term: 2_000, version: 1 })
  const [g] = sent(r.send({ type: 'service.state', nodeId: ep('r1', 'A').nodeId, state: 'down' }), 'endpoints.update')
  t.is(g!.term, 2_000)
  r.push(25_923, 3)
  const out = r.send({ type: 'call.failed', id: g!.id, request: 'endpoints.update', code: 'FAILED_PRECONDITION', message: 'the update is for term 2000' })
  t.deepEqual(sent(out, 'reeve.refused'), [])
  t.deepEqual(sent(out, 'endpoints.update').map((e) => [e.term, e.update.upsert.map((x: CatalogEndpoint) => x.state)]), [[25_923, ['down']]])
})

test('reeve: its catalog never goes back to a lower term; pushed one by its steward, the follower is told to register again', (t) => {
  const r = reeve()
  const [f] = sent(r.steward('a:50059', 25_922), 'endpoints.update')
  r.send({ type: 'endpoints.updated', id: f!.id, term: 25_922, version: 1 })
  r.push(25_922, 26)
  // The flock names another steward, which DONE gave a lower term (its registry had not heard of the higher one).
  r.steward('b:50059', 2_000)
  const out = r.push(2_000, 90)
  t.deepEqual(sent(out, 'catalog.pushed').map((e) => e.version), [26], 'answered with what it holds')
  t.deepEqual([r.context().catalog.term, r.context().catalog.version], [25_922, 26])
  t.deepEqual(sent(out, 'reeve.behind', 'r1/follower'), [{ type: 'reeve.behind', address: 'b:50059', term: 25_922 }])
  t.deepEqual(sent(r.push(1_000, 1), 'reeve.behind'), [], 'a push of a term older than its steward is only ignored')
})

// ---------------------------------------------------------------- the follower

const HB = 500

function follower() {
  const s = stepper(followerLogic, { node: 'me', nodeId: '/b/h1/me/Reeve/Reeve1', netId: '/Reeve1_0/me/net/10.0.0.5:50059', publicKey: 'a2V5', hbMs: HB, now: 1_000 })
  const view = (at: number, o: { leading?: boolean; leader?: string; steward?: string } = {}) =>
    s.send({ type: 'flock.view', leading: o.leading ?? false, leader: o.leader ?? 'L', steward: o.steward ?? 'L:50059', members: [] }, at)
  const fire = (name: string, at: number) => s.send({ type: 'timer.fired', name }, at)
  const done = (id: number, term: number, node = 'L') => s.send({ type: 'registry.done', id, term, stewardKeyId: 'k', stewardKey: '', stewardNode: node })
  return { ...s, view, fire, done }
}

test('follower: a registration tells the highest term followed; again with the same steward, nothing new', (t) => {
  const f = follower()
  f.view(1_000)
  t.deepEqual(sent(f.fire('settle', 2_000), 'registry.register').map((e) => e.seenTerm), [0])
  f.done(1, 25_922)
  f.view(2_100, { leader: 'M', steward: 'M:50059' })
  t.deepEqual(sent(f.fire('settle', 3_100), 'registry.register').map((e) => e.seenTerm), [25_922])
  f.done(2, 25_923, 'M')
  t.deepEqual(sent(f.send({ type: 'reeve.refused', address: 'M:50059', term: 25_923, code: 'PERMISSION_DENIED' }), 'registry.register').map((e) => e.seenTerm), [0], 'its own term told back would only raise it again')
})

test('follower: a term raised by the steward followed is kept and told to the next steward', (t) => {
  const f = follower()
  f.view(1_000)
  f.fire('settle', 2_000)
  f.done(1, 2_000)
  f.send({ type: 'reeve.raised', address: 'L:50059', term: 25_923 })
  t.deepEqual([f.context().steward.term, f.context().seenTerm], [25_923, 25_923])
  f.send({ type: 'reeve.raised', address: 'other:1', term: 30_000 })
  t.is(f.context().steward.term, 25_923, 'another steward’s address does not change the one followed')
  f.view(2_100, { leader: 'M', steward: 'M:50059' })
  t.deepEqual(sent(f.fire('settle', 3_100), 'registry.register').map((e) => e.seenTerm), [30_000])
})

test('follower: the reeve behind its steward makes it register again, telling the catalog’s term', (t) => {
  const f = follower()
  f.view(1_000)
  f.fire('settle', 2_000)
  f.done(1, 2_000)
  t.is(f.state(), 'lead.notLeading|follow.following')
  t.deepEqual(sent(f.send({ type: 'reeve.behind', address: 'other:1', term: 9_000 }), 'registry.register'), [], 'about another steward: only remembered')
  const out = f.send({ type: 'reeve.behind', address: 'L:50059', term: 25_922 })
  t.deepEqual(sent(out, 'registry.register').map((e) => e.seenTerm), [25_922])
  t.is(f.state(), 'lead.notLeading|follow.registering.calling')
})

test('follower: leading after its registry raised the term, or after following a higher one, starts above it', (t) => {
  const f = follower()
  f.send({ type: 'follower.raised', term: 40_000 })
  f.view(1_000, { leading: true, leader: 'me', steward: 'me:50059' })
  t.deepEqual(sent(f.fire('lead', 2_000), 'steward.lead').map((e) => e.term), [40_001])
  const g = follower()
  g.view(1_000)
  g.fire('settle', 2_000)
  g.done(1, 50_000)
  g.view(3_000, { leading: true, leader: 'me', steward: 'me:50059' })
  t.deepEqual(sent(g.fire('lead', 4_000), 'steward.lead').map((e) => e.term), [50_001])
})

// ---------------------------------------------------------------- across a partition that heals

test('steward: a reeve retired while a push to it is on its way, its node listed again before that push fails, gets the whole catalog at once, and again if that fails', (t) => {
  const s = steward(2_000)
  const members = (...nodes: string[]) => s.send({ type: 'steward.members', members: nodes.map((node) => ({ node, host: node })) })
  members('n1', 'n2')
  s.update('n1', { upsert: [ep('n1', 'A')] })
  s.update('n2', { upsert: [ep('n2', 'B')] })
  for (const p of s.pushes()) s.send({ type: 'catalog.pushed', id: p.id, version: p.version })
  // The partition: n2 is dropped, its endpoints retired, and the push telling it so hangs.
  members('n1')
  const [hanging] = sends(s.send({ type: 'timer.fired', name: 'push' }), 'catalog.push', 'grpc://n2:50059/reeve').map((e) => e.event)
  t.deepEqual(hanging?.remove, [ep('n2', 'B').nodeId], 'n2 is pushed its retirement')
  // The heal: n2 listed again before that push's deadline: the whole catalog goes at once, without
  // waiting for it, and its late failure changes nothing.
  members('n1', 'n2')
  const [whole] = sends(s.send({ type: 'timer.fired', name: 'push' }), 'catalog.push', 'grpc://n2:50059/reeve').map((e) => e.event)
  t.deepEqual([whole?.full, (whole?.endpoints as CatalogEndpoint[] | undefined)?.map((e) => e.instance)], [true, ['A']], 'the whole catalog, without its endpoints: its reeve sends everything again')
  t.deepEqual(s.send({ type: 'call.failed', id: hanging!.id, request: 'catalog.push', code: 'DEADLINE_EXCEEDED', message: 'x' }), [])
  // That one fails too (still cut off): it is owed again, as long as its node is listed.
  const out = s.send({ type: 'call.failed', id: whole!.id, request: 'catalog.push', code: 'UNAVAILABLE', message: 'x' })
  t.deepEqual(out.filter((e) => e.type === 'timer.set'), [{ type: 'timer.set', name: 'push', ms: 50 }])
  t.deepEqual(sends(s.send({ type: 'timer.fired', name: 'push' }), 'catalog.push', 'grpc://n2:50059/reeve').map((e) => e.event.full), [true])
})
