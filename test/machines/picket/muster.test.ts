/**
 * Muster: the picket machine publishes what its node runs as the tags of its `Picket1` endpoint,
 * registering again on every change, one registration at a time, and retrying a refused one.
 */
import test from 'ava'
import { MAX_MUSTERED, musterTags, parseMusterTags, PARTIAL_MUSTER, PICKET_API } from '../../../machines/picket/muster.js'
import { viewOf } from '../../../machines/picket.machine.js'
import type { PicketContext } from '../../../machines/picket/types.js'
import { STREW_LIMITS } from '../../../actors/strew/fields.js'
import { A, B, bringUp, manifest, picket, registers } from './harness.js'

const ADDR = '127.0.0.1:50059'
const musters = (out: ReturnType<ReturnType<typeof picket>['send']>) => registers(out).filter((r) => r.endpoint.api === PICKET_API)
const runRegs = (out: ReturnType<ReturnType<typeof picket>['send']>) => registers(out).filter((r) => r.endpoint.api !== PICKET_API)

test('a node with an address registers its muster at start, empty, at its gRPC address under /bloc/horde/node/Picket/Picket1', (t) => {
  const m = picket({}, [], ADDR)
  const [reg] = musters(m.started)
  t.truthy(reg)
  t.like(reg!.endpoint, { nodeId: '/b/h/n1/Picket/Picket1', api: 'Picket1', instance: 'n1', address: ADDR, horde: 'h', state: 'up' })
  t.deepEqual(reg!.endpoint.tags, [])
  t.is(reg!.caller, 'KEY-node')
  t.is(reg!.from, 'n1/picket')
})

test('without an address the machine registers no muster', (t) => {
  const m = picket()
  t.deepEqual(musters(m.started), [])
  t.deepEqual(musters(m.start('echo', A, 10)), [])
})

test('every change is registered again, one registration at a time: a change while one is on its way waits for its answer', (t) => {
  const m = picket({}, [], ADDR)
  const [first] = musters(m.started)
  // A start while the first registration is on its way: nothing sent until the reeve answers.
  t.deepEqual(musters(m.start('echo', A, 10)), [])
  const [second] = musters(m.registered(first!.id, 20))
  t.truthy(second)
  t.deepEqual(parseMusterTags(second!.endpoint.tags).services.map((s) => [s.name, s.state, s.hash]), [['echo', 'preparing', A]])
  // Running: the answer to the second brings the third, with api, instance, pid and up.
  m.registered(second!.id, 30)
  const out = m.ready(1, A, manifest(), 40)
  const [third] = musters(out)
  t.truthy(third)
  m.registered(third!.id, 40)
  const [fourth] = musters(m.spawned(1, 4321, 50))
  t.like(parseMusterTags(fourth!.endpoint.tags).services[0], { state: 'starting', pid: 4321, since: 40, api: 'Echo1', instance: 'echo_1' })
  m.registered(fourth!.id, 50)
  // A beat changes nothing a muster says: nothing is sent.
  t.deepEqual(musters(m.alive(1, 60)), [])
})

test('the muster of a running service names its state, restarts, up, pid, since, hash, api and instance', (t) => {
  const m = picket({}, [], ADDR)
  m.registered(musters(m.started)[0]!.id, 0)
  m.start('echo', A, 10)
  bringUp(m, 1, 100, A, manifest({ api: 'Echo1', instance: 'echo_7' }))
  const ctx = m.context() as PicketContext
  const tags = musterTags(ctx, viewOf)
  t.deepEqual(tags, [`svc echo running 0 up 4001 100 ${A}`, 'api echo Echo1 echo_7'])
  t.deepEqual(parseMusterTags(tags), { services: [{ name: 'echo', hash: A, api: 'Echo1', instance: 'echo_7', state: 'running', pid: 4001, restarts: 0, up: true, since: 100 }], partial: false, labels: [] })
})

test('a crash shows in the next muster as backoff with no pid, then running again with one restart', (t) => {
  const m = picket({}, [], ADDR)
  const regs: number[] = []
  const take = (out: ReturnType<typeof m.send>) => {
    for (const r of musters(out)) regs.push(r.id)
    return out
  }
  take(m.started)
  const answerAll = (at: number) => {
    while (regs.length > 0) take(m.registered(regs.shift()!, at))
  }
  answerAll(0)
  take(m.start('echo', A, 10))
  answerAll(10)
  take(m.ready(1, A, manifest(), 20))
  answerAll(20)
  take(m.spawned(1, 555, 20))
  const [reg] = runRegs(take(m.listening(1, undefined, 20)))
  take(m.registered(reg!.id, 30))
  answerAll(30)
  const [after] = musters(take(m.exited(1, 40)))
  t.like(parseMusterTags(after!.endpoint.tags).services[0], { state: 'backoff', up: false, pid: null, restarts: 0 })
  answerAll(40)
  // The backoff over, run 2 comes up: one restart.
  take(m.until(1000))
  answerAll(1000)
  take(m.spawned(2, 556, 1000))
  answerAll(1000)
  const [reg2] = runRegs(take(m.listening(2, undefined, 1000)))
  const [last] = musters(take(m.registered(reg2!.id, 1010)))
  t.like(parseMusterTags(last!.endpoint.tags).services[0], { state: 'running', up: true, pid: 556, restarts: 1 })
})

