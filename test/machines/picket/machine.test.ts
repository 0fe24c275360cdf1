/**
 * The picket machine on a virtual clock: a service is prepared, spawned, registered and kept by its
 * beats; a crash restarts it after a doubling backoff that resets once it stays up; a hung or late one
 * is killed and restarted within its ttl plus one heartbeat; stop and reset do what they say.
 */
import test from 'ava'
import { viewOf } from '../../../machines/picket.machine.js'
import { A, answerOf, bringUp, CONFIG, deregisters, HB, KEY, manifest, persists, picket, records, registers, REEVE, RUN, runMsgs, SELF, sent, timers } from './harness.js'

const ENDPOINT = { nodeId: '/b/h/n1/Echo/Echo1', netId: '/Echo1/echo_1/net/127.0.0.1:9001', horde: 'h', api: 'Echo1', instance: 'echo_1', address: '127.0.0.1:9001', state: 'up', keyId: '' }

test('start → prepare → spawn → listening → register → running, and its beats go to the heartbeater one call at a time', (t) => {
  const m = picket()
  const out = m.start('echo', A, 10)
  t.deepEqual(runMsgs(out), ['prepare 1'])
  t.deepEqual(persists(out), [{ type: 'persist', key: 'svc/echo', value: { name: 'echo', hash: A, stopped: false, manifest: null } }])
  const answer = out.find((e) => e.type === 'send' && e.to === 'reply:101')
  t.like(answer, { type: 'send', cls: 'control', event: { type: 'picket.answer', id: 101, code: 'OK', message: '', service: { name: 'echo', hash: A, state: 'preparing', up: false, restarts: 0, api: '', pid: null } } })
  t.is(m.state(), 'busy')

  const r = m.ready(1, A, manifest(), 20)
  t.deepEqual(sent(r, 'spawn', RUN), [{ type: 'spawn', run: 1, name: 'echo', hash: A, manifest: manifest() }])
  t.deepEqual(timers(r), [{ type: 'timer.set', name: 'start:echo', ms: 2000 }])
  t.is(m.service('echo').state, 'starting')
  m.spawned(1, 4242, 30)

  const l = m.listening(1, '127.0.0.1:9001', 40)
  t.deepEqual(l, [{ type: 'send', to: REEVE, cls: 'control', event: { type: 'reeve.register', endpoint: ENDPOINT, heartbeat: { uuid: 'Echo/Echo1', holdMs: 1000 }, id: 1, from: SELF, caller: KEY } }])
  t.deepEqual(m.listening(1, '127.0.0.1:9001', 41), [], 'the same address twice registers once')

  const g = m.registered(1, 50)
  t.deepEqual(timers(g), [
    { type: 'timer.cancel', name: 'start:echo' },
    { type: 'timer.set', name: 'hb:echo', ms: 1000 },
    { type: 'timer.set', name: 'reset:echo', ms: 5000 },
  ])
  t.like(m.service('echo'), { state: 'running', failures: 0 })
  t.is(m.state(), 'idle')

  const b = m.alive(1, 60)
  t.deepEqual(b, [{ type: 'send', to: HB, cls: 'control', event: { type: 'heartbeat.beats', beats: [{ uuid: 'Echo/Echo1', state: 'up', netId: ENDPOINT.netId, atMs: 60, expiresMs: 1060, various: '' }], id: 2, from: SELF, caller: KEY } }])
  t.deepEqual(m.alive(1, 61), [], 'a beat while one is on its way is not sent')
  m.hbOk(2, 62)
  t.is(sent(m.alive(1, 70), 'heartbeat.beats', HB).length, 1, 'once answered, the next beat goes')
})

test('viewOf: what ls shows of a service, and what an answer carries', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  t.deepEqual(viewOf(m.service('echo')), { name: 'echo', hash: A, api: '', instance: '', state: 'preparing', pid: null, restarts: 0, up: false, address: null, reason: '' })
  bringUp(m, 1, 10)
  const view = { name: 'echo', hash: A, api: 'Echo1', instance: 'echo_1', state: 'running', pid: 4001, restarts: 0, up: true, address: '127.0.0.1:9001', reason: '' }
  t.deepEqual(viewOf(m.service('echo')), view)
  t.deepEqual(answerOf(m.stop('echo', 20))?.service, { ...view, state: 'stopping', up: false })
  t.like(answerOf(m.stop('nope', 30)), { type: 'call.refused', code: 'NOT_FOUND', message: 'no service "nope" on this node' })
})

