/**
 * The dean: takes assignments fenced by term, keeps the newest program, and drives its picket one
 * request at a time — adds, then upgrades, then deletes only what it started; a name taken by a
 * service started by hand is left alone; a failed request is tried again after retryMs.
 */
import test from 'ava'
import { deanLogic } from '../../../machines/dean.machine.js'
import type { DeanState, PlacementProgram } from '../../../machines/placement/types.js'
import { persists, sent, stepper } from '../strew-harness.js'

const H = (c: string) => `sha256:${c.repeat(64)}`
const P1: PlacementProgram = { version: 1, text: 'pick(web, 2, ALL)\n', bundles: { web: H('a') } }
const P2: PlacementProgram = { version: 2, text: 'pick(web, 1, ALL)\n', bundles: { web: H('b') } }

function dean(restored: DeanState | null = null) {
  const s = stepper(deanLogic, { node: 'n1', now: 0, picket: 'n1/picket', keyId: 'KEY', proctor: 'n1/proctor', pastiche: 'n1/pastiche', self: 'n1/dean', retryMs: 500, restored })
  let id = 0
  return {
    ...s,
    assign: (services: Record<string, string>, o: { term?: number; program?: PlacementProgram; at?: number } = {}) =>
      s.send({ type: 'dean.assign', id: ++id, from: `reply:${id}`, caller: 'KEY-leader', term: o.term ?? 10, program: o.program ?? P1, services }, o.at),
    ok: (reqId: number, at?: number) => s.send({ type: 'picket.answer', id: reqId, code: 'OK', message: '', service: null }, at),
    refused: (reqId: number, code: string, at?: number) => s.send({ type: 'call.refused', id: reqId, code, message: `${code} by picket` }, at),
  }
}

test('an assignment is answered taken, persisted, and its names started one at a time in name order', (t) => {
  const d = dean()
  const out = d.assign({ 'web-2': H('a'), 'web-1': H('a') })
  t.like(sent(out, 'dean.assigned', 'reply:1')[0], { taken: true, programVersion: 1, program: null })
  t.is(persists(out).length, 1)
  t.deepEqual(sent(out, 'proctor.program', 'n1/proctor').map((e) => e.program.version), [1])
  t.deepEqual(sent(out, 'want', 'n1/pastiche').map((e) => e.hash), [H('a')], 'the program\'s bundles held on every node')
  const [first] = sent(out, 'picket.start', 'n1/picket')
  t.like(first, { name: 'web-1', hash: H('a'), caller: 'KEY', from: 'n1/dean' })
  t.is(sent(out, 'picket.start').length, 1, 'one request at a time')
  t.is(d.state(), 'busy')
  const next = d.ok(first!.id)
  t.like(sent(next, 'picket.start')[0], { name: 'web-2' })
  t.deepEqual(sent(d.ok(sent(next, 'picket.start')[0]!.id), 'picket.start'), [])
  t.is(d.state(), 'idle')
  t.deepEqual(d.context().managed, { 'web-1': H('a'), 'web-2': H('a') })
})

test('a name no longer assigned is deleted (picket.reset), one whose bundle changed is upgraded; adds and upgrades come first', (t) => {
  const d = dean({ term: 5, program: P1, assigned: { 'web-1': H('a'), 'web-2': H('a') }, managed: { 'web-1': H('a'), 'web-2': H('a') } })
  const out = d.assign({ 'web-1': H('b') }, { program: P2 })
  const [up] = sent(out, 'picket.upgrade')
  t.like(up, { name: 'web-1', hash: H('b') })
  const [del] = sent(d.ok(up!.id), 'picket.reset')
  t.like(del, { name: 'web-2' })
  t.is(del!.hash, undefined)
  d.ok(del!.id)
  t.deepEqual(d.context().managed, { 'web-1': H('b') })
})

test('an assignment from an older term is refused; one with an older program is answered with the dean\'s newer program and not taken', (t) => {
  const d = dean({ term: 20, program: P2, assigned: {}, managed: {} })
  t.like(sent(d.assign({}, { term: 19 }), 'call.refused')[0], { code: 'FAILED_PRECONDITION' })
  const out = d.assign({ 'web-1': H('a') }, { term: 21, program: P1 })
  t.like(sent(out, 'dean.assigned')[0], { taken: false, programVersion: 2 })
  t.is(sent(out, 'dean.assigned')[0]!.program.version, 2)
  t.deepEqual(sent(out, 'picket.start'), [], 'nothing started from an older program')
  t.is(d.context().term, 21)
})

test('a restored dean tells its proctor its program and goes on with what it was assigned', (t) => {
  const d = dean({ term: 3, program: P1, assigned: { 'web-1': H('a') }, managed: {} })
  t.deepEqual(sent(d.start, 'proctor.program').map((e) => e.program.version), [1])
  t.like(sent(d.start, 'picket.start')[0], { name: 'web-1' })
})

test('a name picket already runs by hand (ALREADY_EXISTS) is blocked, never deleted, until its assignment changes', (t) => {
  const d = dean()
  const [s1] = sent(d.assign({ 'web-1': H('a') }), 'picket.start')
  const out = d.refused(s1!.id, 'ALREADY_EXISTS')
  t.deepEqual(sent(out, 'picket.start'), [])
  t.deepEqual(sent(out, 'picket.reset'), [])
  t.truthy(d.context().blocked['web-1'])
  t.deepEqual(d.context().managed, {})
  // Unassigned: nothing to delete, it was never ours.
  t.deepEqual(sent(d.assign({}), 'picket.reset'), [])
})

test('a request the road could not deliver, or picket refused for now, is tried again after retryMs, not before', (t) => {
  const d = dean()
  const [s1] = sent(d.assign({ 'web-1': H('a') }, { at: 0 }), 'picket.start')
  const out = d.send({ type: 'call.failed', id: s1!.id, code: 'UNAVAILABLE', message: 'no' }, 10)
  t.true(out.some((e) => e.type === 'timer.set' && e.name === 'retry' && e.ms === 500))
  t.deepEqual(sent(d.assign({ 'web-1': H('a') }, { at: 100 }), 'picket.start'), [], 'not before retryMs')
  t.like(sent(d.send({ type: 'timer.fired', name: 'retry' }, 510), 'picket.start')[0], { name: 'web-1' })
})

test('NOT_FOUND on a delete forgets the name; on an upgrade the name is started afresh', (t) => {
  const d = dean({ term: 1, program: P1, assigned: { 'web-1': H('a'), 'web-2': H('a') }, managed: { 'web-1': H('a'), 'web-2': H('a') } })
  const [up] = sent(d.assign({ 'web-1': H('b') }, { program: P2 }), 'picket.upgrade')
  const [again] = sent(d.refused(up!.id, 'NOT_FOUND'), 'picket.start')
  t.like(again, { name: 'web-1', hash: H('b') })
  const [del] = sent(d.ok(again!.id), 'picket.reset')
  d.refused(del!.id, 'NOT_FOUND')
  t.deepEqual(d.context().managed, { 'web-1': H('b') })
})
