/**
 * The picket machine's requests and its restart: only the node's key may ask; names and hashes are
 * checked; a name is taken once; services persisted before a restart run again (stopped ones stay
 * stopped); news of runs no longer followed is ignored; and the same events give the same effects.
 */
import test from 'ava'
import type { Effect } from '../../../machines/effects.js'
import { viewOf } from '../../../machines/picket.machine.js'
import { A, answerOf, B, bringUp, manifest, picket, registers, runMsgs } from './harness.js'

test('a caller other than the node itself is refused every request, and nothing changes', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  const before = JSON.stringify(m.context())
  for (const [type, extra] of [['start', { name: 'other', hash: A }], ['stop', { name: 'echo' }], ['reset', { name: 'echo' }], ['upgrade', { name: 'echo', hash: B }]] as const) {
    const out = m.send({ type: `picket.${type}`, id: 7, from: 'reply:7', caller: 'KEY-someone-else', ...extra }, 1)
    t.deepEqual(out, [{ type: 'send', to: 'reply:7', cls: 'control', event: { type: 'call.refused', id: 7, code: 'PERMISSION_DENIED', message: 'only the node itself may run services on it' } }], type)
  }
  t.is(JSON.stringify({ ...m.context(), now: 0 }), JSON.stringify({ ...JSON.parse(before), now: 0 }))
})

test('a bad service name or bundle hash is INVALID_ARGUMENT, saying what is expected', (t) => {
  const m = picket()
  for (const name of ['', 'Echo', '1echo', '_a', 'a/b', 'a b', 'a.b', 'a'.repeat(64), '../x']) {
    const a = answerOf(m.start(name, A, 0))
    t.like(a, { type: 'call.refused', code: 'INVALID_ARGUMENT' }, name)
    t.regex(a!.message, /^service name ".*": a lower-case letter, then at most 62 lower-case letters, digits, "_" or "-"$/)
  }
  for (const name of ['a', 'echo_1', 'my-svc', 'a'.repeat(63)]) t.like(answerOf(m.start(name, A, 0)), { code: 'OK' }, name)
  for (const hash of ['', 'sha256:', A.toUpperCase(), A.slice(0, -1), `${A}0`, 'md5:abc']) t.like(answerOf(m.start('h', hash, 0)), { code: 'INVALID_ARGUMENT', message: `bundle hash ${JSON.stringify(hash)}: sha256:<64 lower-case hex> expected` }, hash)
  t.is(m.service('h'), undefined)
})

test('a name already on the node is ALREADY_EXISTS while it runs; a stopped one is started again, from the hash given', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  const a = answerOf(m.start('echo', B, 1))
  t.like(a, { code: 'ALREADY_EXISTS', message: 'service "echo" already exists on this node (preparing): upgrade, stop or reset it' })
  bringUp(m, 1, 2)
  t.like(answerOf(m.start('echo', B, 3)), { code: 'ALREADY_EXISTS' }, 'running')
  m.stop('echo', 4)
  m.exited(1, 5, 0)
  t.is(m.service('echo').state, 'stopped')
  const again = m.start('echo', B, 6)
  t.like(answerOf(again), { type: 'picket.answer', code: 'OK', service: { state: 'preparing', hash: B } })
  t.deepEqual(runMsgs(again), ['prepare 2'])
  t.true(again.some((e) => e.type === 'persist' && e.key === 'svc/echo' && (e.value as { hash: string; stopped: boolean }).hash === B && (e.value as { stopped: boolean }).stopped === false))
})

