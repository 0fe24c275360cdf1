import test from 'ava'
import { VirtualClock } from '../../runtime/clock.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import type { HostLogger } from '../../runtime/host.js'
import { MemoryDestination } from '../../runtime/memory-destination.js'
import { createWalrus, levelValues, type WalrusOptions } from '../../runtime/walrus.js'

function setup(options: WalrusOptions = {}) {
  const out = new MemoryDestination()
  const clock = new VirtualClock(1000)
  const log = createWalrus({ destination: out, clock, ...options })
  const msgs = () => out.lines().map((l) => l['msg'])
  return { out, clock, log, msgs }
}

test('statements below the level are not written', (t) => {
  const { log, msgs } = setup({ level: 'warn' })
  log.debug('d')
  log.info('i')
  log.warn('w')
  log.error('e')
  t.deepEqual(msgs(), ['w', 'e'])
})

test('setLevel changes the threshold for the node', (t) => {
  const { log, msgs } = setup({ level: 'info' })
  const child = log.child('crux:flock')
  log.setLevel('error')
  child.warn('hidden')
  t.is(child.level, 'error')
  log.setLevel('silent')
  log.fatal('also hidden')
  t.deepEqual(msgs(), [])
})

test('a line carries level number, msg, fields and base bindings', (t) => {
  const { log, out } = setup({ base: { node: 'n1' } })
  log.log('warn', undefined, { peer: 'n2' }, 'late heartbeat')
  t.like(out.lines()[0], { level: levelValues.warn, node: 'n1', peer: 'n2', msg: 'late heartbeat' })
})

test('a child carries its component and bindings; a grandchild replaces the component', (t) => {
  const { log, out } = setup({ base: { node: 'n1' } })
  const host = log.child('crux:host', { epoch: 3 })
  host.info('up')
  host.child('crux:flock', { actor: 'n1/flock' }).info('joined')
  const [a, b] = out.lines()
  t.like(a, { node: 'n1', component: 'crux:host', epoch: 3 })
  t.like(b, { node: 'n1', component: 'crux:flock', epoch: 3, actor: 'n1/flock' })
  // One `component` key, not a parent's and a child's.
  t.is(out.raw.split('\n')[1]!.match(/"component"/g)?.length, 1)
})

test('errors under err or error are serialized with type, message and stack', (t) => {
  const { log, out } = setup()
  log.error('failed', { err: new Error('a'), error: new InvalidArgumentError('b') })
  const line = out.lines()[0]!
  t.like(line['err'], { type: 'Error', message: 'a' })
  t.like(line['error'], { type: 'InvalidArgumentError', message: 'b', code: 3 })
  t.is(typeof (line['error'] as Record<string, unknown>)['stack'], 'string')
})

test('the time field is the clock time', (t) => {
  const { log, clock, out } = setup()
  log.info('a')
  clock.advance(250)
  log.info('b')
  t.deepEqual(out.lines().map((l) => l['time']), [1000, 1250])
})

test('a tag without a level is silent whatever the default level', (t) => {
  const { log, msgs } = setup({ level: 'trace' })
  log.tag('wire').error('dropped')
  log.log('error', 'wire', undefined, 'dropped too')
  t.deepEqual(msgs(), [])
})

test('a tag level lets tagged statements through below the default level', (t) => {
  const { log, out } = setup({ level: 'error' })
  log.setTagLevel('wire', 'debug')
  log.tag('wire').debug('packet', { bytes: 12 })
  log.tag('wire').trace('too fine')
  log.debug('untagged stays hidden')
  t.deepEqual(out.lines(), [{ level: levelValues.debug, time: 1000, bytes: 12, tag: 'wire', msg: 'packet' }])
})

test('log() with a tag is governed by that tag', (t) => {
  const { log, msgs } = setup({ level: 'info', tagLevels: { probe: 'warn' } })
  log.log('info', 'probe', undefined, 'hidden')
  log.log('warn', 'probe', undefined, 'shown')
  t.deepEqual(msgs(), ['shown'])
  t.is(log.tagLevel('probe'), 'warn')
  t.is(log.tagLevel('other'), 'silent')
})

test('isEnabled answers for untagged and tagged statements', (t) => {
  const { log } = setup({ level: 'warn', tagLevels: { wire: 'trace' } })
  t.false(log.isEnabled('info'))
  t.true(log.isEnabled('warn'))
  t.true(log.isEnabled('trace', 'wire'))
  t.true(log.tag('wire').isEnabled('trace'))
  t.false(log.isEnabled('fatal', 'other'))
})

test('an unknown level is an InvalidArgumentError', (t) => {
  const { log } = setup()
  t.throws(() => log.setLevel('loud' as never), { instanceOf: InvalidArgumentError })
  t.throws(() => log.log('silent' as never, undefined, undefined, 'x'), { instanceOf: InvalidArgumentError })
  t.throws(() => log.log('toString' as never, undefined, undefined, 'x'), { instanceOf: InvalidArgumentError })
})

