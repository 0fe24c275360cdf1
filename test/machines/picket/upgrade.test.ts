/**
 * Upgrades on a virtual clock: the new version runs beside the old, takes the registration (same
 * NodeID, its address), the old one walks dead for its grace period then quits; a new version that
 * exits, cannot be prepared, or misses its start deadline is killed and the current one kept.
 */
import test from 'ava'
import { A, answerOf, B, bringUp, deregisters, HB, manifest, persists, picket, records, registers, runMsgs, sent, timers, type Picket } from './harness.js'

/** A service `echo` running bundle A as run 1 since 0; an upgrade to B asked at 1000 (run 2). */
function upgrading(): Picket {
  const m = picket()
  m.start('echo', A, 0)
  bringUp(m, 1, 0)
  m.keepAlive([1], 1000)
  const out = m.upgrade('echo', B, 1000)
  return Object.assign(m, { asked: out })
}

test('upgrade: the new version is prepared, spawned beside the old, takes the registration; the old one quits after its grace, and is killed if it lingers', (t) => {
  const m = upgrading() as Picket & { asked: ReturnType<Picket['send']> }
  t.deepEqual(runMsgs(m.asked), ['prepare 2'])
  t.like(answerOf(m.asked), { code: 'OK', service: { state: 'running', hash: A } })
  t.deepEqual(persists(m.asked), [], 'the new hash is persisted only once the upgrade succeeded')
  const r = m.ready(2, B, manifest({ instance: 'echo_2' }), 1100)
  t.deepEqual(runMsgs(r), ['spawn 2'])
  t.deepEqual(timers(r), [{ type: 'timer.set', name: 'upstart:echo', ms: 2000 }])
  t.deepEqual(sent(m.alive(2, 1150), 'heartbeat.beats', HB), [], 'the next version beats, but holds no registration yet')
  const [reg] = registers(m.listening(2, '127.0.0.1:9002', 1200))
  t.like(reg, { endpoint: { nodeId: '/b/h/n1/Echo/Echo1', address: '127.0.0.1:9002', instance: 'echo_2', netId: '/Echo1/echo_2/net/127.0.0.1:9002' }, heartbeat: { uuid: 'Echo/Echo1', holdMs: 1000 } })
  t.like(m.service('echo'), { hash: A, state: 'running' }, 'the old version serves meanwhile')

  const p = m.registered(reg!.id, 1300)
  t.like(m.service('echo'), { hash: B, state: 'running', current: { run: 2, address: '127.0.0.1:9002', registered: true }, old: { run: 1, registered: false }, next: null })
  t.deepEqual(persists(p), [{ type: 'persist', key: 'svc/echo', value: { name: 'echo', hash: B, stopped: false, manifest: manifest({ instance: 'echo_2' }) } }])
  t.deepEqual(records(p), [{ type: 'ServiceUpgrade', name: 'echo', from: A, to: B, ok: true, run: 2 }])
  t.deepEqual(deregisters(p), [], 'the registration moved: nothing removed')
  t.true(timers(p).some((e) => e.type === 'timer.set' && e.name === 'grace:echo' && e.ms === 3000))
  t.is(m.state(), 'busy', 'walking dead')
  t.deepEqual(sent(m.alive(1, 1400), 'heartbeat.beats'), [], "the walking dead's beats keep nothing")
  t.is(sent(m.alive(2, 1500), 'heartbeat.beats', HB).length, 1, "the new version's do")

  t.deepEqual(runMsgs(m.keepAlive([1, 2], 4299)), [])
  t.deepEqual(runMsgs(m.keepAlive([1, 2], 4300)), ['quit 1'], 'after graceMs')
  t.deepEqual(runMsgs(m.keepAlive([1, 2], 4800)), ['kill 1'], 'after stopMs')
  const ex = m.exited(1, 4810, null, 'SIGKILL')
  t.deepEqual(deregisters(ex), [], "the old run's exit does not remove the new one's registration")
  t.like(m.service('echo'), { old: null, state: 'running', hash: B, restarts: 0, failures: 0 })
  t.is(m.state(), 'idle')
})

const rolledBack = (t: any, m: Picket, out: ReturnType<Picket['send']>, why: string) => {
  t.like(m.service('echo'), { hash: A, state: 'running', next: null, current: { run: 1, registered: true }, reason: `upgrade to ${B} rolled back: ${why}` })
  t.deepEqual(records(out), [{ type: 'ServiceUpgrade', name: 'echo', from: A, to: B, ok: false, reason: `upgrade to ${B} rolled back: ${why}` }])
  t.deepEqual(persists(out), [])
  t.deepEqual(deregisters(out), [])
  t.is(sent(m.alive(1, m.now() + 1), 'heartbeat.beats', HB).length, 1, 'the current version still beats into its registration')
  t.is(m.state(), 'idle')
}

test('failed upgrade: the new version exits → rolled back, the current one keeps running', (t) => {
  const m = upgrading()
  m.ready(2, B, manifest(), 1100)
  const out = m.exited(2, 1200, 3)
  t.deepEqual(runMsgs(out), [], 'it is gone already: no kill')
  rolledBack(t, m, out, 'the new version exited with code 3')
  t.deepEqual(m.keepAlive([1], 10_000).filter((e) => e.type === 'send' && e.to.startsWith('port:')), [], 'no restart of the new version')
})