test('a crash restarts after a backoff that doubles per failure in a row, up to backoffMaxMs; each restart is a MonInfo record', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  bringUp(m, 1, 0)
  const ex = m.exited(1, 100)
  t.deepEqual(deregisters(ex), [{ type: 'reeve.deregister', nodeId: '/b/h/n1/Echo/Echo1', id: 2, from: SELF, caller: KEY }], 'a dead address leaves the catalog at once')
  t.like(m.service('echo'), { state: 'backoff', failures: 1, reason: 'exited with code 1', current: null })
  const waits: number[] = []
  let run = 1
  for (let i = 0; i < 5; i++) {
    const [b] = m.pending().filter((p) => p.startsWith('backoff:'))
    const due = Number(b!.split('@')[1])
    waits.push(due - m.now())
    const out = m.until(due)
    run++
    t.deepEqual(runMsgs(out), [`spawn ${run}`])
    t.deepEqual(records(out), [{ type: 'ServiceRestart', name: 'echo', run, restarts: i + 1, reason: i === 0 ? 'exited with code 1' : 'killed by SIGSEGV' }])
    t.like(m.service('echo'), { state: 'starting', restarts: i + 1 })
    t.deepEqual(deregisters(m.exited(run, due + 5, null, 'SIGSEGV')), [], 'never registered: nothing to remove')
  }
  t.deepEqual(waits, [100, 200, 400, 800, 800])
  t.is(CONFIG.backoffMaxMs, 800)
})

test('a run that stays registered for backoffResetMs resets the backoff; one that crashes sooner does not', (t) => {
  const crashAfter = (upMs: number) => {
    const m = picket()
    m.start('echo', A, 0)
    bringUp(m, 1, 0)
    m.exited(1, 10)
    m.until(110)
    m.exited(2, 120)
    m.until(320)
    bringUp(m, 3, 330)
    t.is(m.service('echo').failures, 2)
    for (let at = 330; at < 330 + upMs; at += 400) {
      m.until(at)
      m.alive(3, at)
    }
    m.until(330 + upMs)
    t.is(m.service('echo').current.quitting, false, 'kept beating: never killed')
    const out = m.exited(3, 330 + upMs)
    return timers(out).find((e) => e.type === 'timer.set' && e.name === 'backoff:echo')
  }
  t.deepEqual(crashAfter(4999), { type: 'timer.set', name: 'backoff:echo', ms: 400 }, 'a third failure in a row')
  t.deepEqual(crashAfter(5000), { type: 'timer.set', name: 'backoff:echo', ms: 100 }, 'up for backoffResetMs: a first failure again')
})

test('a hung service (no alive) is killed within its ttl plus one heartbeat, and restarted', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  bringUp(m, 1, 1000)
  m.alive(1, 1300)
  m.alive(1, 1600)
  const lastBeat = 1600
  t.deepEqual(runMsgs(m.until(2599)), [], 'beating: not killed')
  const killedAt = 2600
  t.deepEqual(runMsgs(m.until(killedAt)), ['kill 1'])
  t.true(killedAt - lastBeat <= manifest().ttlMs + CONFIG.hbMs)
  t.is(m.service('echo').reason, 'no heartbeat for 1000 ms (ttl 1000 ms)')
  t.deepEqual(runMsgs(m.until(2609)), [], 'killed once until its exit or another ttl')
  const ex = m.exited(1, 2610, null, 'SIGKILL')
  t.like(m.service('echo'), { state: 'backoff', reason: 'no heartbeat for 1000 ms (ttl 1000 ms); killed by SIGKILL' })
  t.is(deregisters(ex).length, 1)
  const back = m.until(2710)
  t.deepEqual(runMsgs(back), ['spawn 2'])
  t.true(2710 - lastBeat <= manifest().ttlMs + CONFIG.hbMs, 'restarted within ttl + 1 HB of its last beat')
})

