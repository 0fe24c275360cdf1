/**
 * The steward: idle until the follower makes it lead; reeves' updates judged (term, caller, node) and
 * become one catalog per horde, pushed batched, one push at a time per reeve; a dead node's reeve
 * retired at once; a new steward rebuilt by full re-sends.
 */
import test from 'ava'
import { stewardLogic } from '../../machines/steward.machine.js'
import { serviceOf, visibleTo } from '../../machines/steward/rules.js'
import type { CatalogEndpoint, EndpointUpdate } from '../../machines/steward/types.js'
import { sent, stepper, timers } from './strew-harness.js'

const FP = 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99'
const keyOf = (node: string) => `/Reeve1_0/${node}/keys/${FP}`
const reeveOf = (node: string, horde = 'h1') => `/b/${horde}/${node}/Reeve/Reeve1`

const ep = (node: string, service: string, horde = 'h1', over: Partial<CatalogEndpoint> = {}): CatalogEndpoint => ({
  nodeId: `/b/${horde}/${node}/${service}/${service}1`,
  netId: `/${service}1_0/${node}/net/${node}:5000`,
  horde,
  api: `${service}1`,
  instance: node,
  address: `${node}:5000`,
  state: 'up',
  keyId: `/${service}1_0/*/keys/*`,
  ...over,
})

function steward(term = 1) {
  const s = stepper(stewardLogic, { node: 'st', now: 0 })
  if (term > 0) s.send({ type: 'steward.lead', term })
  let n = 0
  /** An update from node `node`'s reeve (its own key), answered to reply:n. */
  const update = (node: string, u: Partial<EndpointUpdate> = {}, o: { term?: number; caller?: string; horde?: string } = {}) =>
    s.send({
      type: 'endpoints.update',
      id: ++n,
      from: `reply:${n}`,
      caller: o.caller ?? keyOf(node),
      term: o.term ?? term,
      update: { reeve: reeveOf(node, o.horde), address: `${node}:50059`, horde: o.horde ?? 'h1', full: true, upsert: [], remove: [], ...u },
    })
  const pushes = () => sent(s.send({ type: 'timer.fired', name: 'push' }), 'catalog.push')
  const refusal = (out: ReturnType<typeof update>) => sent(out, 'call.refused').map((e) => `${e.code} ${e.message}`)
  return { ...s, update, pushes, refusal }
}

test('idle, it refuses every update as not the steward; leading, it takes them', (t) => {
  const s = steward(0)
  t.is(s.state(), 'idle')
  t.deepEqual(s.refusal(s.update('n1')), ['FAILED_PRECONDITION not the steward'])
  s.send({ type: 'steward.lead', term: 7 })
  t.is(s.state(), 'active')
  const out = s.update('n1', { upsert: [ep('n1', 'Pastiche')] }, { term: 7 })
  t.deepEqual(sent(out, 'endpoints.updated'), [{ type: 'endpoints.updated', id: 2, term: 7, version: 1 }])
  t.is(sent(out, 'endpoints.updated', 'reply:2').length, 1, 'answered to the call')
})

test('updates within the batch window go out as one push per reeve, to its reeve actor, with its horde catalog and the version', (t) => {
  const s = steward()
  t.deepEqual(timers(s.update('n1', { upsert: [ep('n1', 'Pastiche')] })), [{ type: 'timer.set', name: 'push', ms: 50 }])
  t.deepEqual(timers(s.update('n2', { upsert: [ep('n2', 'Pastiche')] })), [], 'one timer for the batch')
  const out = s.send({ type: 'timer.fired', name: 'push' })
  const pushes = sent(out, 'catalog.push')
  t.deepEqual(out.filter((e) => e.type === 'send').map((e) => (e as { to: string }).to), ['grpc://n1:50059/reeve', 'grpc://n2:50059/reeve'])
  t.deepEqual(pushes.map((p) => [p.version, p.full, p.endpoints.map((e: CatalogEndpoint) => e.instance)]), [
    [2, true, ['n1', 'n2']],
    [2, true, ['n1', 'n2']],
  ])
  t.true(pushes.every((p) => p.term === 1 && p.rules.length > 0 && typeof p.id === 'number'))
})

