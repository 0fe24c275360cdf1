/** The heartbeater: beats keep a service up; the last one lapsing marks it down, exactly on time. */
import test from 'ava'
import { createActor } from 'xstate'
import type { Effect, HostEvent } from '../../machines/effects.js'
import { heartbeaterLogic } from '../../machines/heartbeater.machine.js'
import type { Beat } from '../../machines/heartbeater/rules.js'

function heartbeater() {
  const effects: Effect[] = []
  const actor = createActor(heartbeaterLogic, { input: { now: 0 }, clock: { setTimeout: () => { throw new Error('no real timers') }, clearTimeout: () => {} } })
  actor.on('*', (e) => effects.push(e as unknown as Effect))
  actor.start()
  const send = (ev: HostEvent, now: number) => {
    const from = effects.length
    actor.send({ ...ev, now })
    return effects.slice(from)
  }
  const beat = (uuid: string, now: number, over: Partial<Beat> = {}) =>
    send({ type: 'heartbeat', beat: { uuid, state: 'up', netId: `/Svc1_0/p/net/h:${uuid.length}`, atMs: 5_000_000 + now, expiresMs: 5_000_000 + now + 4_000, various: '', ...over } }, now)
  const states = (out: Effect[]) => out.filter((e) => e.type === 'emit').map((e) => (e as unknown as { record: { uuid: string; state: string; cause: string } }).record).map((r) => `${r.uuid} ${r.state} ${r.cause}`)
  const timers = (out: Effect[]) => out.filter((e) => e.type === 'timer.set' || e.type === 'timer.cancel')
  return { send, beat, states, timers, fire: (now: number) => send({ type: 'timer.fired', name: 'sweep' }, now) }
}

test('a first beat announces the service up and arms the sweep for its lapse', (t) => {
  const h = heartbeater()
  const out = h.beat('a', 1_000)
  t.deepEqual(h.states(out), ['a up first-beat'])
  t.deepEqual(h.timers(out), [{ type: 'timer.set', name: 'sweep', ms: 4_000 }])
})

test('beats that keep coming keep it up and push the lapse back, announcing nothing', (t) => {
  const h = heartbeater()
  h.beat('a', 0)
  const out = h.beat('a', 2_000)
  t.deepEqual(h.states(out), [])
  t.deepEqual(h.timers(out), [{ type: 'timer.set', name: 'sweep', ms: 4_000 }])
})

test('when the last beat lapses the service is down, exactly then; a new beat brings it back', (t) => {
  const h = heartbeater()
  h.beat('a', 0)
  t.deepEqual(h.states(h.fire(4_000)), ['a down expired'])
  t.deepEqual(h.states(h.beat('a', 9_000)), ['a up beat'])
})

test('the hold is laid on the heartbeater clock: a service whose clock is an hour off is judged the same', (t) => {
  const h = heartbeater()
  const out = h.beat('a', 1_000, { atMs: 3_600_000, expiresMs: 3_604_000 })
  t.deepEqual(h.timers(out), [{ type: 'timer.set', name: 'sweep', ms: 4_000 }])
})

test('the sweep timer follows the earliest lapse among several services, and is cancelled when the last up one leaves', (t) => {
  const h = heartbeater()
  h.beat('a', 0) // lapses at 4 000
  t.deepEqual(h.timers(h.beat('b', 1_000, { atMs: 0, expiresMs: 1_000 })), [{ type: 'timer.set', name: 'sweep', ms: 1_000 }]) // b lapses at 2 000
  const first = h.fire(2_000)
  t.deepEqual(h.states(first), ['b down expired'])
  t.deepEqual(h.timers(first), [{ type: 'timer.set', name: 'sweep', ms: 2_000 }])
  const second = h.fire(4_000)
  t.deepEqual(h.states(second), ['a down expired'])
  t.deepEqual(h.timers(second), [], 'nothing left to watch: the fired timer is not re-armed')
  h.beat('c', 5_000)
  t.deepEqual(h.timers(h.send({ type: 'deregister', uuid: 'c' }, 5_100)), [{ type: 'timer.cancel', name: 'sweep' }], 'the last up service leaving cancels it')
})

test('deregistering an up service announces it down; a beat saying down is taken at its word', (t) => {
  const h = heartbeater()
  h.beat('a', 0)
  t.deepEqual(h.states(h.send({ type: 'deregister', uuid: 'a' }, 100)), ['a down deregistered'])
  h.beat('b', 0)
  t.deepEqual(h.states(h.beat('b', 500, { state: 'down' })), ['b down beat'])
})
