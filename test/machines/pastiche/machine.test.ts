/**
 * The pastiche machine on a virtual clock: a wanted blob is fetched, assembled and pinned; ranges are
 * split across the peers that hold it; a bad range goes to another peer and its sender is counted; a
 * wrong assembly is traced to its sender; with no holder it waits and asks again; unwant gives up what
 * is in flight and unpins; an evicted wanted blob is fetched again.
 */
import test from 'ava'
import { A, B, asks, fetches, fetchIds, pastiche, pins, sent, STORE, T, timers } from './harness.js'

test('want → has asked → fetch from the holder → assemble → pinned, and the machine goes idle', (t) => {
  const m = pastiche()
  m.peers(0, [['p1'], ['p2']])
  const first = m.want(A, undefined, 10)
  t.deepEqual(asks(first), ['p1:1 A', 'p2:1 A'], 'no holder known: every peer is asked')
  t.deepEqual(fetches(first), [])
  t.deepEqual(timers(first), [{ type: 'timer.set', name: 'tick', ms: 500 }])
  t.is(m.state(), 'working')
  t.deepEqual(first.filter((e) => e.type === 'persist'), [{ type: 'persist', key: `want/${A}`, value: { hash: A, bytes: null } }])
  const ids = sent(first, 'has', T).map((e) => e.id as number)
  t.deepEqual(fetches(m.has(ids[0]!, false, 0, 20)), [])
  const go = m.has(ids[1]!, true, 90, 30)
  t.deepEqual(fetches(go), ['p2:1 0+90'], 'one holder, one range: the whole blob')
  const done = m.fetched(fetchIds(go)[0]!, 'ok', 90, 40)
  const [asm] = sent(done, 'assemble', T)
  t.like(asm, { hash: A, bytes: 90 })
  const end = m.assembled(asm!.id, true, 50)
  t.deepEqual(pins(end), [`pin ${A}`])
  t.deepEqual(timers(end), [{ type: 'timer.cancel', name: 'tick' }])
  t.is(m.state(), 'idle')
  t.deepEqual(pins(m.held(A, 90, 60)), [], 'the store saying so afterwards pins nothing twice')
  t.is(m.context().counters.completed, 1)
})

test('a wanted blob already held is pinned at once; held later, in-flight transfers are given up', (t) => {
  const m = pastiche()
  m.held(A, 10, 0)
  t.deepEqual(pins(m.want(A)), [`pin ${A}`])
  m.peers(0, [['p1', [B]]])
  const f = m.want(B, 300, 1)
  t.deepEqual(fetches(f), ['p1:1 0+300'])
  const out = m.held(B, 300, 2)
  t.deepEqual(sent(out, 'fetch.cancel', T).map((e) => e.id), fetchIds(f))
  t.deepEqual(pins(out), [`pin ${B}`])
  t.deepEqual(m.fetched(fetchIds(f)[0]!, 'ok', 300, 3).filter((e) => e.type === 'send'), [], 'the late answer is ignored')
})

test('two holders: the blob is split into two ranges, one from each, in flight at once', (t) => {
  const m = pastiche()
  m.peers(0, [['p1', [A]], ['p2', [A]]])
  t.deepEqual(fetches(m.want(A, 1000)), ['p1:1 0+500', 'p2:1 500+500'])
  const four = pastiche({ perBlob: 3 })
  four.peers(0, [['p1', [A]], ['p2', [A]], ['p3', [A]], ['p4', [A]]])
  t.deepEqual(fetches(four.want(A, 1000)), ['p1:1 0+333', 'p2:1 333+333', 'p3:1 666+334'], 'at most perBlob ranges')
  const small = pastiche()
  small.peers(0, [['p1', [A]], ['p2', [A]]])
  t.deepEqual(fetches(small.want(A, 150)), ['p1:1 0+150'], 'no range under minRange')
})

test('one peer sends a bad range: it is counted, excluded for that blob, and its range fetched from the other', (t) => {
  const m = pastiche()
  m.peers(0, [['p1', [A]], ['p2', [A]]])
  const [id1, id2] = fetchIds(m.want(A, 1000, 0))
  const ok = m.fetched(id2!, 'ok', 500, 10)
  t.deepEqual(fetches(ok), [])
  const again = m.fetched(id1!, 'bad', 500, 20)
  t.deepEqual(fetches(again), ['p2:1 0+500'], "p1's range goes to p2 at once (no backoff: p2 is not at fault)")
  t.deepEqual(m.context().badPeers, { p1: 1 })
  t.deepEqual(m.context().wants[A].excluded, ['p1'])
  const asm = sent(m.fetched(fetchIds(again)[0]!, 'ok', 500, 30), 'assemble', T)
  t.is(asm.length, 1)
  t.deepEqual(pins(m.assembled(asm[0]!.id, true, 40)), [`pin ${A}`])
  t.deepEqual(m.context().counters, { fetches: 3, ok: 2, failed: 0, bad: 1, badAssemblies: 0, completed: 1 })
})