test('a killed run that does not exit is killed again after its ttl, not followed by a second run', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  bringUp(m, 1, 0)
  t.deepEqual(runMsgs(m.until(1000)), ['kill 1'])
  t.deepEqual(runMsgs(m.until(1999)), [])
  t.deepEqual(runMsgs(m.until(2000)), ['kill 1'])
  t.is(m.service('echo').state, 'running')
})

test('a run that does not register within startMs is killed and restarted after the backoff', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  m.ready(1, A, manifest(), 10)
  m.spawned(1, 7, 20)
  m.alive(1, 1500)
  t.deepEqual(runMsgs(m.until(2009)), [])
  t.deepEqual(runMsgs(m.until(2010)), ['kill 1'])
  m.exited(1, 2020, null, 'SIGKILL')
  t.like(m.service('echo'), { state: 'backoff', failures: 1, reason: 'not registered within 2000 ms of its start; killed by SIGKILL' })
  t.deepEqual(runMsgs(m.until(2120)), ['spawn 2'])
})

test('stop: quit, killed after stopMs when it does not exit, then deregistered and stopped; nothing runs again', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  bringUp(m, 1, 0)
  const out = m.stop('echo', 100)
  t.deepEqual(runMsgs(out), ['quit 1'])
  t.deepEqual(persists(out), [{ type: 'persist', key: 'svc/echo', value: { name: 'echo', hash: A, stopped: true, manifest: manifest() } }], 'kept stopped across a restart from now on, with its manifest to show')
  t.like(answerOf(out), { code: 'OK', service: { state: 'stopping' } })
  t.deepEqual(m.pending(), ['stop:echo@600'], 'no hung check, backoff or reset while stopping')
  t.deepEqual(runMsgs(m.until(599)), [])
  t.deepEqual(runMsgs(m.until(600)), ['kill 1'])
  const ex = m.exited(1, 610, null, 'SIGKILL')
  t.deepEqual(deregisters(ex).map((e) => e.nodeId), ['/b/h/n1/Echo/Echo1'])
  t.like(m.service('echo'), { state: 'stopped', current: null })
  t.is(m.state(), 'idle')
  t.deepEqual(m.until(1_000_000), [])
  const again = m.stop('echo', 1_000_001)
  t.deepEqual(again.filter((e) => !(e.type === 'send' && e.to.startsWith('reply:'))), [], 'stopping a stopped service changes nothing')
  t.like(answerOf(again), { code: 'OK', service: { state: 'stopped' } })
})

test('stop during a backoff stops at once; the backoff never spawns', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  bringUp(m, 1, 0)
  m.exited(1, 10)
  const out = m.stop('echo', 20)
  t.deepEqual(runMsgs(out), [])
  t.is(m.service('echo').state, 'stopped')
  t.deepEqual(runMsgs(m.send({ type: 'timer.fired', name: 'backoff:echo' }, 110)), [], 'a backoff timer already on its way does nothing')
  t.deepEqual(m.until(100_000), [])
})

test('a run that exits in time after quit is not killed', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  bringUp(m, 1, 0)
  m.stop('echo', 100)
  const ex = m.exited(1, 200, 0)
  t.true(timers(ex).some((e) => e.type === 'timer.cancel' && e.name === 'stop:echo'))
  t.deepEqual(m.until(10_000), [])
})

test('reset: stopped, then deregistered, its directory forgotten, the service deleted and its record removed; the name is free again', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  bringUp(m, 1, 0)
  const out = m.reset('echo', 100)
  t.deepEqual(runMsgs(out), ['quit 1'])
  t.deepEqual(persists(out), [{ type: 'persist', key: 'svc/echo', value: null }])
  t.like(answerOf(out), { code: 'OK', service: { state: 'stopping' } })
  const ex = m.exited(1, 150, 0)
  t.is(deregisters(ex).length, 1)
  t.deepEqual(runMsgs(ex), ['forget echo'])
  t.true(sent(ex, 'forget', RUN).length === 1 && ex.findIndex((e) => e.type === 'send' && e.event.type === 'reeve.deregister') < ex.findIndex((e) => e.type === 'send' && e.event.type === 'forget'))
  t.is(m.service('echo'), undefined)
  t.deepEqual(m.until(100_000), [])
  t.like(answerOf(m.start('echo', A, 100_001)), { code: 'OK' })
})

