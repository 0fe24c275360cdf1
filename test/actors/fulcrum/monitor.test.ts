import test from 'ava'
import { serviceRecord } from '../../../actors/fulcrum/monitor.js'
import { decodeMonitor, encodeMonitor } from '../../../actors/monitor/codec.js'

const self = { node: 'n0123456789abcdef', flock: 'Fabc', leader: 'n0123456789abcdef', t: 1_000 }

test("picket's records become MonInfo of the Service ops, within MonInfo's bounds; anything else is not one", (t) => {
  t.like(serviceRecord({ type: 'ServiceRestart', name: 'echo', run: 2, restarts: 1, reason: 'killed by SIGKILL' }, self), { op: 'ServiceRestart', node: self.node, service: 'echo', n: 1, cause: 'killed by SIGKILL', t: 1_000 })
  t.like(serviceRecord({ type: 'ServiceUpgrade', name: 'echo', from: 'sha256:aa', to: `sha256:${'b'.repeat(64)}`, ok: true, run: 3 }, self), { op: 'ServiceUpgrade', n: 0, cause: `upgraded to sha256:${'b'.repeat(12)}` })
  // A long reason of many-byte characters is cut on a character, to 64 bytes, so the record still travels.
  const long = serviceRecord({ type: 'ServiceFailed', name: 'x'.repeat(80), hash: 'h', reason: 'é'.repeat(100) }, self)!
  t.is(Buffer.byteLength(long.cause), 64)
  t.is(long.service, 'x'.repeat(64))
  t.notThrows(() => decodeMonitor(encodeMonitor({ type: 'batch', events: [long], index: 0, count: 1, dump: false })))
  t.is(serviceRecord({ type: 'MonInfo', name: 'echo' }, self), undefined)
  t.is(serviceRecord({ type: 'ServiceRestart' }, self), undefined)
})