test('a trigger writes the suppressed statements first, in order, with their level and time', (t) => {
  const { log, clock, out } = setup({ level: 'error', retro: { capacity: 10, trigger: 'error' } })
  log.debug('one', { n: 1 })
  clock.advance(10)
  log.info('two')
  clock.advance(10)
  log.error('boom')
  t.deepEqual(out.lines(), [
    { level: levelValues.debug, time: 1000, n: 1, retro: true, msg: 'one' },
    { level: levelValues.info, time: 1010, retro: true, msg: 'two' },
    { level: levelValues.error, time: 1020, msg: 'boom' },
  ])
})

test('the ring keeps only the newest entries beyond its capacity', (t) => {
  const { log, msgs } = setup({ level: 'error', retro: { capacity: 3 } })
  for (let i = 1; i <= 5; i++) log.info(`s${i}`)
  log.error('boom')
  t.deepEqual(msgs(), ['s3', 's4', 's5', 'boom'])
})

test('a written statement below the trigger does not flush the ring', (t) => {
  const { log, msgs } = setup({ level: 'warn', retro: { capacity: 5, trigger: 'error' } })
  log.info('kept')
  log.warn('written')
  t.deepEqual(msgs(), ['written'])
  log.error('boom')
  t.deepEqual(msgs(), ['written', 'kept', 'boom'])
})

test('suppressed tagged statements are kept with their tag', (t) => {
  const { log, out } = setup({ level: 'error', retro: { capacity: 5 } })
  log.tag('taggy').warn('tagged')
  log.error('boom')
  t.like(out.lines()[0], { tag: 'taggy', retro: true, msg: 'tagged' })
})

test('dumpRetro writes the ring on demand and empties it', (t) => {
  const { log, msgs } = setup({ level: 'error' })
  log.enableRetro(5)
  log.info('a')
  log.debug('b')
  t.is(log.dumpRetro(), 2)
  t.deepEqual(msgs(), ['a', 'b'])
  t.is(log.dumpRetro(), 0)
  t.deepEqual(msgs(), ['a', 'b'])
})

test('disableRetro forgets the ring and stops keeping', (t) => {
  const { log, msgs } = setup({ level: 'error', retro: { capacity: 5 } })
  log.info('forgotten')
  log.disableRetro()
  log.info('never kept')
  log.error('boom')
  t.is(log.dumpRetro(), 0)
  t.deepEqual(msgs(), ['boom'])
})

test('children and tag loggers share the node ring', (t) => {
  const { log, out } = setup({ level: 'error', retro: { capacity: 5 } })
  const flock = log.child('crux:flock')
  flock.info('from flock')
  log.tag('wire').child('crux:udp').debug('from udp')
  flock.child('crux:steward').error('boom')
  t.deepEqual(
    out.lines().map((l) => [l['component'], l['tag'], l['retro'], l['msg']]),
    [
      ['crux:flock', undefined, true, 'from flock'],
      ['crux:udp', 'wire', true, 'from udp'],
      ['crux:steward', undefined, undefined, 'boom'],
    ],
  )
})

test('two nodes have separate rings and levels', (t) => {
  const a = setup({ level: 'error', retro: { capacity: 5 } })
  const b = setup({ level: 'error', retro: { capacity: 5 } })
  a.log.info('a only')
  b.log.setLevel('info')
  b.log.error('boom')
  t.deepEqual(b.msgs(), ['boom'])
  t.is(a.log.level, 'error')
  t.is(a.log.dumpRetro(), 1)
})

test('the seed 003 retrograde example', (t) => {
  const { log, msgs } = setup()
  log.enableRetro(5, 'error')
  log.setLevel('error')
  log.info('1 Info')
  log.warn('2 Warn')
  log.debug('3 Debug')
  log.info('4 Info')
  log.tag('taggy-tag').warn('5 Warn TAGGED')
  log.warn('6 Warn')
  t.deepEqual(msgs(), [])
  log.error('Trigger 1')
  log.warn('7 Warn')
  log.error('Trigger 2')
  log.dumpRetro()
  log.disableRetro()
  log.dumpRetro()
  t.deepEqual(msgs(), ['2 Warn', '3 Debug', '4 Info', '5 Warn TAGGED', '6 Warn', 'Trigger 1', '7 Warn', 'Trigger 2'])
})

test('re-enabling retro keeps what the ring held', (t) => {
  const { log, msgs } = setup({ level: 'error', retro: { capacity: 5 } })
  log.info('a')
  log.info('b')
  log.enableRetro(1)
  t.is(log.dumpRetro(), 1)
  t.deepEqual(msgs(), ['b'])
})

test('a retro capacity below one is an InvalidArgumentError', (t) => {
  const { log } = setup()
  t.throws(() => log.enableRetro(0), { instanceOf: InvalidArgumentError })
})

test('a walrus serves as the actor host logger', (t) => {
  const { log, out } = setup()
  const host: HostLogger = log // compile-time check: walrus satisfies the host's logging port
  host.child('crux:flock', { actor: 'n1/flock' }).log('info', undefined, undefined, 'spawned')
  t.like(out.lines()[0], { component: 'crux:flock', actor: 'n1/flock', msg: 'spawned' })
})
