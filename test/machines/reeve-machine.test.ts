/**
 * The reeve: local registrations (own key only) forwarded to its steward one at a time, merged,
 * retried, re-sent in full to a new steward or after a refusal; pushes only from its steward's key;
 * the call-back only from the key a registration named; watches; health; the heartbeater told.
 */
import test from 'ava'
import { reeveLogic } from '../../machines/reeve.machine.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import { persists, sent, stepper, timers } from './strew-harness.js'

const FP = 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99'
const KEY = `/Reeve1_0/r1/keys/${FP}`
const STEWARD = `/Steward1_0/s1/keys/${FP}`
const ep = (svc: string, over: Partial<CatalogEndpoint> = {}): CatalogEndpoint => ({
  nodeId: `/b/h1/r1/${svc}/${svc}1`, netId: `/${svc}1_0/r1/net/r1:5000`, horde: 'h1', api: `${svc}1`, instance: svc, address: 'r1:5000', state: 'up', keyId: '/Pastiche1_0/*/keys/*', ...over,
})

function reeve(local: CatalogEndpoint[] = [], batchMs = 0) {
  const s = stepper(reeveLogic, { node: 'r1', reeve: '/b/h1/r1/Reeve/Reeve1', address: 'r1:50059', horde: 'h1', keyId: KEY, now: 0, local, batchMs })
  let n = 100
  const register = (e: CatalogEndpoint, heartbeat?: { uuid: string; holdMs: number }, caller = KEY) =>
    s.send({ type: 'reeve.register', id: ++n, from: `reply:${n}`, caller, endpoint: e, ...(heartbeat === undefined ? {} : { heartbeat }) })
  const deregister = (nodeId: string, caller = KEY) => s.send({ type: 'reeve.deregister', id: ++n, from: `reply:${n}`, caller, nodeId })
  const steward = (address: string, term: number, keyId = STEWARD) => s.send({ type: 'reeve.steward', address, term, keyId, key: 'a2V5' })
  const forwards = (out: ReturnType<typeof s.send>) => sent(out, 'endpoints.update')
  const done = (out: ReturnType<typeof s.send>) => {
    const [f] = forwards(out)
    return s.send({ type: 'endpoints.updated', id: f!.id, term: f!.term, version: 1 })
  }
  const ids = (f: Record<string, any>) => f.update.upsert.map((e: CatalogEndpoint) => e.instance)
  const push = (term: number, version: number, o: { full?: boolean; base?: number; endpoints?: CatalogEndpoint[]; remove?: string[]; caller?: string } = {}) =>
    s.send({ type: 'catalog.push', id: ++n, from: `reply:${n}`, caller: o.caller ?? STEWARD, term, version, full: o.full ?? true, base: o.base ?? 0, endpoints: o.endpoints ?? [ep('X')], remove: o.remove ?? [], rules: [] })
  return { ...s, register, deregister, steward, forwards, done, ids, push }
}

test('nothing is forwarded before a steward is named; then everything, in full, to its steward actor', (t) => {
  const r = reeve()
  t.is(r.state(), 'detached')
  t.deepEqual(r.forwards(r.register(ep('A'))), [])
  const out = r.steward('s1:50061', 1)
  const [f] = r.forwards(out)
  t.is(out.find((e) => e.type === 'send')!.type === 'send' && (out.find((e) => e.type === 'send') as { to: string }).to, 'grpc://s1:50061/steward')
  t.deepEqual([f!.term, f!.update.full, r.ids(f!)], [1, true, ['A']])
  t.is(r.state(), 'sending')
})

test('local calls: only the node’s own key; answered; deregistering what is not here is NOT_FOUND; registrations persisted', (t) => {
  const r = reeve()
  t.deepEqual(sent(r.register(ep('A'), undefined, STEWARD), 'call.refused').map((e) => e.code), ['PERMISSION_DENIED'])
  const reg = r.register(ep('A'))
  t.deepEqual(sent(reg, 'reeve.registered').map((e) => e.heartbeater), [false], 'a first registration without heartbeats does not wait for the heartbeater')
  t.deepEqual(sent(reg, 'heartbeat.unkeep'), [], 'nor tells it to let go of what it never kept')
  const again = r.register(ep('A'))
  t.deepEqual(sent(again, 'reeve.registered').map((e) => e.heartbeater), [true], 'registered before: the heartbeater may have kept it')
  t.deepEqual(sent(again, 'heartbeat.unkeep', 'r1/heartbeater'), [{ type: 'heartbeat.unkeep', nodeId: ep('A').nodeId }])
  t.deepEqual(persists(reg), [{ type: 'persist', key: `local${ep('A').nodeId}`, value: ep('A') }])
  t.deepEqual(sent(reg, 'health.status', 'port:health'), [{ type: 'health.status', service: ep('A').nodeId, status: 'SERVING' }])
  t.deepEqual(sent(r.register(ep('B', { nodeId: '/b/h1/r2/B/B1' })), 'call.refused').map((e) => e.code), ['INVALID_ARGUMENT'], 'another node’s endpoint')
  t.deepEqual(sent(r.deregister('/b/h1/r1/Nope/Nope1'), 'call.refused').map((e) => e.code), ['NOT_FOUND'])
  const dereg = r.deregister(ep('A').nodeId)
  t.deepEqual([sent(dereg, 'reeve.deregistered').length, persists(dereg)], [1, [{ type: 'persist', key: `local${ep('A').nodeId}`, value: null }]])
  t.deepEqual(sent(dereg, 'heartbeat.unkeep', 'r1/heartbeater'), [{ type: 'heartbeat.unkeep', nodeId: ep('A').nodeId }])
  t.deepEqual(sent(dereg, 'health.status').map((e) => e.status), ['SERVICE_UNKNOWN'], 'a deregistered service is forgotten, not kept NOT_SERVING')
})

