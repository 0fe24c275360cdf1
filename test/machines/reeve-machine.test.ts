/** The reeve: local registrations forwarded to the steward one at a time, merged, retried, re-sent in full to a new steward. */
import test from 'ava'
import { createActor } from 'xstate'
import type { Effect, HostEvent } from '../../machines/effects.js'
import { reeveLogic } from '../../machines/reeve.machine.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'

const ep = (node: string, over: Partial<CatalogEndpoint> = {}): CatalogEndpoint => ({
  nodeId: `/b/h1/${node}/Pastiche/Pastiche1`, netId: `/Pastiche1_0/${node}/net/${node}:5000`, horde: 'h1', api: 'Pastiche1', instance: node, address: `${node}:5000`, state: 'up', keyId: '/Pastiche1_0/*/keys/*', ...over,
})

interface Forward { to: string; term: number; update: { full: boolean; upsert: CatalogEndpoint[]; remove: string[] } }

function reeve(local: CatalogEndpoint[] = [], batchMs = 0) {
  const effects: Effect[] = []
  const actor = createActor(reeveLogic, { input: { reeve: '/b/h1/r1/Reeve/Reeve1', address: 'r1:50059', horde: 'h1', now: 0, local, batchMs }, clock: { setTimeout: () => { throw new Error('no real timers') }, clearTimeout: () => {} } })
  actor.on('*', (e) => effects.push(e as unknown as Effect))
  actor.start()
  const send = (ev: HostEvent) => {
    const from = effects.length
    actor.send({ ...ev, now: 0 })
    return effects.slice(from)
  }
  const forwards = (out: Effect[]) => out.filter((e) => e.type === 'emit' && (e as { record: { type: string } }).record.type === 'Forward').map((e) => (e as unknown as { record: Forward }).record)
  const ids = (f: Forward) => f.update.upsert.map((e) => e.instance)
  return { actor, send, forwards, ids }
}

test('nothing is forwarded before the flock names a steward; then everything, in full', (t) => {
  const r = reeve()
  t.deepEqual(r.forwards(r.send({ type: 'register', endpoint: ep('a') })), [])
  const [f] = r.forwards(r.send({ type: 'steward', address: 's1:50061', term: 1 }))
  t.deepEqual([f!.to, f!.term, f!.update.full, r.ids(f!)], ['s1:50061', 1, true, ['a']])
})

test('one forward at a time: changes meanwhile are merged into the next', (t) => {
  const r = reeve()
  r.send({ type: 'steward', address: 's1:50061', term: 1 })
  r.send({ type: 'forward.done' })
  t.is(r.forwards(r.send({ type: 'register', endpoint: ep('a') })).length, 1)
  t.deepEqual(r.forwards(r.send({ type: 'register', endpoint: ep('b') })), [], 'a is still on its way')
  r.send({ type: 'register', endpoint: ep('c') })
  r.send({ type: 'deregister', nodeId: ep('b').nodeId })
  const [next] = r.forwards(r.send({ type: 'forward.done' }))
  t.deepEqual([next!.update.full, r.ids(next!), next!.update.remove], [false, ['c'], [ep('b').nodeId]])
})

test('a failed forward is retried after the retry time, merged with what changed since', (t) => {
  const r = reeve()
  r.send({ type: 'steward', address: 's1:50061', term: 1 })
  r.send({ type: 'forward.done' })
  r.send({ type: 'register', endpoint: ep('a') })
  const failed = r.send({ type: 'forward.failed' })
  t.deepEqual(failed.filter((e) => e.type === 'timer.set'), [{ type: 'timer.set', name: 'retry', ms: 1000 }])
  t.deepEqual(r.forwards(r.send({ type: 'register', endpoint: ep('b') })), [], 'held until the retry time')
  const [retry] = r.forwards(r.send({ type: 'timer.fired', name: 'retry' }))
  t.deepEqual(r.ids(retry!).sort(), ['a', 'b'])
})

test('a new steward gets everything again; the same one named again does not', (t) => {
  const r = reeve([ep('a'), ep('b')])
  r.send({ type: 'steward', address: 's1:50061', term: 1 })
  r.send({ type: 'forward.done' })
  const [f] = r.forwards(r.send({ type: 'steward', address: 's2:50061', term: 2 }))
  t.deepEqual([f!.to, f!.update.full, r.ids(f!)], ['s2:50061', true, ['a', 'b']])
  r.send({ type: 'forward.done' })
  t.deepEqual(r.forwards(r.send({ type: 'steward', address: 's2:50061', term: 2 })), [], 'same steward')
  t.deepEqual(r.forwards(r.send({ type: 'steward', address: 's2:50061', term: 1 })), [], 'same address, older term')
  t.is(r.forwards(r.send({ type: 'steward', address: 's2:50061', term: 3 })).length, 1, 'that node leads again: a new steward')
  r.send({ type: 'forward.done' })
  t.is(r.forwards(r.send({ type: 'steward', address: 's1:50061', term: 1 })).length, 1, 'another address: the flock moved, whatever the term')
})

