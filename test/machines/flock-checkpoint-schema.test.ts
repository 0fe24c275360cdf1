/**
 * The flock checkpoint's schema (issue 13): what the machine persists passes, and so does anything a
 * peer could have put there through the wire codec; a checkpoint of the right JSON shape but wrong
 * types, strings longer than the wire carries, or another node's id, is named, one line.
 */
import test from 'ava'
import { checkpointProblem, nodeIdProblem } from '../../machines/flock/checkpoint-schema.js'
import { checkpoint } from '../../machines/flock/context.js'
import type { Effect } from '../../machines/effects.js'
import { memberCtx } from '../fixtures/flock-fixtures.js'

const peer = (id: string) => ({ id, addr: '127.0.0.1:23123', horde: '' })
const good = { id: 'n0123456789abcdef', flock: '_4fGh_Z0a', leader: peer('nL'), history: [peer('a'), peer('b')], known: [peer('c')] }

test('what the machine persists, and a checkpoint written before known peers, pass', (t) => {
  const ctx = memberCtx({ id: 'L', addr: '10.0.0.1:7000', horde: 'h' })
  ctx.me.addr = '10.0.0.2:7000'
  const out: Effect[] = []
  checkpoint(ctx, out)
  const p = out.find((e) => e.type === 'persist')
  t.is(p?.type === 'persist' ? checkpointProblem(JSON.parse(JSON.stringify(p.value)), ctx.me.id) : 'none', null)
  t.is(checkpointProblem(good, good.id), null)
  const { known: _known, ...old } = good
  t.is(checkpointProblem(old), null)
  t.is(checkpointProblem({ ...good, leader: null, flock: '' }), null)
  t.is(checkpointProblem({ ...good, leader: { id: 'x', addr: '[::1]:7000', horde: 'web' } }), null)
  // A peer may name itself anything within the wire's bounds: its entries must not make this node's checkpoint unloadable.
  t.is(checkpointProblem({ ...good, flock: 'a/b c', history: [{ id: 'odd id ü', addr: 'not an address', horde: '' }, { id: '', addr: '', horde: 'x'.repeat(64) }] }), null)
})

const bad: Array<[string, unknown, RegExp]> = [
  ['not an object', [1, 2], /^a checkpoint must be an object/],
  ['null', null, /^a checkpoint must be an object .*got null/],
  ['id a number', { ...good, id: 7 }, /^id must be a string of 1–64 bytes, got 7$/],
  ['id empty', { ...good, id: '' }, /^id must be a string of 1–64 bytes, got ""$/],
  ['flock a number', { ...good, flock: 3 }, /^flock must be a string of 0–64 bytes, got 3$/],
  ['flock over 64 bytes', { ...good, flock: 'ü'.repeat(33) }, /^flock must be a string of 0–64 bytes/],
  ['leader a string', { ...good, leader: 'nL' }, /^leader must be an object \{id, addr, horde\}, got "nL" \(or null\)$/],
  ['leader without an address', { ...good, leader: { id: 'x', horde: '' } }, /^leader\.addr must be a string of 0–96 bytes, got undefined \(or null\)$/],
  ['leader with a number address', { ...good, leader: { id: 'x', addr: 7000, horde: '' } }, /^leader\.addr must be a string/],
  ['an address over 96 bytes', { ...good, known: [{ id: 'x', addr: 'a'.repeat(97), horde: '' }] }, /^known\[0\]\.addr must be a string of 0–96 bytes/],
  ['history missing', { ...good, history: undefined }, /^history must be a list, got undefined/],
  ['a history entry with a number horde', { ...good, history: [peer('a'), { id: 'b', addr: 'h:1', horde: 5 }] }, /^history\[1\]\.horde must be/],
  ['known an object', { ...good, known: {} }, /^known must be a list/],
  ['known too long', { ...good, known: Array.from({ length: 1025 }, (_, i) => peer(`p${i}`)) }, /^known holds 1025 entries, more than 1024/],
  ['an unknown field', { ...good, extra: 1 }, /^unknown field "extra"/],
]

for (const [what, cp, message] of bad) {
  test(`a checkpoint with ${what} is named`, (t) => {
    const p = checkpointProblem(cp)
    t.regex(p ?? 'passed', message)
    t.false((p ?? '').includes('\n'))
  })
}

test("another node's checkpoint is refused: its id would be restored as this node's", (t) => {
  t.regex(checkpointProblem(good, 'n1111111111111111') ?? 'passed', /^id "n0123456789abcdef" is not this node's id "n1111111111111111"/)
})

test('a NodeId: each field checked in turn', (t) => {
  t.is(nodeIdProblem(peer('a'), 'x'), null)
  t.regex(nodeIdProblem({ id: 'a'.repeat(65), addr: 'h:1', horde: '' }, 'x') ?? '', /^x\.id must be a string of 0–64 bytes/)
  t.regex(nodeIdProblem({ id: 'a', addr: null, horde: '' }, 'x') ?? '', /^x\.addr must be a string/)
  t.regex(nodeIdProblem({ id: 'a', addr: 'h:1', horde: 'x'.repeat(65) }, 'x') ?? '', /^x\.horde must be/)
  t.regex(nodeIdProblem('a', 'x') ?? '', /^x must be an object \{id, addr, horde\}, got "a"$/)
})