test('a registration with a heartbeat is handed to the heartbeater, dropping other uuids; its health follows service.state', (t) => {
  const r = reeve()
  const reg = r.register(ep('A'), { uuid: 'u1', holdMs: 4000 })
  t.deepEqual(
    reg.filter((e) => e.type === 'send' && e.to === 'r1/heartbeater').map((e) => (e as { event: unknown }).event),
    [
      { type: 'heartbeat.unkeep', nodeId: ep('A').nodeId, but: 'u1' },
      { type: 'heartbeat.keep', uuid: 'u1', nodeId: ep('A').nodeId, holdMs: 4000 },
    ],
  )
  t.deepEqual(sent(reg, 'health.status'), [], 'the heartbeater judges it')
  t.deepEqual(sent(r.send({ type: 'service.state', nodeId: ep('A').nodeId, state: 'down' }), 'health.status').map((e) => e.status), ['NOT_SERVING'])
})

test('one forward at a time: changes meanwhile are merged into the next', (t) => {
  const r = reeve()
  r.done(r.steward('s1:50061', 1))
  t.is(r.state(), 'idle')
  const a = r.register(ep('A'))
  t.is(r.forwards(a).length, 1)
  t.deepEqual(r.forwards(r.register(ep('B'))), [], 'A is still on its way')
  r.register(ep('C'))
  r.deregister(ep('B').nodeId)
  const [next] = r.forwards(r.done(a))
  t.deepEqual([next!.update.full, r.ids(next!), next!.update.remove], [false, ['C'], [ep('B').nodeId]])
})

test('a failed forward is retried after the retry time, merged with what changed since', (t) => {
  const r = reeve()
  r.done(r.steward('s1:50061', 1))
  const [f] = r.forwards(r.register(ep('A')))
  const failed = r.send({ type: 'call.failed', id: f!.id, request: 'endpoints.update', code: 'UNAVAILABLE', message: 'down' })
  t.deepEqual(timers(failed), [{ type: 'timer.set', name: 'retry', ms: 1000 }])
  t.deepEqual(sent(failed, 'reeve.refused'), [], 'unavailable is no refusal')
  t.is(r.state(), 'backoff')
  t.deepEqual(r.forwards(r.register(ep('B'))), [], 'held until the retry time')
  const [retry] = r.forwards(r.send({ type: 'timer.fired', name: 'retry' }))
  t.deepEqual(r.ids(retry!).sort(), ['A', 'B'])
})

test('a steward refusing a forward (PERMISSION_DENIED, FAILED_PRECONDITION) makes the follower register again, and everything goes again', (t) => {
  for (const code of ['PERMISSION_DENIED', 'FAILED_PRECONDITION'] as const) {
    const r = reeve([ep('A'), ep('B')])
    r.done(r.steward('s1:50061', 1))
    const [f] = r.forwards(r.register(ep('C')))
    const out = r.send({ type: 'call.refused', id: f!.id, code, message: 'no' })
    t.deepEqual(sent(out, 'reeve.refused', 'r1/follower'), [{ type: 'reeve.refused', address: 's1:50061', term: 1, code }])
    // Registered again with the same steward: the retry goes at once, in full.
    const [again] = r.forwards(r.steward('s1:50061', 1))
    t.deepEqual([again!.update.full, r.ids(again!).sort()], [true, ['A', 'B', 'C']])
  }
})

