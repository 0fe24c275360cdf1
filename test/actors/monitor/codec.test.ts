import test from 'ava'
import fc from 'fast-check'
import type { MonRecord } from '../../../machines/status/types.js'
import { MAX_ENVELOPE_PLAINTEXT } from '../../../runtime/envelope.js'
import { batches, decodeMonitor, encodeMonitor, MonitorDecodeError } from '../../../actors/monitor/codec.js'

const rec = (over: Partial<MonRecord> = {}): MonRecord => ({ op: 'LeaderHeart', node: 'n0123456789abcdef', flock: 'Fabc', leader: 'n0123456789abcdef', n: 4, oflock: '', t: 1_763_900_000_000, cause: 'heartbeat', ...over })

test('a batch and a watch request round-trip', (t) => {
  const batch = { type: 'batch' as const, events: [rec(), rec({ op: 'Join', oflock: 'G', n: 0 })], index: 0, count: 1, dump: true }
  t.deepEqual(decodeMonitor(encodeMonitor(batch)), batch)
  t.deepEqual(decodeMonitor(encodeMonitor({ type: 'watch', nonce: 7 })), { type: 'watch', nonce: 7 })
})

test('batches pack records in order into datagrams that fit the envelope, even at every bound', (t) => {
  const big = 'x'.repeat(64)
  const events = Array.from({ length: 200 }, (_, i) => rec(i % 3 === 0 ? { node: big, flock: big, leader: big, oflock: big, cause: big, t: i } : i % 3 === 1 ? { op: 'ServiceRestart', service: big, cause: big, t: i } : { t: i }))
  const out = batches(events)
  t.true(out.length > 1)
  const back: MonRecord[] = []
  for (const [i, b] of out.entries()) {
    const bytes = encodeMonitor(b)
    t.true(bytes.length <= MAX_ENVELOPE_PLAINTEXT, `batch ${i}: ${bytes.length} bytes`)
    const d = decodeMonitor(bytes)
    if (d.type !== 'batch') return t.fail()
    t.is(d.index, i)
    t.is(d.count, out.length)
    back.push(...d.events)
  }
  t.deepEqual(back, events)
})

test("a service's record carries its name; a flock record decodes without one, as it was sent", (t) => {
  const svc = rec({ op: 'ServiceRestart', n: 3, service: 'echo', cause: 'killed by SIGKILL' })
  const d = decodeMonitor(encodeMonitor({ type: 'batch', events: [svc, rec()], index: 0, count: 1, dump: false }))
  if (d.type !== 'batch') return t.fail()
  t.deepEqual(d.events, [svc, rec()])
  t.false('service' in d.events[1]!)
  t.throws(() => encodeMonitor({ type: 'batch', events: [rec({ op: 'ServiceFailed', service: 's'.repeat(65) })], index: 0, count: 1, dump: false }), { message: /service is not a string/ })
})

test('records outside the bounds are refused both ways', (t) => {
  t.throws(() => encodeMonitor({ type: 'batch', events: [rec({ op: 'Bogus' as MonRecord['op'] })], index: 0, count: 1, dump: false }), { message: /not a MonInfo op/ })
  t.throws(() => encodeMonitor({ type: 'batch', events: [rec({ node: 'y'.repeat(65) })], index: 0, count: 1, dump: false }), { message: /node is not a string/ })
})

test('arbitrary bytes are refused with MonitorDecodeError and nothing else', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1500 }), (b) => {
      try {
        decodeMonitor(b)
      } catch (err) {
        if (!(err instanceof MonitorDecodeError)) throw err
      }
    }),
    { numRuns: 3000 },
  )
  t.throws(() => decodeMonitor(new Uint8Array()), { instanceOf: MonitorDecodeError, message: /no message/ })
})