test('each horde gets only its own endpoints', (t) => {
  const s = steward()
  s.update('n1', { upsert: [ep('n1', 'Pastiche', 'h1')] })
  s.update('n2', { upsert: [ep('n2', 'Pastiche', 'h2')] }, { horde: 'h2' })
  t.deepEqual(s.pushes().map((p) => p.endpoints.map((e: CatalogEndpoint) => e.instance)), [['n1'], ['n2']])
})

test('a replayed update of an older term is refused: a captured update is worthless to the next steward', (t) => {
  const s = steward(5)
  t.deepEqual(s.refusal(s.update('n1', { upsert: [ep('n1', 'Pastiche')] }, { term: 4 })), ["FAILED_PRECONDITION the update is for term 4; this steward's is 5"])
  t.deepEqual(Object.keys(s.context().endpoints), [], 'nothing applied')
})

test("an update whose caller is not that node's reeve key, or that names another node's endpoint, is refused", (t) => {
  const s = steward()
  t.deepEqual(s.refusal(s.update('n1', { upsert: [ep('n1', 'Pastiche')] }, { caller: keyOf('n2') })), ['PERMISSION_DENIED call refused'])
  t.deepEqual(s.refusal(s.update('n1', {}, { caller: `/Steward1_0/n1/keys/${FP}` })), ['PERMISSION_DENIED call refused'], 'a steward key is no reeve key')
  t.deepEqual(s.refusal(s.update('n1', {}, { caller: 'not a key' })), ['PERMISSION_DENIED call refused'])
  t.deepEqual(s.refusal(s.update('n1', { upsert: [ep('n2', 'Pastiche')] })), [`PERMISSION_DENIED a reeve speaks only for its own node, not for ${ep('n2', 'Pastiche').nodeId}`])
  t.deepEqual(s.refusal(s.update('n1', { remove: ['/b/h1/n2/Pastiche/Pastiche1'] })), ['PERMISSION_DENIED a reeve speaks only for its own node, not for /b/h1/n2/Pastiche/Pastiche1'])
  t.deepEqual(s.refusal(s.update('n1', { remove: ['garbage'] })).map((r) => r.split(' ')[0]), ['INVALID_ARGUMENT'])
  t.deepEqual(Object.keys(s.context().endpoints), [])
})

test('an update that changes nothing schedules no push; a reeve removes only what it registered', (t) => {
  const s = steward()
  s.update('n1', { upsert: [ep('n1', 'Pastiche')] })
  s.pushes()
  t.deepEqual(timers(s.update('n1', { full: false, upsert: [ep('n1', 'Pastiche')] })), [])
  t.deepEqual(s.refusal(s.update('n2', { full: false, remove: [ep('n1', 'Pastiche').nodeId] })).length, 1, 'n1 is not n2s to remove')
  t.is(s.update('n2', { full: true }).filter((e) => e.type === 'timer.set').length, 1, 'a new reeve still gets the catalog')
  t.deepEqual(s.pushes().map((p) => [p.full, p.endpoints.length]), [[true, 1]], 'only n2: n1 already has this version')
})

test('a delta from a reeve the steward does not know is refused: it must send everything', (t) => {
  const s = steward()
  t.deepEqual(s.refusal(s.update('n1', { full: false, upsert: [ep('n1', 'Pastiche')] })), ['FAILED_PRECONDITION unknown reeve: send everything'])
  t.is(sent(s.update('n1', { full: true, upsert: [ep('n1', 'Pastiche')] }), 'endpoints.updated').length, 1)
})

test('a full update replaces what that reeve sent before (how a new steward is rebuilt)', (t) => {
  const s = steward(2)
  s.update('n1', { upsert: [ep('n1', 'Pastiche'), ep('n1', 'Dean')] })
  const [first] = s.pushes()
  s.send({ type: 'catalog.pushed', id: first!.id, version: first!.version })
  s.update('n1', { full: true, upsert: [ep('n1', 'Pastiche', 'h1', { state: 'down' })] })
  const [p] = s.pushes()
  t.deepEqual(p!.endpoints.map((e: CatalogEndpoint) => [e.api, e.state]), [['Pastiche1', 'down']])
  t.is(p!.term, 2)
})