test('reset of a stopped service forgets it at once; a stop already under way becomes a reset', (t) => {
  const m = picket()
  m.start('a', A, 0)
  m.bundleFailed(1, A, 'no such blob', 5)
  m.stop('a', 6)
  const out = m.reset('a', 10)
  t.deepEqual(runMsgs(out), ['forget a'])
  t.like(answerOf(out), { code: 'OK', service: null })
  t.is(m.service('a'), undefined)

  m.start('b', A, 20)
  bringUp(m, 2, 20)
  m.stop('b', 30)
  t.deepEqual(runMsgs(m.reset('b', 40)), [], 'the quit is already on its way')
  t.deepEqual(runMsgs(m.exited(2, 50)), ['forget b'])
  t.is(m.service('b'), undefined)
})

test('a bundle that cannot run fails the service, with its reason and a MonInfo record, and is not retried', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  const out = m.bundleFailed(1, A, 'crux-service.json: ttlMs must be a number', 10)
  t.like(m.service('echo'), { state: 'failed', current: null, reason: `bundle ${A}: crux-service.json: ttlMs must be a number` })
  t.like(records(out)[0], { type: 'ServiceFailed', name: 'echo', hash: A })
  t.deepEqual(runMsgs(out), [])
  t.deepEqual(m.until(100_000), [])
  t.like(answerOf(m.stop('echo', 100_001)), { code: 'OK', service: { state: 'failed' } }, 'stop of a failed service changes nothing')
  t.is(m.service('echo').state, 'failed')
})

test('two services that would register the same NodeID: the second fails', (t) => {
  const m = picket()
  m.start('one', A, 0)
  m.start('two', A, 0)
  bringUp(m, 1, 10)
  m.ready(2, A, manifest({ instance: 'echo_2' }), 20)
  t.like(m.service('two'), { state: 'failed', reason: `bundle ${A}: Echo/Echo1 is already served on this node by service "one"` })
})

test('a refused registration is tried again after one heartbeat of the flock', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  m.ready(1, A, manifest(), 0)
  const [r] = registers(m.listening(1, undefined, 10))
  const out = m.refused(r!.id, 'UNAVAILABLE', 20)
  t.deepEqual(timers(out), [{ type: 'timer.set', name: 'reg:echo', ms: CONFIG.hbMs }])
  t.regex(m.service('echo').reason, /UNAVAILABLE/)
  const again = registers(m.until(220))
  t.is(again.length, 1)
  m.registered(again[0]!.id, 230)
  t.is(m.service('echo').state, 'running')
})

test('a run being killed is not registered again when its refused registration comes round', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  m.ready(1, A, manifest({ startMs: 300 }), 0)
  const [r] = registers(m.listening(1, undefined, 10))
  m.until(300)
  t.true(m.service('echo').current.quitting, 'late: killed')
  m.refused(r!.id, 'UNAVAILABLE', 310)
  t.deepEqual(registers(m.until(510)), [])
})

test('a run that could not be spawned at all counts as a failure, and says why', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  m.ready(1, A, manifest(), 0)
  m.send({ type: 'run.exited', run: 1, code: null, signal: null, error: 'ENOENT: no such file main.js' }, 5)
  t.like(m.service('echo'), { state: 'backoff', failures: 1, reason: 'could not be spawned: ENOENT: no such file main.js' })
})

test('a registration taken after the run was killed as late does not make it running; its exit removes it', (t) => {
  const m = picket()
  m.start('echo', A, 0)
  m.ready(1, A, manifest({ startMs: 300 }), 0)
  const [r] = registers(m.listening(1, undefined, 10))
  t.deepEqual(runMsgs(m.until(300)), ['kill 1'])
  t.deepEqual(timers(m.registered(r!.id, 310)), [])
  t.is(m.service('echo').state, 'starting')
  t.is(deregisters(m.exited(1, 320, null, 'SIGKILL')).length, 1)
})