test('a new steward gets everything again; the same one named again does not', (t) => {
  const r = reeve([ep('A'), ep('B')])
  r.done(r.steward('s1:50061', 1))
  const out = r.steward('s2:50061', 2)
  const [f] = r.forwards(out)
  t.deepEqual([f!.update.full, r.ids(f!)], [true, ['A', 'B']])
  r.done(out)
  t.deepEqual(r.forwards(r.steward('s2:50061', 2)), [], 'same steward')
  t.deepEqual(r.forwards(r.steward('s2:50061', 1)), [], 'same address, older term')
  const again = r.steward('s2:50061', 3)
  t.is(r.forwards(again).length, 1, 'that node leads again: a new steward')
  r.done(again)
  t.is(r.forwards(r.steward('s1:50061', 1)).length, 1, 'another address: the flock moved, whatever the term')
})

test('a new steward named while a forward is on its way to the old one: everything goes to the new one at once; the old call\'s late answer changes nothing', (t) => {
  const r = reeve([ep('A')])
  const [f] = r.forwards(r.steward('s1:50061', 1))
  // Not waited for: the old steward may be dead, and its call would hold every change to its deadline.
  const now = r.steward('s2:50061', 2)
  const [next] = r.forwards(now)
  t.deepEqual([next!.term, next!.update.full, r.ids(next!)], [2, true, ['A']])
  t.is((now.find((e) => e.type === 'send' && (e as { event: { type: string } }).event.type === 'endpoints.update') as { to: string }).to, 'grpc://s2:50061/steward')
  const late = r.send({ type: 'call.failed', id: f!.id, request: 'endpoints.update', code: 'UNAVAILABLE', message: 'gone' })
  t.deepEqual([r.forwards(late), timers(late)], [[], []], 'the old call failing late sends nothing and arms no retry')
  t.is(r.state(), 'sending')
  const ok = r.send({ type: 'endpoints.updated', id: next!.id, term: 2, version: 1 })
  t.deepEqual(r.forwards(ok), [])
  t.is(r.state(), 'idle')
})

test('the heartbeater marking a local service down is forwarded', (t) => {
  const r = reeve([ep('A')])
  r.done(r.steward('s1:50061', 1))
  const [f] = r.forwards(r.send({ type: 'service.state', nodeId: ep('A').nodeId, state: 'down' }))
  t.is(f!.update.upsert[0]!.state, 'down')
})

test('with a batch window, a burst of changes goes as one forward when the window ends', (t) => {
  const r = reeve([], 10)
  r.done(r.steward('s1:50061', 1))
  const first = r.register(ep('A'))
  t.deepEqual(timers(first), [{ type: 'timer.set', name: 'batch', ms: 10 }])
  t.is(r.state(), 'holding')
  t.deepEqual(timers(r.register(ep('B'))), [], 'one window for the burst')
  const [f] = r.forwards(r.send({ type: 'timer.fired', name: 'batch' }))
  t.deepEqual(r.ids(f!).sort(), ['A', 'B'])
  r.register(ep('C'))
  const answered = r.send({ type: 'endpoints.updated', id: f!.id, term: 1, version: 2 })
  t.deepEqual([r.forwards(answered).map(r.ids), timers(answered)], [[['C']], []], 'what changed during a forward goes when it is answered, with no second window')
})

test('only the current steward’s pushes, by its key, are taken; a whole catalog replaces, older versions are ignored', (t) => {
  const r = reeve()
  const version = (out: ReturnType<typeof r.send>) => sent(out, 'catalog.pushed').map((e) => e.version)[0]
  t.deepEqual(sent(r.push(2, 5), 'call.refused').map((e) => e.code), ['PERMISSION_DENIED'], 'no steward named yet')
  r.steward('s1:50061', 2)
  t.deepEqual(sent(r.push(2, 5, { caller: KEY }), 'call.refused').map((e) => e.code), ['PERMISSION_DENIED'], 'another key')
  t.is(version(r.push(2, 5)), 5)
  t.is(version(r.push(2, 4)), 5, 'older version: the answer says what is held')
  t.is(version(r.push(1, 9)), 5, 'another term')
  r.steward('s2:50061', 3, `/Steward1_0/s2/keys/${FP}`)
  t.is(version(r.push(3, 1, { endpoints: [ep('Y')], caller: `/Steward1_0/s2/keys/${FP}` })), 1, 'a new steward starts its own versions')
  t.deepEqual(Object.keys(r.context().catalog.endpoints), [ep('Y').nodeId])
})

test('a delta applies on top of the version it was made from; a gap is answered with the version held', (t) => {
  const r = reeve()
  r.steward('s1:50061', 1)
  r.push(1, 3, { endpoints: [ep('A'), ep('B')] })
  t.deepEqual(sent(r.push(1, 4, { full: false, base: 2, endpoints: [ep('C')], remove: [ep('A').nodeId] }), 'catalog.pushed').map((e) => e.version), [3])
  r.push(1, 4, { full: false, base: 3, endpoints: [ep('C')], remove: [ep('A').nodeId] })
  t.deepEqual(Object.keys(r.context().catalog.endpoints).sort(), [ep('B').nodeId, ep('C').nodeId])
})

