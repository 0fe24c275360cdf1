/** The strew codec: a reeve's forward copied for its own node's steward is what encoding and decoding it would give. */
import test from 'ava'
import { copyUpdateRequest, LoopCopyError, toEndpoint } from '../../../actors/strew/codec.js'
import type { CatalogEndpoint } from '../../../machines/steward/types.js'
import { StewardServiceService, type UpdateEndpointsRequest } from '../../../protos/gen/crux/v1/steward.js'

const m = StewardServiceService.updateEndpoints
const roundTrip = (r: UpdateEndpointsRequest): UpdateEndpointsRequest => m.requestDeserialize(m.requestSerialize(r))

const endpoint = (i: number, extra: Partial<CatalogEndpoint> = {}): CatalogEndpoint => ({
  nodeId: `/b/h/n0123456789abcdef/S${i}/Api1`,
  netId: `/Reeve1_0/n0123456789abcdef/net/127.0.0.1:${9000 + i}`,
  horde: 'h',
  api: 'Api1',
  instance: `i${i}`,
  address: `127.0.0.1:${9000 + i}`,
  state: i % 2 === 0 ? 'up' : 'down',
  keyId: '/Reeve1_0/n0123456789abcdef/keys/aa:bb',
  ...extra,
})

test('a forward copied is the forward encoded and decoded: every field, tags, removals, a lone surrogate as U+FFFD', (t) => {
  const requests: UpdateEndpointsRequest[] = [
    { reeve: '/b/h/n0123456789abcdef/Reeve/Reeve1', full: true, upsert: [0, 1, 2].map((i) => toEndpoint(endpoint(i))), remove: [], address: '127.0.0.1:50059', horde: 'h', term: 3 },
    { reeve: '/b/h/n0123456789abcdef/Reeve/Reeve1', full: false, upsert: [toEndpoint(endpoint(4, { tags: ['a', 'é', 'c'] }))], remove: ['/b/h/n0123456789abcdef/S9/Api1'], address: '[::1]:50059', horde: '', term: 2 ** 40 },
    { reeve: '', full: false, upsert: [], remove: [], address: '', horde: '', term: 0 },
    { reeve: 'a\ud800b', full: false, upsert: [toEndpoint(endpoint(5, { api: '\udc00' }))], remove: ['x\ud83d'], address: 'a', horde: 'h', term: Number.MAX_SAFE_INTEGER },
  ]
  for (const r of requests) t.deepEqual(copyUpdateRequest(r), roundTrip(r))
})

test('a field not of its type is refused, as the encoder refuses it (or would send something else)', (t) => {
  const base = (): UpdateEndpointsRequest => ({ reeve: 'r', full: false, upsert: [toEndpoint(endpoint(1))], remove: [], address: 'a', horde: 'h', term: 1 })
  const bad: Array<(r: Record<string, any>) => void> = [
    (r) => (r.term = -1),
    (r) => (r.term = 1.5),
    (r) => (r.term = 2 ** 60),
    (r) => (r.term = undefined),
    (r) => (r.upsert[0].state = undefined),
    (r) => (r.upsert[0].tags = undefined),
    (r) => (r.upsert = undefined),
  ]
  for (const f of bad) {
    const r = base()
    f(r as unknown as Record<string, any>)
    t.throws(() => roundTrip(r))
    t.throws(() => copyUpdateRequest(r), { instanceOf: LoopCopyError })
  }
  // Where the encoder sends something else instead (an unset string as "undefined"), the copy refuses too.
  const r = base()
  ;(r.upsert[0] as unknown as Record<string, unknown>).api = undefined
  t.is(roundTrip(r).upsert[0]!.api, 'undefined')
  t.throws(() => copyUpdateRequest(r), { instanceOf: LoopCopyError })
})

test('the copy is the receiver’s own: new objects and arrays, the sender’s strings', (t) => {
  const r: UpdateEndpointsRequest = { reeve: 'r', full: false, upsert: [toEndpoint(endpoint(1, { tags: ['t'] }))], remove: ['x'], address: 'a', horde: 'h', term: 1 }
  const c = copyUpdateRequest(r)
  t.not(c, r)
  t.not(c.upsert, r.upsert)
  t.not(c.upsert[0], r.upsert[0])
  t.not(c.upsert[0]!.tags, r.upsert[0]!.tags)
  t.not(c.remove, r.remove)
  c.remove.push('z')
  c.upsert[0]!.tags.push('u')
  t.deepEqual(r.remove, ['x'])
  t.deepEqual(r.upsert[0]!.tags, ['t'])
})
