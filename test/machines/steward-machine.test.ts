/** The steward: reeves' updates become one catalog per horde, pushed batched; a new steward is rebuilt by full re-sends. */
import test from 'ava'
import { createActor } from 'xstate'
import type { Effect, HostEvent } from '../../machines/effects.js'
import { stewardLogic } from '../../machines/steward.machine.js'
import { serviceOf, visibleTo } from '../../machines/steward/rules.js'
import type { CatalogEndpoint, EndpointUpdate } from '../../machines/steward/types.js'

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

interface Push { reeve: string; to: string; term: number; version: number; full: boolean; base: number; endpoints: CatalogEndpoint[]; remove: string[]; rules: unknown[] }

function steward(term = 1) {
  const effects: Effect[] = []
  const actor = createActor(stewardLogic, { input: { term, now: 0 }, clock: { setTimeout: () => { throw new Error('no real timers') }, clearTimeout: () => {} } })
  actor.on('*', (e) => effects.push(e as unknown as Effect))
  actor.start()
  const send = (ev: HostEvent, now = 0) => {
    const from = effects.length
    actor.send({ ...ev, now })
    return effects.slice(from)
  }
  const update = (u: Partial<EndpointUpdate> & { reeve: string }) => send({ type: 'update', update: { address: `${u.reeve}:50059`, horde: 'h1', full: false, upsert: [], remove: [], ...u } })
  const pushes = () => send({ type: 'timer.fired', name: 'push' }).filter((e) => e.type === 'emit').map((e) => (e as unknown as { record: Push }).record)
  return { actor, send, update, pushes }
}

test('updates within the batch window go out as one push per reeve, with its horde catalog and the version', (t) => {
  const s = steward()
  t.deepEqual(s.update({ reeve: 'r1', upsert: [ep('n1', 'Pastiche')] }).filter((e) => e.type === 'timer.set'), [{ type: 'timer.set', name: 'push', ms: 50 }])
  t.deepEqual(s.update({ reeve: 'r2', upsert: [ep('n2', 'Pastiche')] }), [], 'one timer for the batch')
  const out = s.pushes()
  t.deepEqual(out.map((p) => [p.reeve, p.to, p.version, p.endpoints.map((e) => e.instance)]), [
    ['r1', 'r1:50059', 2, ['n1', 'n2']],
    ['r2', 'r2:50059', 2, ['n1', 'n2']],
  ])
  t.true(out.every((p) => p.term === 1 && p.rules.length > 0))
})

test('each horde gets only its own endpoints', (t) => {
  const s = steward()
  s.update({ reeve: 'r1', upsert: [ep('n1', 'Pastiche', 'h1')] })
  s.update({ reeve: 'r2', horde: 'h2', upsert: [ep('n2', 'Pastiche', 'h2')] })
  const out = s.pushes()
  t.deepEqual(out.map((p) => [p.reeve, p.endpoints.map((e) => e.instance)]), [['r1', ['n1']], ['r2', ['n2']]])
})

test('an update that changes nothing schedules no push; a reeve removes only what it registered', (t) => {
  const s = steward()
  s.update({ reeve: 'r1', upsert: [ep('n1', 'Pastiche')] })
  s.pushes()
  t.deepEqual(s.update({ reeve: 'r1', upsert: [ep('n1', 'Pastiche')] }), [])
  t.deepEqual(s.update({ reeve: 'r2', remove: [ep('n1', 'Pastiche').nodeId] }).filter((e) => e.type === 'timer.set').length, 1, 'a new reeve still gets the catalog')
  t.deepEqual(s.pushes().map((p) => [p.reeve, p.full, p.endpoints.length]), [['r2', true, 1]], 'n1 was not r2s to remove; r1 already has this version')
})

test('a full update replaces what that reeve sent before (how a new steward is rebuilt)', (t) => {
  const s = steward(2)
  s.update({ reeve: 'r1', upsert: [ep('n1', 'Pastiche'), ep('n3', 'Dean')] })
  s.pushes()
  s.update({ reeve: 'r1', full: true, upsert: [ep('n1', 'Pastiche', 'h1', { state: 'down' })] })
  const [p] = s.pushes()
  t.deepEqual(p!.endpoints.map((e) => [e.instance, e.state]), [['n1', 'down']])
  t.is(p!.term, 2)
})

test('retiring cancels a pending push and ends the machine', (t) => {
  const s = steward()
  s.update({ reeve: 'r1', upsert: [ep('n1', 'Pastiche')] })
  const out = s.send({ type: 'retire' })
  t.deepEqual(out[0], { type: 'timer.cancel', name: 'push' })
  t.is(s.actor.getSnapshot().status, 'done')
})

test('callers see the endpoints their rules allow, in their horde', (t) => {
  const eps = [ep('n1', 'Pastiche', 'h1'), ep('n2', 'Pastiche', 'h2'), ep('n3', 'Dean', 'h1')]
  const rules = [{ horde: '*', from: 'Pastiche', to: 'Pastiche' }]
  t.deepEqual(visibleTo(eps, rules, { horde: 'h1', service: 'Pastiche' }).map((e) => e.instance), ['n1'])
  t.deepEqual(visibleTo(eps, rules, { horde: 'h1', service: 'Dean' }), [])
  t.is(serviceOf(eps[2]!.nodeId), 'Dean')
})

test('a reeve that holds the last push gets only what changed since; a new one the whole catalog', (t) => {
  const s = steward()
  s.update({ reeve: 'r1', upsert: [ep('n1', 'Pastiche'), ep('n2', 'Pastiche')] })
  s.pushes()
  s.update({ reeve: 'r1', upsert: [ep('n3', 'Pastiche')], remove: [ep('n2', 'Pastiche').nodeId] })
  s.update({ reeve: 'r9', upsert: [] })
  const out = s.pushes()
  t.deepEqual(out.map((p) => [p.reeve, p.full, p.base, p.version, p.endpoints.map((e) => e.instance), p.remove]), [
    ['r1', false, 1, 2, ['n3'], [ep('n2', 'Pastiche').nodeId]],
    ['r9', true, 0, 2, ['n1', 'n3'], []],
  ])
})

test('a push that failed means the whole catalog next time', (t) => {
  const s = steward()
  s.update({ reeve: 'r1', upsert: [ep('n1', 'Pastiche')] })
  s.pushes()
  t.deepEqual(s.send({ type: 'push.failed', reeve: 'r1' }), [{ type: 'timer.set', name: 'push', ms: 50 }])
  const [p] = s.pushes()
  t.deepEqual([p!.full, p!.endpoints.map((e) => e.instance)], [true, ['n1']])
})
