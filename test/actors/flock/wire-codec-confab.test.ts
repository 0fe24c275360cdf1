import test from 'ava'
import type { ConfabAnswer } from '../../../machines/flock/types.js'
import { decodeWire, encodeWire, WireDecodeError, WireEncodeError } from '../../../actors/flock/wire-codec.js'

const answer: ConfabAnswer = {
  nonce: 7,
  node: 'n1',
  flock: '_f',
  leader: { id: 'n2', addr: '127.77.0.2:23123', horde: '' },
  members: 2,
  steward: '',
  registry: '',
  epoch: '3-aa',
  role: 'member.following',
  entries: [{ id: 'n1', addr: '127.77.0.1:23123', horde: 'h' }],
  index: 0,
  count: 1,
  ok: true,
  reason: '',
}

test('a Confab query round-trips', (t) => {
  for (const ask of ['names', 'members', 'reboot', 'candidate'] as const) {
    const query = { nonce: 4_000_000_000, ask, introduce: ask === 'candidate' ? '127.78.0.1:23123' : '', time: 1_796_000_000_000, target: 'n1', page: 2, pad: 300 }
    const bytes = encodeWire({ type: 'confab.query', query })
    // The decoder adds the query's size: what bounds the answer.
    t.deepEqual(decodeWire(bytes), { type: 'confab.query', query: { ...query, size: bytes.length } })
  }
})

test('a Confab answer round-trips', (t) => {
  const ev = { type: 'confab.answer' as const, answer }
  t.deepEqual(decodeWire(encodeWire(ev)), ev)
})

test('an unknown ask or an answer past the limits is refused both ways', (t) => {
  t.throws(() => encodeWire({ type: 'confab.query', query: { nonce: 1, ask: 'shutdown' as never, introduce: '', time: 0, target: '', page: 0, pad: 0 } }), { instanceOf: WireEncodeError })
  t.throws(() => encodeWire({ type: 'confab.answer', answer: { ...answer, role: 'x'.repeat(33) } }), { instanceOf: WireEncodeError })
  t.throws(() => encodeWire({ type: 'confab.answer', answer: { ...answer, entries: Array(65).fill(answer.entries[0]) } }), { instanceOf: WireEncodeError })
  // ask = 9 on the wire: field 4 (query), then field 2 varint 9.
  const bytes = new Uint8Array([0x22, 0x04, 0x08, 0x01, 0x10, 0x09])
  t.throws(() => decodeWire(bytes), { instanceOf: WireDecodeError, message: /not a ConfabAsk/ })
})