test('retiring cancels a pending push, drops the catalog and goes idle; leading again starts afresh', (t) => {
  const s = steward()
  s.update('n1', { upsert: [ep('n1', 'Pastiche')] })
  const out = s.send({ type: 'steward.retire' })
  t.true(timers(out).some((e) => e.type === 'timer.cancel' && e.name === 'push'))
  t.is(s.state(), 'idle')
  t.deepEqual(s.refusal(s.update('n1')), ['FAILED_PRECONDITION not the steward'])
  s.send({ type: 'steward.lead', term: 9 })
  t.deepEqual([s.context().term, Object.keys(s.context().endpoints)], [9, []])
})

test('a reeve that holds the last push gets only what changed since; a new one the whole catalog', (t) => {
  const s = steward()
  s.update('n1', { upsert: [ep('n1', 'Pastiche'), ep('n1', 'Dean')] })
  const [first] = s.pushes()
  s.send({ type: 'catalog.pushed', id: first!.id, version: first!.version })
  s.update('n1', { full: false, upsert: [ep('n1', 'Pastiche', 'h1', { state: 'down' })], remove: [ep('n1', 'Dean').nodeId] })
  s.update('n9', { upsert: [] })
  t.deepEqual(s.pushes().map((p) => [p.full, p.base, p.version, p.endpoints.map((e: CatalogEndpoint) => e.state), p.remove]), [
    [false, 1, 2, ['down'], [ep('n1', 'Dean').nodeId]],
    [true, 0, 2, ['down'], []],
  ])
})

test('pushes to one reeve go one at a time, in order; a failed one means the whole catalog next time', (t) => {
  const s = steward()
  s.update('n1', { upsert: [ep('n1', 'Pastiche')] })
  const [p1] = s.pushes()
  s.update('n1', { full: false, upsert: [ep('n1', 'Dean')] })
  t.deepEqual(s.pushes(), [], 'the second waits for the first')
  const next = sent(s.send({ type: 'catalog.pushed', id: p1!.id, version: p1!.version }), 'catalog.push')
  t.deepEqual(next.map((p) => [p.full, p.base, p.version]), [[false, 1, 2]])
  const failed = s.send({ type: 'call.failed', id: next[0]!.id, request: 'catalog.push', code: 'UNAVAILABLE', message: 'down' })
  t.deepEqual(timers(failed), [{ type: 'timer.set', name: 'push', ms: 50 }])
  const [whole] = s.pushes()
  t.deepEqual([whole!.full, whole!.endpoints.length], [true, 2])
  const gap = s.send({ type: 'catalog.pushed', id: whole!.id, version: 1 })
  t.is(timers(gap).length, 1, 'a reeve answering another version than the push is owed the whole catalog too')
})

test("a node the flock dropped has its reeve's endpoints removed at once and pushed; its reeve gets that push too; listed again, the whole catalog; they come back when it sends everything", (t) => {
  const s = steward()
  const members = (...nodes: string[]) => s.send({ type: 'steward.members', members: nodes.map((node) => ({ node, host: node })) })
  members('n1', 'n2')
  s.update('n1', { upsert: [ep('n1', 'Pastiche')] })
  s.update('n2', { upsert: [ep('n2', 'Pastiche')] })
  for (const p of s.pushes()) s.send({ type: 'catalog.pushed', id: p.id, version: p.version })
  const dropped = members('n1')
  t.deepEqual(timers(dropped), [{ type: 'timer.set', name: 'push', ms: 50 }])
  t.deepEqual(Object.keys(s.context().endpoints), [ep('n1', 'Pastiche').nodeId], 'n2 is gone from the catalog at once')
  const out = s.send({ type: 'timer.fired', name: 'push' })
  const pushes = sent(out, 'catalog.push')
  t.deepEqual(out.filter((e) => e.type === 'send').map((e) => (e as { to: string }).to), ['grpc://n1:50059/reeve', 'grpc://n2:50059/reeve'])
  t.deepEqual(pushes.map((p) => [p.full, p.remove]), [[false, [ep('n2', 'Pastiche').nodeId]], [false, [ep('n2', 'Pastiche').nodeId]]], 'the removal, to n2 too: if it is alive, it sends everything')
  for (const p of pushes) s.send({ type: 'call.failed', id: p.id, request: 'catalog.push', code: 'UNAVAILABLE', message: 'dead' })
  const after = s.send({ type: 'timer.fired', name: 'push' })
  t.deepEqual(after.filter((e) => e.type === 'send').map((e) => (e as { to: string }).to), ['grpc://n1:50059/reeve'], 'n1 missed its push: the whole catalog again; nothing more to n2')
  // n2 is listed again: it gets the whole catalog (without its endpoints), once; its deltas are refused until it sends everything.
  members('n1', 'n2')
  const back = s.send({ type: 'timer.fired', name: 'push' })
  t.deepEqual(sent(back, 'catalog.push', 'grpc://n2:50059/reeve').map((p) => [p.full, p.endpoints.map((e: CatalogEndpoint) => e.instance)]), [[true, ['n1']]])
  t.deepEqual(timers(members('n1', 'n2')), [], 'once')
  t.deepEqual(s.refusal(s.update('n2', { full: false, upsert: [ep('n2', 'Dean')] })), ['FAILED_PRECONDITION unknown reeve: send everything'])
  s.update('n2', { full: true, upsert: [ep('n2', 'Pastiche')] })
  t.deepEqual(Object.keys(s.context().endpoints).sort(), [ep('n1', 'Pastiche').nodeId, ep('n2', 'Pastiche').nodeId])
})