test('an ok answer with the wrong byte count is a bad range', (t) => {
  const m = pastiche()
  m.peers(0, [['p1', [A]], ['p2', [A]]])
  const [id1] = fetchIds(m.want(A, 1000, 0))
  t.deepEqual(fetches(m.fetched(id1!, 'ok', 499, 1)), ['p2:1 0+500'], 'refetched from p2 beside its own range (perPeer allows it)')
  t.deepEqual(m.context().badPeers, { p1: 1 })
})

test('a wrong assembly from several senders: each is tried alone, the liar counted; from one sender: it is the liar', (t) => {
  const m = pastiche()
  m.peers(0, [['p1', [A]], ['p2', [A]]])
  const [id1, id2] = fetchIds(m.want(A, 1000, 0))
  m.fetched(id1!, 'ok', 500, 1)
  const asm = sent(m.fetched(id2!, 'ok', 500, 2), 'assemble', T)[0]!
  const alone = m.assembled(asm.id, false, 3)
  t.deepEqual(fetches(alone), ['p1:1 0+1000'], 'the first suspect, alone, for the whole blob')
  t.deepEqual(m.context().badPeers, {}, 'nobody counted on suspicion')
  const asm2 = sent(m.fetched(fetchIds(alone)[0]!, 'ok', 1000, 4), 'assemble', T)[0]!
  const next = m.assembled(asm2.id, false, 5)
  t.deepEqual(m.context().badPeers, { p1: 1 }, 'alone and wrong: p1 lied')
  t.deepEqual(fetches(next), ['p2:1 0+1000'])
  const asm3 = sent(m.fetched(fetchIds(next)[0]!, 'ok', 1000, 6), 'assemble', T)[0]!
  t.deepEqual(pins(m.assembled(asm3.id, true, 7)), [`pin ${A}`])
  t.is(m.context().counters.badAssemblies, 2)
})

test('a failed range backs off (doubling) and goes to another holder first; the failing peer must say again that it holds it', (t) => {
  const m = pastiche({ backoffMs: 100, backoffMaxMs: 300 })
  m.peers(0, [['p1', [A]], ['p2', [A]]])
  const [id1, id2] = fetchIds(m.want(A, 1000, 0))
  t.deepEqual(fetches(m.fetched(id1!, 'failed', 0, 10)), [], 'waits out its backoff')
  t.deepEqual(Object.keys(m.context().peers.p1.holds), [])
  t.deepEqual(fetches(m.tick(109)), [])
  const retry = m.tick(110)
  t.deepEqual(fetches(retry), ['p2:1 0+500'], 'the retry goes to p2, which still holds it')
  m.fetched(id2!, 'ok', 500, 120)
  m.fetched(fetchIds(retry)[0]!, 'failed', 0, 130)
  t.deepEqual(fetches(m.tick(329)), [])
  t.is(m.context().wants[A].ranges[0].notBefore, 330, 'second failure: 200 ms')
  t.is(m.context().counters.failed, 2)
})

test('no holder: a new peer is asked at once; once every peer said no it waits askEveryMs, and fetches once a peer appears holding it', (t) => {
  const m = pastiche({ askEveryMs: 1_000 })
  t.deepEqual(asks(m.want(A, 400, 0)), [], 'no peers: nobody to ask')
  t.is(m.state(), 'working')
  t.deepEqual(asks(m.peers(100, [['p1']])), ['p1:1 A'], 'a peer appears: asked at once')
  const id = m.context().nextId - 1
  t.deepEqual(fetches(m.has(id, false, 0, 110)), [])
  t.deepEqual(asks(m.tick(1_000)), [], 'every peer said no: not again before askEveryMs')
  t.deepEqual(asks(m.tick(1_100)), ['p1:1 A'])
  t.deepEqual(fetches(m.peers(1_200, [['p1'], ['p2', [A]]])), ['p2:1 0+400'], 'an announced holder is fetched from at once')
})

test('asking goes round the peers a round after another until one holds it, starting at a place of its own', (t) => {
  const m = pastiche({ askFanout: 2 })
  m.peers(0, [['p1'], ['p2'], ['p3'], ['p4'], ['p5']])
  const round = (out: ReturnType<typeof m.want>) => sent(out, 'has', T).map((e) => [e.id as number, (e.to as string).slice(0, 2)] as const)
  const r1 = round(m.want(A, 300, 0))
  t.is(r1.length, 2)
  t.deepEqual(round(m.has(r1[0]![0], false, 0, 1)), [], 'the round is not all in')
  const r2 = round(m.has(r1[1]![0], false, 0, 2))
  t.is(r2.length, 2, 'the next round at once')
  t.true(r2.every(([, p]) => !r1.some(([, q]) => q === p)), 'other peers')
  m.has(r2[0]![0], false, 0, 3)
  const r3 = round(m.has(r2[1]![0], false, 0, 4))
  t.is(r3.length, 2, 'the last peer, and one of the first again: the circle is complete')
  const asked = new Set([...r1, ...r2, ...r3].map(([, p]) => p))
  t.is(asked.size, 5, 'every peer asked')
  t.deepEqual(fetches(m.has(r3[0]![0], true, 300, 5)), [`${r3[0]![1]}:1 0+300`])
  const firsts = ['a', 'b', 'c', 'd', 'e', 'f'].map((node) => {
    const n = pastiche({ askFanout: 1 }, { node })
    n.peers(0, [['p1'], ['p2'], ['p3'], ['p4'], ['p5']])
    return asks(n.want(A, 300, 0))[0]
  })
  t.true(new Set(firsts).size > 1, `nodes start at different peers: ${firsts.join(', ')}`)
})

