/**
 * The heartbeater: it keeps what the reeve hands it (persisted, restored with one more hold), beats
 * keep a service up, the last one lapsing marks it down exactly on time, and each change goes to the
 * reeve as a message.
 */
import test from 'ava'
import type { Effect } from '../../machines/effects.js'
import { heartbeaterLogic } from '../../machines/heartbeater.machine.js'
import type { Beat } from '../../machines/heartbeater/rules.js'
import type { Kept } from '../../machines/strew/events.js'
import { persists, sent, stepper, timers } from './strew-harness.js'

const KEY = '/Reeve1_0/r1/keys/aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99'
const node = (uuid: string) => `/b/h1/r1/S${uuid}/S${uuid}1`

function heartbeater(kept: Kept[] = [], now = 0) {
  const s = stepper(heartbeaterLogic, { node: 'r1', keyId: KEY, kept, now })
  let n = 0
  const keep = (uuid: string, at: number, holdMs = 4_000) => s.send({ type: 'heartbeat.keep', uuid, nodeId: node(uuid), holdMs }, at)
  const beats = (at: number, list: Array<[string, Partial<Beat>?]>, caller = KEY) =>
    s.send({ type: 'heartbeat.beats', id: ++n, from: `reply:${n}`, caller, beats: list.map(([uuid, over]) => ({ uuid, state: 'up', netId: '', atMs: 5_000_000 + at, expiresMs: 5_000_000 + at + 4_000, various: '', ...over })) }, at)
  const states = (out: Effect[]) => sent(out, 'service.state', 'r1/reeve').map((e) => `${e.nodeId.split('/')[4]} ${e.state}`)
  return { ...s, keep, beats, states, fire: (at: number) => s.send({ type: 'timer.fired', name: 'sweep' }, at) }
}

test('kept: persisted, announced up to the reeve, and the sweep armed for its lapse', (t) => {
  const h = heartbeater()
  const out = h.keep('a', 1_000)
  t.deepEqual(h.states(out), ['Sa up'])
  t.deepEqual(persists(out), [{ type: 'persist', key: 'beat/a', value: { uuid: 'a', nodeId: node('a'), holdMs: 4_000 } }])
  t.deepEqual(timers(out), [{ type: 'timer.set', name: 'sweep', ms: 4_000 }])
})

test('beats for a uuid not kept here are refused NOT_FOUND and none is taken; others’ keys are refused; kept ones are answered', (t) => {
  const h = heartbeater()
  h.keep('a', 0)
  const refused = h.beats(1_000, [['a', { state: 'down' }], ['zz']])
  t.deepEqual(sent(refused, 'call.refused').map((e) => e.code), ['NOT_FOUND'])
  t.deepEqual(h.states(refused), [], 'the down beat of a was not taken either')
  t.deepEqual(sent(h.beats(1_000, [['a']], '/Reeve1_0/r2/keys/*'), 'call.refused').map((e) => e.code), ['PERMISSION_DENIED'])
  t.deepEqual(sent(h.beats(1_000, [['a']]), 'heartbeat.ok'), [{ type: 'heartbeat.ok', id: 3 }])
})

test('beats that keep coming keep it up and push the lapse back, announcing nothing', (t) => {
  const h = heartbeater()
  h.keep('a', 0)
  const out = h.beats(2_000, [['a']])
  t.deepEqual(h.states(out), [])
  t.deepEqual(timers(out), [{ type: 'timer.set', name: 'sweep', ms: 4_000 }])
})

test('when the last beat lapses the service is down, exactly then; a new beat brings it back', (t) => {
  const h = heartbeater()
  h.keep('a', 0)
  t.deepEqual(h.states(h.fire(4_000)), ['Sa down'])
  t.deepEqual(h.states(h.beats(9_000, [['a']])), ['Sa up'])
})

test('the hold is laid on the heartbeater clock: a service whose clock is an hour off is judged the same', (t) => {
  const h = heartbeater()
  h.keep('a', 0)
  t.deepEqual(timers(h.beats(1_000, [['a', { atMs: 3_600_000, expiresMs: 3_604_000 }]])), [{ type: 'timer.set', name: 'sweep', ms: 4_000 }])
})

test('the sweep timer follows the earliest lapse, and is cancelled when the last up one is unkept', (t) => {
  const h = heartbeater()
  h.keep('a', 0) // lapses at 4 000
  t.deepEqual(timers(h.keep('b', 1_000, 1_000)), [{ type: 'timer.set', name: 'sweep', ms: 1_000 }]) // b lapses at 2 000
  const first = h.fire(2_000)
  t.deepEqual([h.states(first), timers(first)], [['Sb down'], [{ type: 'timer.set', name: 'sweep', ms: 2_000 }]])
  const second = h.fire(4_000)
  t.deepEqual([h.states(second), timers(second)], [['Sa down'], []])
  h.keep('c', 5_000)
  const unkept = h.send({ type: 'heartbeat.unkeep', nodeId: node('c') }, 5_100)
  t.deepEqual(timers(unkept), [{ type: 'timer.cancel', name: 'sweep' }])
  t.deepEqual([h.states(unkept), persists(unkept)], [[], [{ type: 'persist', key: 'beat/c', value: null }]], 'silent: the reeve says what became of it')
})

test('unkeep with `but` keeps that uuid: a re-registration under a new uuid drops the old one', (t) => {
  const h = heartbeater()
  h.keep('a', 0)
  h.send({ type: 'heartbeat.keep', uuid: 'a2', nodeId: node('a'), holdMs: 4_000 }, 10)
  const out = h.send({ type: 'heartbeat.unkeep', nodeId: node('a'), but: 'a2' }, 20)
  t.deepEqual(persists(out), [{ type: 'persist', key: 'beat/a', value: null }])
  t.deepEqual(Object.keys(h.context().services), ['a2'])
})

test('restored after a restart: each kept registration is up for one more hold, announced, with the sweep armed', (t) => {
  const h = heartbeater([{ uuid: 'a', nodeId: node('a'), holdMs: 3_000 }, { uuid: 'b', nodeId: node('b'), holdMs: 8_000 }], 50_000)
  t.deepEqual(h.states(h.start), ['Sa up', 'Sb up'])
  t.deepEqual(timers(h.start), [{ type: 'timer.set', name: 'sweep', ms: 3_000 }])
  t.deepEqual(sent(h.beats(51_000, [['b']]), 'heartbeat.ok').length, 1, 'its beats are taken')
  t.deepEqual(h.states(h.fire(53_000)), ['Sa down'], 'one that does not beat again is down after its hold')
})
