import test from 'ava'
import { VirtualClock } from '../../runtime/clock.js'
import { createActorHost, type HostLogger } from '../../runtime/host.js'
import { collector, crasher, dice, fixtureMachines, rally, ticker } from '../fixtures/machines.js'

const setup = (extra: Partial<Parameters<typeof createActorHost>[0]> = {}, init: Parameters<typeof createActorHost>[1] = {}) => {
  const clock = new VirtualClock()
  const host = createActorHost({ clock, machines: fixtureMachines, ...extra }, init)
  return { clock, host }
}

test('a rally between two actors is delivered through the mailboxes', (t) => {
  const { clock, host } = setup()
  host.spawn('a', rally.name, { peer: 'b' })
  host.spawn('b', rally.name, { peer: 'a' })
  host.send('a', { type: 'ball', left: 9 })
  clock.runAll()
  t.is((host.state('a').context as { n: number }).n, 5)
  t.is((host.state('b').context as { n: number }).n, 5)
  t.is(host.counters.deliveries, 10)
})

test('every delivered event carries now from the clock', (t) => {
  const { clock, host } = setup()
  const nows: unknown[] = []
  host.onStep((s) => nows.push(s.event.now))
  host.spawn('a', rally.name, { peer: 'nobody' })
  clock.advance(1234)
  host.send('a', { type: 'ball', left: 0 })
  clock.runAll()
  t.deepEqual(nows, [undefined, 1234])
})

test('timer effects fire as timer.fired inputs on the virtual clock', (t) => {
  const { clock, host } = setup()
  host.spawn('tick', ticker.name, { period: 1000 })
  clock.runUntil(3500)
  const ctx = host.state('tick').context as { ticks: number; times: number[] }
  t.is(ctx.ticks, 3)
  t.deepEqual(ctx.times, [1000, 2000, 3000])
})

test('timer.cancel stops a pending timer', (t) => {
  const { clock, host } = setup()
  host.spawn('tick', ticker.name, { period: 1000 })
  clock.runUntil(1500)
  host.send('tick', { type: 'stop' }, 'control')
  clock.runUntil(10_000)
  t.is((host.state('tick').context as { ticks: number }).ticks, 1)
  t.is(host.state('tick').value, 'stopped')
  t.is(clock.pending, 0)
})

test('emit effects reach listeners', (t) => {
  const { clock, host } = setup()
  const records: unknown[] = []
  host.onEmit((actor, r) => records.push([actor, r]))
  host.spawn('tick', ticker.name, { period: 100 })
  clock.runUntil(250)
  t.deepEqual(records, [
    ['tick', { type: 'Tick', n: 1, at: 100 }],
    ['tick', { type: 'Tick', n: 2, at: 200 }],
  ])
})

test('pending heartbeats reach the actor as one batch event', (t) => {
  const { clock, host } = setup()
  host.spawn('leader', collector.name)
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 100; i++) host.send('leader', { type: 'hb', from: `m${i}`, n: round }, 'heartbeat', `m${i}`)
  }
  clock.runAll()
  const ctx = host.state('leader').context as { batches: number; beats: number; last: string[] }
  t.is(ctx.batches, 1)
  t.is(ctx.beats, 100)
  t.is(ctx.last[0], 'm0:2')
  t.is(host.mailbox('leader')!.counters.heartbeatSuperseded, 200)
})

test('a data flood is bounded: the oldest are dropped and counted', (t) => {
  const { clock, host } = setup({}, { mailbox: { data: 10 } })
  host.spawn('c', collector.name)
  for (let i = 0; i < 25; i++) host.send('c', { type: 'data' })
  clock.runAll()
  t.is((host.state('c').context as { data: number }).data, 10)
  t.is(host.mailbox('c')!.counters.dataDropped, 15)
})

test('sends to a non-local target go to the outbound router', (t) => {
  const out: unknown[] = []
  const { clock, host } = setup({ outbound: (to, event, from) => out.push([to, event.type, from]) })
  host.spawn('a', rally.name, { peer: '127.0.0.1:9' })
  host.send('a', { type: 'ball', left: 1 })
  clock.runAll()
  t.deepEqual(out, [['127.0.0.1:9', 'ball', 'a']])
})

test('sends nobody can take are counted as undeliverable', (t) => {
  const { clock, host } = setup()
  host.spawn('a', rally.name, { peer: 'ghost' })
  host.send('a', { type: 'ball', left: 3 })
  clock.runAll()
  t.is(host.counters.undeliverable, 1)
})