test('unwant: in-flight transfers abandoned, the pin removed, the holding forgotten and persisted as gone', (t) => {
  const m = pastiche()
  m.peers(0, [['p1', [A, B]], ['p2', [A]]])
  const f = m.want(A, 1000, 0)
  const out = m.unwant(A, 1)
  t.deepEqual(sent(out, 'fetch.cancel', T).map((e) => e.id).sort(), fetchIds(f).sort())
  t.deepEqual(out.filter((e) => e.type === 'persist'), [{ type: 'persist', key: `want/${A}`, value: null }])
  t.deepEqual(m.context().transfers, {})
  t.is(m.state(), 'idle')
  t.deepEqual(m.fetched(fetchIds(f)[0]!, 'ok', 500, 2).filter((e) => e.type === 'send'), [], 'a late answer is ignored')
  m.held(B, 10, 3)
  t.deepEqual(pins(m.want(B, 10, 4)), [`pin ${B}`])
  t.deepEqual(sent(m.unwant(B, 5), 'unpin', STORE).map((e) => e.hash), [B])
  t.deepEqual(m.unwant(B, 6), [], 'unwanting what is not wanted does nothing')
})

test('a wanted blob evicted (gone) is fetched again; its pin went with it and is taken again', (t) => {
  const m = pastiche()
  m.peers(0, [['p1', [A]]])
  m.held(A, 200, 0)
  t.deepEqual(pins(m.want(A, 200, 1)), [`pin ${A}`])
  const again = m.gone(A, 2)
  t.deepEqual(fetches(again), ['p1:1 0+200'])
  t.is(m.state(), 'working')
  const asm = sent(m.fetched(fetchIds(again)[0]!, 'ok', 200, 3), 'assemble', T)[0]!
  t.deepEqual(pins(m.assembled(asm.id, true, 4)), [`pin ${A}`])
})

test('bounded: at most perPeer ranges in flight from one peer over all blobs, the rest wait for a slot, none doubled', (t) => {
  const m = pastiche({ perPeer: 2 })
  m.peers(0, [['p1', [A, B]]])
  t.deepEqual(fetches(m.want(A, 300, 0)), ['p1:1 0+300'])
  const b = m.want(B, 300, 1)
  t.deepEqual(fetches(b), ['p1:1 0+300'])
  const m2 = pastiche({ perPeer: 1 })
  m2.peers(0, [['p1', [A, B]]])
  const a = fetchIds(m2.want(A, 300, 0))
  t.deepEqual(fetches(m2.want(B, 300, 1)), [], 'p1 is at its bound')
  t.deepEqual(fetches(m2.tick(5_000)), [], 'a slow transfer is waited for, not doubled')
  t.deepEqual(fetches(m2.fetched(a[0]!, 'ok', 300, 6_000)), ['p1:1 0+300'], 'the slot freed goes to B')
})

test('restart: persisted holdings come back; one already held is pinned, the others are fetched', (t) => {
  const m = pastiche({}, { held: [{ hash: A, bytes: 5 }], wants: [{ hash: A }, { hash: B, bytes: 50 }] })
  t.deepEqual(pins(m.start), [`pin ${A}`])
  t.is(m.state(), 'working')
  t.deepEqual(fetches(m.peers(1, [['p1', [B]]])), ['p1:1 0+50'])
})

test('after asking, answers are gathered (up to gatherMs) before the blob is split, so every holder gets a range', (t) => {
  const m = pastiche({ gatherMs: 250 })
  m.peers(0, [['p1'], ['p2'], ['p3']])
  const ids = Object.fromEntries(sent(m.want(A, 900, 0), 'has', T).map((e) => [(e.to as string).slice(0, 2), e.id as number]))
  t.deepEqual(fetches(m.has(ids.p1!, true, 900, 10)), [], 'p2 and p3 have not answered')
  t.deepEqual(fetches(m.has(ids.p2!, true, 900, 20)), [])
  t.deepEqual(fetches(m.has(ids.p3!, false, 0, 30, false)), ['p1:1 0+450', 'p2:1 450+450'], 'every answer in: split between the two holders')
  const late = pastiche({ gatherMs: 250 })
  late.peers(0, [['p1'], ['p2']])
  const lateIds = Object.fromEntries(sent(late.want(A, 900, 0), 'has', T).map((e) => [(e.to as string).slice(0, 2), e.id as number]))
  t.deepEqual(fetches(late.has(lateIds.p1!, true, 900, 10)), [])
  t.deepEqual(fetches(late.tick(250)), ['p1:1 0+900'], 'p2 silent past gatherMs: go with what is known')
})