test('a retired reeve that is alive after all: refused while the flock does not list it, then its deltas until it sends everything', (t) => {
  const s = steward()
  s.send({ type: 'steward.members', members: [{ node: 'n1', host: 'n1' }, { node: 'n2', host: 'n2' }] })
  s.update('n2', { upsert: [ep('n2', 'Pastiche')] })
  const [p] = s.pushes()
  s.send({ type: 'catalog.pushed', id: p!.id, version: p!.version })
  s.send({ type: 'steward.members', members: [{ node: 'n1', host: 'n1' }] })
  t.deepEqual(s.refusal(s.update('n2', { full: true, upsert: [ep('n2', 'Dean')] })), ['FAILED_PRECONDITION not a member of the flock'], 'not even in full while the flock does not list it')
  const [last] = s.pushes()
  t.deepEqual(last!.remove, [ep('n2', 'Pastiche').nodeId])
  s.send({ type: 'catalog.pushed', id: last!.id, version: last!.version })
  s.update('n1', { upsert: [ep('n1', 'Pastiche')] })
  t.deepEqual(s.pushes().map((p) => p.endpoints.map((e: CatalogEndpoint) => e.instance)), [['n1']], 'a retired reeve is pushed no more')
  s.send({ type: 'steward.members', members: [{ node: 'n1', host: 'n1' }, { node: 'n2', host: 'n2' }] })
  t.deepEqual(s.refusal(s.update('n2', { full: false, upsert: [ep('n2', 'Dean')] })), ['FAILED_PRECONDITION unknown reeve: send everything'], 'listed again: a delta is still refused')
  s.update('n2', { full: true, upsert: [ep('n2', 'Pastiche')] })
  t.is(s.context().reeves['/b/h1/n2/Reeve/Reeve1'].retired, false, 'everything sent: it is back')
})

test('once told the members, the steward refuses updates from a node the flock does not list: a late full update cannot bring a dead node back', (t) => {
  const s = steward()
  s.send({ type: 'steward.members', members: [{ node: 'n1', host: 'n1' }] })
  t.deepEqual(s.refusal(s.update('n2', { upsert: [ep('n2', 'Pastiche')] })), ['FAILED_PRECONDITION not a member of the flock'])
  t.deepEqual(Object.keys(s.context().endpoints), [])
  t.is(sent(s.update('n1', { upsert: [ep('n1', 'Pastiche')] }), 'endpoints.updated').length, 1)
})

test('callers see the endpoints their rules allow, in their horde', (t) => {
  const eps = [ep('n1', 'Pastiche', 'h1'), ep('n2', 'Pastiche', 'h2'), ep('n3', 'Dean', 'h1')]
  const rules = [{ horde: '*', from: 'Pastiche', to: 'Pastiche' }]
  t.deepEqual(visibleTo(eps, rules, { horde: 'h1', service: 'Pastiche' }).map((e) => e.instance), ['n1'])
  t.deepEqual(visibleTo(eps, rules, { horde: 'h1', service: 'Dean' }), [])
  t.is(serviceOf(eps[2]!.nodeId), 'Dean')
})