test('failed upgrade: the new bundle cannot be had → rolled back', (t) => {
  const m = upgrading()
  const out = m.bundleFailed(2, B, 'no such blob', 1100)
  t.deepEqual(runMsgs(out), [])
  rolledBack(t, m, out, 'bundle: no such blob')
})

test('failed upgrade: the new version misses its start deadline → killed, rolled back', (t) => {
  const m = upgrading()
  m.ready(2, B, manifest({ startMs: 500 }), 1100)
  m.listening(2, '127.0.0.1:9002', 1200)
  t.deepEqual(runMsgs(m.until(1599)), [])
  const out = m.until(1600)
  t.deepEqual(runMsgs(out), ['kill 2'])
  rolledBack(t, m, out, 'not registered within 500 ms of its start')
  t.deepEqual(runMsgs(m.exited(2, 1700, null, 'SIGKILL')), [], "the killed version's exit is not news")
})

test("failed upgrade while the new version's registration is on its way: the current address is registered again after it, and the late answer promotes nothing", (t) => {
  const m = upgrading()
  m.ready(2, B, manifest(), 1100)
  const [late] = registers(m.listening(2, '127.0.0.1:9002', 1200))
  const out = m.exited(2, 1250, 1)
  const [again] = registers(out)
  t.like(again, { endpoint: { address: '127.0.0.1:9001' } })
  m.registered(late!.id, 1260)
  t.like(m.service('echo'), { hash: A, current: { run: 1 }, next: null })
  m.registered(again!.id, 1270)
  t.like(m.service('echo'), { current: { run: 1, registered: true } })
})

test('an upgrade to another API is refused by rollback: an upgrade moves one registration', (t) => {
  const m = upgrading()
  const out = m.ready(2, B, manifest({ api: 'Echo2' }), 1100)
  t.deepEqual(runMsgs(out), [])
  rolledBack(t, m, out, 'it serves Echo/Echo2, not Echo/Echo1')
})

test('upgrade of a crash-looping service: the new version replaces it without a walking dead', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  bringUp(m, 1, 0)
  m.exited(1, 10)
  t.is(m.service('echo').state, 'backoff')
  m.upgrade('echo', B, 20)
  m.ready(2, B, manifest(), 30)
  const [reg] = registers(m.listening(2, undefined, 40))
  const p = m.registered(reg!.id, 50)
  t.like(m.service('echo'), { state: 'running', hash: B, old: null, failures: 0, current: { run: 2 } })
  t.true(timers(p).some((e) => e.type === 'timer.cancel' && e.name === 'backoff:echo'))
  t.deepEqual(runMsgs(m.keepAlive([2], 10_000)), [], 'the backoff does not start the old version again')
})

test('upgrade requests that cannot go on', (t) => {
  const m = upgrading()
  t.like(answerOf(m.upgrade('echo', B, 1001)), { code: 'FAILED_PRECONDITION', message: `service "echo" is already being upgraded to ${B}` })
  t.like(answerOf(m.upgrade('echo', 'sha256:xyz', 1002)), { code: 'INVALID_ARGUMENT' })
  t.like(answerOf(m.upgrade('ghost', B, 1003)), { code: 'NOT_FOUND' })
  const s = picket()
  s.start('echo', A, 0)
  t.like(answerOf(s.upgrade('echo', B, 1)), { code: 'FAILED_PRECONDITION', message: 'service "echo" is preparing: only a started service can be upgraded' })
})

test('stop during an upgrade quits both versions and ends stopped once both exited', (t) => {
  const m = upgrading()
  m.ready(2, B, manifest(), 1100)
  const out = m.stop('echo', 1200)
  t.deepEqual(runMsgs(out), ['quit 1', 'quit 2'])
  m.exited(1, 1300, 0)
  t.is(m.service('echo').state, 'stopping')
  m.exited(2, 1400, 0)
  t.like(m.service('echo'), { state: 'stopped', hash: A, current: null, next: null })
})

test("an upgrade's start deadline already on its way when a stop came does not drop the next run: the stop still waits for its exit", (t) => {
  const m = upgrading()
  m.ready(2, B, manifest({ startMs: 300 }), 1100)
  m.stop('echo', 1200)
  m.exited(1, 1300, 0)
  t.deepEqual(runMsgs(m.send({ type: 'timer.fired', name: 'upstart:echo' }, 1450)), [])
  t.like(m.service('echo'), { state: 'stopping', next: { run: 2 } })
  m.exited(2, 1500, 0)
  t.is(m.service('echo').state, 'stopped')
})

test('a run replaced while it was being killed as hung is killed again after the grace period if it has not exited', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  bringUp(m, 1, 0)
  m.upgrade('echo', B, 100)
  m.ready(2, B, manifest(), 200)
  t.deepEqual(runMsgs(m.keepAlive([2], 1000)), ['kill 1'], 'run 1 never beat: killed as hung')
  const [reg] = registers(m.listening(2, undefined, 1010))
  m.registered(reg!.id, 1020)
  t.like(m.service('echo'), { current: { run: 2 }, old: { run: 1, quitting: true } })
  t.deepEqual(runMsgs(m.keepAlive([2], 4020)), [], 'no quit for a run already killed')
  t.deepEqual(runMsgs(m.keepAlive([2], 4520)), ['kill 1'], 'killed again after stopMs')
})
