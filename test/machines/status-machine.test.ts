/**
 * The status analyser (original-crux.md §2.4) as a machine: MonInfo records in, a Status view out
 * whenever the judgement changes; time only in events.
 */
import test from 'ava'
import { createActor, type EventFrom } from 'xstate'
import type { Effect } from '../../machines/effects.js'
import type { StatusEvent } from '../../machines/status/events.js'
import { statusLogic } from '../../machines/status.machine.js'
import type { MonRecord, StatusView } from '../../machines/status/types.js'

const STABLE = 15_000

function analyser() {
  const effects: Effect[] = []
  const actor = createActor(statusLogic, { input: { stableMs: STABLE, now: 0 }, clock: { setTimeout: () => { throw new Error('no real timers') }, clearTimeout: () => {} } })
  actor.on('*', (e) => effects.push(e as unknown as Effect))
  actor.start()
  const views = () => effects.filter((e) => e.type === 'emit').map((e) => (e as unknown as { record: StatusView }).record)
  return {
    actor,
    effects,
    views,
    last: () => views().at(-1)!,
    send: (ev: StatusEvent, now: number) => actor.send({ ...ev, now }),
    mon: (m: Partial<MonRecord>, now: number) =>
      actor.send({ type: 'mon', now, mon: { op: 'LeaderHeart', node: 'a', flock: 'F', leader: 'a', n: 0, oflock: '', t: now, cause: '', ...m } }),
    tick: (now: number) => actor.send({ type: 'timer.fired', name: 'tick', now }),
  }
}

test('the machine declares its events: a record under the wrong field does not type-check', (t) => {
  type Taken = EventFrom<typeof statusLogic>
  // @ts-expect-error a mon event carries its record in `mon`
  const wrong: Taken = { type: 'mon', record: {} }
  const right: Taken = { type: 'stop', now: 1 }
  t.deepEqual([wrong.type, right.type], ['mon', 'stop'])
})

test('a flock whose leader reports the same size for the stable period becomes stable, on a tick', (t) => {
  const a = analyser()
  a.mon({ op: 'LeaderStart', n: 0 }, 0)
  a.mon({ n: 4 }, 1_000)
  t.deepEqual(a.last().flocks, [{ flock: 'F', leader: 'a', nodes: 5, since: 1_000, stable: false }])
  for (let now = 2_000; now < 16_000; now += 1_000) a.mon({ n: 4 }, now)
  t.false(a.last().flocks[0]!.stable)
  a.tick(16_000)
  t.true(a.last().flocks[0]!.stable)
  t.is(a.last().flocks[0]!.nodes, 5)
})

test('a change of size or leader restarts the stable period', (t) => {
  const a = analyser()
  a.mon({ n: 4 }, 0)
  a.tick(15_000)
  t.true(a.last().flocks[0]!.stable)
  a.mon({ n: 3 }, 15_500) // a member left
  t.false(a.last().flocks[0]!.stable)
  t.is(a.last().flocks[0]!.since, 15_500)
  a.mon({ node: 'b', leader: 'b', n: 3 }, 16_000) // another leader for F
  t.is(a.last().flocks[0]!.leader, 'b')
  t.is(a.last().flocks[0]!.since, 16_000)
})

test('no flock is stable while a node is rebooting; its LeaderStart ends the reboot', (t) => {
  const a = analyser()
  a.mon({ n: 4 }, 0)
  a.mon({ op: 'Reboot', node: 'c', leader: 'a' }, 1_000)
  a.tick(20_000)
  t.false(a.last().flocks.find((f) => f.flock === 'F')!.stable)
  t.deepEqual(a.last().rebooting, ['c'])
  a.mon({ op: 'LeaderStart', node: 'c', leader: 'c', flock: 'G', n: 0 }, 21_000)
  t.deepEqual(a.last().rebooting, [])
  t.true(a.last().flocks.find((f) => f.flock === 'F')!.stable)
})

test('a leader that joins a bigger flock takes its flock off the list; an Exit of a leader does too', (t) => {
  const a = analyser()
  a.mon({ n: 4 }, 0)
  a.mon({ node: 'x', leader: 'x', flock: 'G', n: 1 }, 0)
  t.deepEqual(a.last().flocks.map((f) => f.flock), ['F', 'G'])
  a.mon({ op: 'Join', node: 'x', leader: 'a', flock: 'F', oflock: 'G', n: 1 }, 500)
  t.deepEqual(a.last().flocks.map((f) => f.flock), ['F'])
  a.mon({ op: 'Exit', node: 'a', leader: 'a' }, 600)
  t.deepEqual(a.last().flocks, [])
})

test('a flock nobody reports on for 1.5 × the stable period is forgotten', (t) => {
  const a = analyser()
  a.mon({ n: 2 }, 0)
  a.tick(22_000)
  t.is(a.last().flocks.length, 1)
  a.tick(22_501)
  t.is(a.last().flocks.length, 0)
})

test('reports only by the leader count; a member repeating its leader changes nothing, and an unchanged judgement is not published again', (t) => {
  const a = analyser()
  a.mon({ n: 4 }, 0)
  const before = a.views().length
  a.mon({ node: 'm', leader: 'a', n: 99 }, 100) // a member's LeaderHeart-like record is ignored
  a.mon({ n: 4 }, 200)
  a.tick(300)
  t.is(a.views().length, before)
})

test('the tick timer is re-armed on every tick and cancelled on stop', (t) => {
  const a = analyser()
  const timers = () => a.effects.filter((e) => e.type === 'timer.set' || e.type === 'timer.cancel')
  t.deepEqual(timers(), [{ type: 'timer.set', name: 'tick', ms: 1000 }])
  a.tick(1000)
  t.is(timers().length, 2)
  a.send({ type: 'stop' }, 2000)
  t.deepEqual(timers().at(-1), { type: 'timer.cancel', name: 'tick' })
  t.is(a.actor.getSnapshot().status, 'done')
})