test('the heartbeater marking a local service down is forwarded; registrations are persisted', (t) => {
  const r = reeve()
  r.send({ type: 'steward', address: 's1:50061', term: 1 })
  r.send({ type: 'forward.done' })
  const reg = r.send({ type: 'register', endpoint: ep('a') })
  t.deepEqual(reg.filter((e) => e.type === 'persist'), [{ type: 'persist', key: `local${ep('a').nodeId}`, value: ep('a') }])
  t.deepEqual(r.send({ type: 'deregister', nodeId: ep('a').nodeId }).filter((e) => e.type === 'persist'), [{ type: 'persist', key: `local${ep('a').nodeId}`, value: null }])
  r.send({ type: 'forward.done' })
  r.send({ type: 'register', endpoint: ep('a') })
  r.send({ type: 'forward.done' })
  r.send({ type: 'forward.done' })
  const [f] = r.forwards(r.send({ type: 'service.state', nodeId: ep('a').nodeId, state: 'down' }))
  t.is(f!.update.upsert[0]!.state, 'down')
})

const catalogOf = (r: ReturnType<typeof reeve>) => (r.actor.getSnapshot().context as { catalog: { term: number; version: number; endpoints: Record<string, CatalogEndpoint> } }).catalog

test('only the current steward’s pushes are taken; a whole catalog replaces, older versions are ignored', (t) => {
  const r = reeve()
  const push = (term: number, version: number, endpoints = [ep('x')]) => r.send({ type: 'push', catalog: { term, version, full: true, base: 0, endpoints, remove: [], rules: [] } }).filter((e) => e.type === 'emit')
  t.is(push(2, 5).length, 0, 'no steward named yet')
  r.send({ type: 'steward', address: 's1:50061', term: 2 })
  t.is(push(2, 5).length, 1)
  t.is(push(2, 4).length, 0, 'older version')
  t.is(push(1, 9).length, 0, 'another steward')
  r.send({ type: 'steward', address: 's2:50061', term: 3 })
  t.is(push(3, 1, [ep('y')]).length, 1, 'a new steward starts its own versions')
  t.deepEqual([catalogOf(r).term, Object.keys(catalogOf(r).endpoints)], [3, [ep('y').nodeId]])
})

test('a delta applies on top of the version it was made from, and says what changed; a gap is ignored', (t) => {
  const r = reeve()
  r.send({ type: 'steward', address: 's1:50061', term: 1 })
  r.send({ type: 'push', catalog: { term: 1, version: 3, full: true, base: 0, endpoints: [ep('a'), ep('b')], remove: [], rules: [] } })
  const delta = (base: number, version: number) => r.send({ type: 'push', catalog: { term: 1, version, full: false, base, endpoints: [ep('c')], remove: [ep('a').nodeId], rules: [] } }).filter((e) => e.type === 'emit')
  t.deepEqual(delta(2, 4), [], 'made from a version we do not hold')
  const [changed] = delta(3, 4)
  t.deepEqual((changed as unknown as { record: { changed: string[] } }).record.changed, [ep('c').nodeId, ep('a').nodeId])
  t.deepEqual(Object.keys(catalogOf(r).endpoints).sort(), [ep('b').nodeId, ep('c').nodeId])
  t.is(catalogOf(r).version, 4)
})

test('with a batch window, a burst of changes goes as one forward when the window ends', (t) => {
  const r = reeve([], 10)
  r.send({ type: 'steward', address: 's1:50061', term: 1 })
  r.send({ type: 'forward.done' })
  const first = r.send({ type: 'register', endpoint: ep('a') })
  t.deepEqual(first.filter((e) => e.type === 'timer.set'), [{ type: 'timer.set', name: 'batch', ms: 10 }])
  t.deepEqual(r.forwards(first), [])
  t.deepEqual(r.send({ type: 'register', endpoint: ep('b') }).filter((e) => e.type === 'timer.set'), [], 'one window for the burst')
  const [f] = r.forwards(r.send({ type: 'timer.fired', name: 'batch' }))
  t.deepEqual(r.ids(f!).sort(), ['a', 'b'])
})