test('a watch gets a snapshot, then what changed, by its rules; cancelled, nothing more; only local callers', (t) => {
  const r = reeve()
  r.steward('s1:50061', 1)
  const rules = [{ horde: '*', from: 'Pastiche', to: 'Pastiche' }]
  r.send({ type: 'catalog.push', id: 1, from: 'reply:1', caller: STEWARD, term: 1, version: 1, full: true, base: 0, endpoints: [ep('Pastiche'), ep('Dean')], remove: [], rules })
  t.deepEqual(sent(r.send({ type: 'catalog.watch', id: 7, from: 'reply:7', caller: STEWARD }), 'call.refused').map((e) => e.code), ['PERMISSION_DENIED'])
  const snap = sent(r.send({ type: 'catalog.watch', id: 8, from: 'reply:8', caller: KEY, nodeId: '/b/h1/r9/Pastiche/Pastiche1' }), 'catalog.snapshot', 'reply:8')
  t.deepEqual(snap.map((e) => [e.version, e.endpoints.map((x: CatalogEndpoint) => x.instance)]), [[1, ['Pastiche']]])
  const all = sent(r.send({ type: 'catalog.watch', id: 9, from: 'reply:9', caller: KEY }), 'catalog.snapshot')
  t.is(all[0]!.endpoints.length, 2, 'the node itself sees its whole horde')
  const delta = r.send({ type: 'catalog.push', id: 2, from: 'reply:2', caller: STEWARD, term: 1, version: 2, full: false, base: 1, endpoints: [ep('Dean', { state: 'down' })], remove: [ep('Pastiche').nodeId], rules })
  t.deepEqual(sent(delta, 'catalog.delta').map((e) => [e.id, e.endpoints.length, e.removed]), [
    [8, 0, [ep('Pastiche').nodeId]],
    [9, 1, [ep('Pastiche').nodeId]],
  ])
  r.send({ type: 'call.cancelled', from: 'reply:8' })
  const later = r.send({ type: 'catalog.push', id: 3, from: 'reply:3', caller: STEWARD, term: 1, version: 3, full: true, base: 0, endpoints: [], remove: [], rules })
  t.deepEqual(sent(later, 'catalog.snapshot').map((e) => e.id), [9])
})

test('the call-back is answered only for the steward key a registration named, and only for our key', (t) => {
  const r = reeve()
  const pull = (caller: string, keyId = KEY) => r.send({ type: 'keys.pull', id: 1, from: 'reply:1', caller, keyId, challenge: 'Y2g=' })
  t.deepEqual(sent(pull(STEWARD), 'call.refused').map((e) => e.code), ['PERMISSION_DENIED'])
  r.send({ type: 'reeve.registering', keyId: STEWARD, key: 'a2V5' })
  t.deepEqual(sent(pull(STEWARD), 'keys.proof'), [{ type: 'keys.proof', id: 1, keyId: KEY, challenge: 'Y2g=' }])
  t.deepEqual(sent(pull(STEWARD, `/Reeve1_0/r1/keys/${FP.replace('aa', 'ab')}`), 'call.refused').map((e) => e.code), ['NOT_FOUND'])
  t.deepEqual(sent(pull(''), 'call.refused').map((e) => e.code), ['PERMISSION_DENIED'])
})

test('restored registrations get their health at start', (t) => {
  const r = reeve([ep('A'), ep('B', { state: 'down' })])
  t.deepEqual(sent(r.start, 'health.status').map((e) => [e.service, e.status]), [
    [ep('A').nodeId, 'SERVING'],
    [ep('B').nodeId, 'NOT_SERVING'],
  ])
})

test('a push that drops endpoints of ours (the steward retired this node while it was unreachable) makes the reeve send everything again', (t) => {
  const r = reeve([ep('A'), ep('B')])
  r.done(r.steward('s1:50061', 1))
  r.push(1, 1, { endpoints: [ep('A'), ep('B')] })
  const out = r.push(1, 2, { full: false, base: 1, endpoints: [], remove: [ep('A').nodeId, ep('B').nodeId] })
  const [f] = r.forwards(out)
  t.deepEqual([f!.update.full, r.ids(f!).sort()], [true, ['A', 'B']])
  r.done(out)
  t.deepEqual(r.forwards(r.push(1, 3, { endpoints: [ep('A'), ep('B')] })), [], 'a whole catalog holding ours: nothing to do')
  t.is(r.forwards(r.push(1, 4, { endpoints: [ep('B')] })).length, 1, 'a whole catalog lacking one of ours: everything again')
})