test('log and persist effects reach their ports', (t) => {
  const logs: unknown[] = []
  const logger: HostLogger = {
    child: (component, bindings) => ({ ...logger, log: (level, tag, fields, msg) => logs.push({ component, ...bindings, level, msg }) }),
    log: () => {},
  }
  const puts: unknown[] = []
  const { clock, host } = setup({ logger, store: { put: (actor, key, value) => puts.push([actor, key, value]) } })
  host.spawn('x', crasher.name)
  clock.runAll()
  t.deepEqual(logs, [{ component: 'crux:crasher', actor: 'x', level: 'info', msg: 'crasher up' }])
  t.deepEqual(puts, [['x', 'n', 0]])
})

test('a failing actor is restarted with backoff on the clock, keeping its mail', (t) => {
  const { clock, host } = setup({}, { supervisor: { backoffBaseMs: 100, factor: 2, maxRestarts: 3, windowMs: 60_000 } })
  host.spawn('x', crasher.name)
  host.send('x', { type: 'boom' }, 'control')
  clock.runUntil(0)
  t.is(host.status('x'), 'restarting')
  host.send('x', { type: 'inc' })
  clock.runUntil(99)
  t.is(host.status('x'), 'restarting')
  clock.runUntil(100)
  t.is(host.status('x'), 'running')
  t.is((host.state('x').context as { n: number }).n, 1)
  host.send('x', { type: 'boom' }, 'control')
  clock.runUntil(100)
  t.is(host.status('x'), 'restarting')
  clock.runUntil(299)
  t.is(host.status('x'), 'restarting')
  clock.runUntil(300)
  t.is(host.status('x'), 'running')
  t.is(host.counters.restarts, 2)
})

test('the supervisor gives up after too many restarts in the window', (t) => {
  const { clock, host } = setup({}, { supervisor: { backoffBaseMs: 10, maxRestarts: 2, windowMs: 60_000 } })
  host.spawn('x', crasher.name)
  for (let i = 0; i < 3; i++) {
    host.send('x', { type: 'boom' }, 'control')
    clock.runAll()
  }
  t.is(host.status('x'), 'failed')
  t.is(host.counters.gaveUp, 1)
  t.is(host.send('x', { type: 'inc' }), 'failed')
  clock.runAll()
  t.is(host.counters.deliveries, 3)
})

test('an unsupervised actor fails for good on its first error', (t) => {
  const { clock, host } = setup()
  host.spawn('x', crasher.name, undefined, { supervise: false })
  host.send('x', { type: 'boom' })
  clock.runAll()
  t.is(host.status('x'), 'failed')
})

test('actors take turns: a flooded actor does not starve another', (t) => {
  const { clock, host } = setup({}, { turnBudget: 4, mailbox: { data: 1000 } })
  host.spawn('busy', collector.name)
  host.spawn('quiet', collector.name)
  const order: string[] = []
  host.onStep((s) => order.push(s.actor))
  for (let i = 0; i < 20; i++) host.send('busy', { type: 'data' })
  host.send('quiet', { type: 'data' })
  clock.runAll()
  t.true(order.indexOf('quiet') <= 4)
})

test('spawning an unknown machine or a duplicate id is refused', (t) => {
  const { host } = setup()
  t.throws(() => host.spawn('a', 'no-such'), { message: /no machine named "no-such"/ })
  host.spawn('a', dice.name, { seed: 1 })
  t.throws(() => host.spawn('a', dice.name, { seed: 1 }), { message: /already exists/ })
})

test('a machine using a delayed transition fails loudly instead of reading the real clock', async (t) => {
  const { setup: xsetup } = await import('xstate')
  const { defineMachine } = await import('../../machines/definition.js')
  const bad = defineMachine('sleepy', '1', xsetup({}).createMachine({ initial: 'a', states: { a: { after: { 100: 'b' } }, b: {} } }))
  const clock = new VirtualClock()
  const host = createActorHost({ clock, machines: [bad] }, { supervisor: { maxRestarts: 0 } })
  host.spawn('s', 'sleepy')
  t.is(host.status('s'), 'failed')
})

test('close stops every actor and cancels timers', (t) => {
  const { clock, host } = setup()
  host.spawn('tick', ticker.name, { period: 10 })
  host.close()
  t.is(clock.pending, 0)
  t.deepEqual(host.ids(), [])
  t.is(host.send('tick', { type: 'stop' }), 'unknown')
})