test('services persisted before a restart: each not stopped is prepared and started again at entry; stopped ones are listed stopped', (t) => {
  const m = picket({}, [
    { name: 'web', hash: B, stopped: false },
    { name: 'batch', hash: A, stopped: true, manifest: manifest({ api: 'Batch1', instance: 'batch_1' }) },
    { name: 'echo', hash: A, stopped: false, manifest: manifest() },
    { name: 'Bad', hash: A, stopped: false },
    { name: 'odd', hash: A, stopped: true, manifest: { api: 'has space', instance: 'x' } as never },
  ])
  t.deepEqual(runMsgs(m.started), ['prepare 1', 'prepare 2'])
  t.like(m.service('echo'), { state: 'preparing', current: { run: 1 }, hash: A })
  t.like(m.service('web'), { state: 'preparing', current: { run: 2 }, hash: B })
  t.like(m.service('batch'), { state: 'stopped', current: null })
  t.like(viewOf(m.service('batch')), { api: 'Batch1', instance: 'batch_1' }, 'a stopped one shows the api and instance it was stopped with')
  t.is(m.service('echo').manifest, null, 'one that runs again reads its bundle\'s manifest, not the persisted one')
  t.like(viewOf(m.service('odd')), { api: '', instance: '' }, 'a persisted manifest that cannot be shown is dropped')
  t.is(m.service('Bad'), undefined, 'a record no request could have made is skipped')
  t.is(m.state(), 'busy')
  t.deepEqual(runMsgs(m.ready(1, A, manifest(), 10)), ['spawn 1'])
  t.like(answerOf(m.start('batch', A, 20)), { code: 'OK', service: { state: 'preparing' } }, 'a stopped one starts again when asked')
})

test('news of runs no longer followed is ignored: answers about stale runs change nothing', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  const reg = bringUp(m, 1, 0)
  m.exited(1, 10)
  m.until(110)
  t.is(m.service('echo').current.run, 2)
  const before = JSON.stringify(m.context())
  const stale: Effect[] = [
    ...m.ready(1, A, manifest(), 120),
    ...m.bundleFailed(1, A, 'x', 121),
    ...m.spawned(1, 99, 122),
    ...m.listening(1, '10.0.0.1:1', 123),
    ...m.alive(1, 124),
    ...m.exited(1, 125),
    ...m.registered(reg, 126),
    ...m.registered(999, 127),
    ...m.refused(999, 'UNAVAILABLE', 128),
    ...m.ready(77, A, manifest(), 129),
    ...m.exited(77, 130),
    ...m.send({ type: 'timer.fired', name: 'start:ghost' }, 131),
    ...m.send({ type: 'timer.fired', name: 'nonsense' }, 132),
  ]
  t.deepEqual(stale, [])
  t.is(JSON.stringify({ ...m.context(), now: 0 }), JSON.stringify({ ...JSON.parse(before), now: 0 }))
  t.deepEqual(runMsgs(m.ready(2, B, manifest(), 133)), [], 'a ready for the wrong hash is not the one asked for')
})

/** One scripted life of two services: start, crash, restart, upgrade, stop, reset. */
function script(): string {
  const m = picket()
  const all: Effect[] = [...m.started]
  const go = (out: Effect[]) => all.push(...out)
  go(m.start('echo', A, 0))
  go(m.start('web', B, 5))
  m.ready(1, A, manifest(), 10)
  go(m.ready(2, B, manifest({ service: 'Web', api: 'Web1', instance: 'web_1' }), 12))
  go(m.listening(1, undefined, 20))
  const [r2] = registers(m.listening(2, undefined, 21))
  go(m.registered(1, 30))
  go(m.registered(r2!.id, 31))
  go(m.keepAlive([1, 2], 900))
  go(m.exited(1, 950))
  go(m.keepAlive([2], 2000))
  go(m.upgrade('web', A, 2100))
  go(m.ready(4, A, manifest({ service: 'Web', api: 'Web1', instance: 'web_2' }), 2200))
  const [r4] = registers(m.listening(4, undefined, 2300))
  go(m.registered(r4!.id, 2400))
  go(m.keepAlive([4], 6000))
  go(m.stop('echo', 6100))
  go(m.exited(3, 6200, null, 'SIGTERM'))
  go(m.until(7000))
  go(m.reset('web', 7100))
  go(m.exited(2, 7150, 0))
  go(m.exited(4, 7200, 0))
  go(m.until(20_000))
  return JSON.stringify(all)
}

test('the same events give byte-identical effects', (t) => {
  const a = script()
  t.is(a, script())
  t.true(a.length > 2000)
  t.regex(a, /"forget"/)
  t.true(a.endsWith('"type":"forget","name":"web"},"cls":"control"},{"type":"persist","key":"svc/web","value":null}]'), 'it ends forgotten, with nothing after')
})