test('a refused muster registration is tried again after 4 heartbeats, not before', (t) => {
  const m = picket({ hbMs: 200 }, [], ADDR)
  const [first] = musters(m.started)
  const out = m.refused(first!.id, 'UNAVAILABLE', 10)
  t.deepEqual(musters(out), [])
  t.true(out.some((e) => e.type === 'timer.set' && e.name === 'muster' && e.ms === 800))
  // A change before then is not sent.
  t.deepEqual(musters(m.start('echo', A, 300)), [])
  const again = musters(m.fire('muster', 810))
  t.is(again.length, 1)
  t.deepEqual(parseMusterTags(again[0]!.endpoint.tags).services.map((s) => s.name), ['echo'])
})

test('a refused run registration is not taken for the muster\'s, nor the muster\'s answer for a run\'s', (t) => {
  const m = picket({}, [], ADDR)
  const [first] = musters(m.started)
  m.start('echo', A, 10)
  m.ready(1, A, manifest(), 20)
  m.spawned(1, 1, 20)
  const [reg] = runRegs(m.listening(1, undefined, 20))
  // The muster's answer leaves the run starting, not registered.
  m.registered(first!.id, 30)
  t.is(m.service('echo')!.state, 'starting')
  m.registered(reg!.id, 40)
  t.is(m.service('echo')!.state, 'running')
})

test(`more than ${MAX_MUSTERED} services: the first ${MAX_MUSTERED} by name are described and the tag "${PARTIAL_MUSTER}" says there are more`, (t) => {
  const m = picket({}, [], ADDR)
  for (let i = 0; i < MAX_MUSTERED + 2; i++) m.start(`s${String(i).padStart(2, '0')}`, A, 10)
  const tags = musterTags(m.context() as PicketContext, viewOf)
  t.true(tags.length <= STREW_LIMITS.tags)
  const parsed = parseMusterTags(tags)
  t.true(parsed.partial)
  t.is(parsed.services.length, MAX_MUSTERED)
  t.is(parsed.services.at(-1)!.name, `s${MAX_MUSTERED - 1}`)
})

test('the longest names, api, instance and counts still fit the catalog\'s tag bound', (t) => {
  const m = picket({}, [], ADDR)
  const name = `a${'b'.repeat(62)}`
  m.start(name, B, 10)
  bringUp(m, 1, 1_799_999_999_999, B, manifest({ api: `E${'x'.repeat(63)}`, instance: 'i'.repeat(64) }))
  const tags = musterTags(m.context() as PicketContext, viewOf)
  t.is(tags.length, 2)
  for (const tag of tags) t.true(tag.length <= STREW_LIMITS.tag, `${tag.length} characters`)
  t.is(parseMusterTags(tags).services[0]!.instance, 'i'.repeat(64))
})

test('malformed muster tags from the catalog are skipped, never thrown on', (t) => {
  const bad = ['svc', 'svc x', `svc x weird 0 up - - ${A}`, `svc x running -1 up - - ${A}`, `svc x running 0 maybe - - ${A}`, `svc x running 0 up 1e3 - ${A}`, 'api y', '', 'partia', `svc ok stopped 3 down - - ${A}`]
  t.deepEqual(parseMusterTags(bad), { services: [{ name: 'ok', hash: A, api: '', instance: '', state: 'stopped', pid: null, restarts: 3, up: false, since: null }], partial: false, labels: [] })
})

test('a node\'s labels lead its muster, one tag each, and take room from the services it describes', (t) => {
  const m = picket({}, [], ADDR)
  for (let i = 0; i < MAX_MUSTERED; i++) m.start(`s${String(i).padStart(2, '0')}`, A, 10)
  const ctx = { ...(m.context() as PicketContext) }
  ctx.input = { ...ctx.input, labels: ['ssd', 'zone=a', 'gpu'] }
  const tags = musterTags(ctx, viewOf)
  t.deepEqual(tags.slice(0, 3), ['label ssd', 'label zone=a', 'label gpu'])
  t.true(tags.length <= 64, `${tags.length} tags`)
  const parsed = parseMusterTags(tags)
  t.deepEqual(parsed.labels, ['ssd', 'zone=a', 'gpu'])
  t.true(parsed.partial)
  t.is(parsed.services.length, MAX_MUSTERED - 2)
  t.deepEqual(parseMusterTags(['label', 'label a b', 'label -x', 'label ok']).labels, ['ok'])
})
