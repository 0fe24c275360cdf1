/**
 * Pastiche in the catalog (machines/pastiche/announce.ts): the machine registers its node's pastiche
 * with the reeve, its tags naming what it holds, again whenever that changes and one registration at a
 * time; a refused one goes again after backoffMaxMs; peers' announced holdings (with sizes) make a
 * holder known without asking it, and a partial announcement forgets nothing it did not name.
 */
import test from 'ava'
import { holdTag, MAX_ANNOUNCED, parseHoldTags, PARTIAL_TAG, tagsOf } from '../../../machines/pastiche/announce.js'
import type { CatalogEndpoint } from '../../../machines/steward/types.js'
import { A, asks, B, fetches, pastiche, sent, timers } from './harness.js'

const endpoint: CatalogEndpoint = { nodeId: '/crux/default/me/Pastiche/Pastiche1', netId: '/Pastiche1/me/net/h:1', horde: 'default', api: 'Pastiche1', instance: 'me', address: 'h:1', state: 'up', keyId: '' }
const announce = { endpoint, reeve: 'me/reeve', keyId: '/Reeve1_0/me/keys/aa', self: 'me/pastiche' }
const registers = (out: ReturnType<ReturnType<typeof pastiche>['send']>) => sent(out, 'reeve.register', 'me/reeve')

test('at spawn it registers what the store holds; each change registers again, one at a time, the last state winning', (t) => {
  const m = pastiche({}, { held: [{ hash: B, bytes: 7 }], announce })
  const [first] = registers(m.start)
  t.like(first, { type: 'reeve.register', from: 'me/pastiche', caller: announce.keyId })
  t.deepEqual((first!.endpoint as CatalogEndpoint).tags, [holdTag(B, 7)])
  t.is((first!.endpoint as CatalogEndpoint).nodeId, endpoint.nodeId)
  // Two changes while the first is on its way: nothing sent until it is answered, then the last state.
  t.deepEqual(registers(m.held(A, 5, 1)), [])
  t.deepEqual(registers(m.send({ type: 'blob.gone', hash: B }, 2)), [])
  const next = registers(m.send({ type: 'reeve.registered', id: first!.id as number }, 3))
  t.deepEqual(next.map((e) => (e.endpoint as CatalogEndpoint).tags), [[holdTag(A, 5)]])
  t.deepEqual(registers(m.send({ type: 'reeve.registered', id: next[0]!.id as number }, 4)), [], 'nothing changed since')
  t.deepEqual(m.context().announce!.announced, [holdTag(A, 5)])
})

test('a refused registration goes again after backoffMaxMs, on the announce timer', (t) => {
  const m = pastiche({}, { announce })
  const [first] = registers(m.start)
  t.deepEqual((first!.endpoint as CatalogEndpoint).tags, [])
  const refused = m.send({ type: 'call.refused', id: first!.id as number, code: 'PERMISSION_DENIED', message: 'call refused' }, 10)
  t.deepEqual(timers(refused), [{ type: 'timer.set', name: 'announce', ms: 8_000 }])
  t.deepEqual(registers(m.held(A, 5, 20)), [], 'not before the backoff')
  t.deepEqual(registers(m.send({ type: 'call.failed', id: 999, code: 'UNAVAILABLE', message: 'x' }, 30)), [], "another call's failure is not ours")
  const again = registers(m.send({ type: 'timer.fired', name: 'announce' }, 8_010))
  t.deepEqual(again.map((e) => (e.endpoint as CatalogEndpoint).tags), [[holdTag(A, 5)]])
})

test('without announce (the simulator) nothing is registered', (t) => {
  const m = pastiche({}, { held: [{ hash: A, bytes: 5 }] })
  t.deepEqual(registers(m.start), [])
  t.deepEqual(registers(m.held(B, 5, 1)), [])
})

test('tags: wanted blobs first, then by hash, at most 63 named and then "partial"; parsed back, malformed ones skipped', (t) => {
  const nth = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`
  const m = pastiche({}, { held: Array.from({ length: 70 }, (_, i) => ({ hash: nth(i), bytes: i })), wants: [{ hash: nth(69) }] })
  const tags = tagsOf(m.context())
  t.is(tags.length, MAX_ANNOUNCED + 1)
  t.is(tags[0], holdTag(nth(69), 69), 'the wanted one first')
  t.is(tags[1], holdTag(nth(0), 0), 'then in hash order')
  t.is(tags.at(-1), PARTIAL_TAG)
  const back = parseHoldTags([...tags, 'sha256:zz/1', `${A}/-1`, `${A}/1e3`, 'nonsense', `${B}/12`])
  t.true(back.partial)
  t.is(back.holds.length, MAX_ANNOUNCED + 1)
  t.deepEqual(back.holds.at(-1), { hash: B, bytes: 12 })
})

test('an announced holder with its size is fetched from at once; a peer whose announcement does not name the blob is not asked', (t) => {
  const m = pastiche()
  m.send({ type: 'peers', peers: [{ node: 'p1', address: 'p1:1', holds: [] }, { node: 'p2', address: 'p2:1', holds: [{ hash: A, bytes: 300 }] }, { node: 'p3', address: 'p3:1' }] }, 0)
  const out = m.want(A, undefined, 1)
  t.deepEqual(asks(out), ['p3:1 A'], 'only the peer that announced nothing is asked')
  t.deepEqual(fetches(out), ['p2:1 0+300'])
})

test('a full announcement forgets what it does not name; a partial one only adds', (t) => {
  const m = pastiche()
  m.peers(0, [['p1']])
  const ask = sent(m.want(A, undefined, 1), 'has')
  // p1 says it holds A; the holding is withdrawn at once, so what is known of p1 is all that is left.
  m.has(ask[0]!.id as number, true, 50, 2)
  m.unwant(A, 3)
  t.deepEqual(Object.keys(m.context().holders[A] ?? {}), ['p1'])
  m.send({ type: 'peers', peers: [{ node: 'p1', address: 'p1:1', holds: [{ hash: B, bytes: 1 }], partial: true }] }, 4)
  t.deepEqual(Object.keys(m.context().holders[A] ?? {}), ['p1'], 'partial: A may still be held')
  t.deepEqual(m.context().holders[B], { p1: 1 })
  m.send({ type: 'peers', peers: [{ node: 'p1', address: 'p1:1', holds: [{ hash: B, bytes: 1 }] }] }, 5)
  t.is(m.context().holders[A], undefined, 'a full list that does not name A')
})
