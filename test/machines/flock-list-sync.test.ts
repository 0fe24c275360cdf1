/**
 * The member-list copy (machines/flock/list-sync.ts, member-list.ts; docs/PROTOCOL.md "every member
 * keeps a copy"): the leader answers a pull with a delta or the whole list in datagram-sized chunks,
 * a member applies chunks in any order and verifies the digest, and the digest does not depend on
 * the order entries were added in.
 */
import test from 'ava'
import fc from 'fast-check'
import type { Effect, PersistEffect } from '../../machines/effects.js'
import { roleOf } from '../../machines/flock.machine.js'
import { answerListPull, applyListChunk, pullAgain } from '../../machines/flock/list-sync.js'
import { answerPull, digestOf, emptyList, entryBytes, entryOf, listPut, listRemove } from '../../machines/flock/member-list.js'
import { receive } from '../../machines/flock/receive.js'
import { onHeartbeat, onPrune } from '../../machines/flock/ticks.js'
import type { FlockContext, ListChunk, MemberEntry, NodeId } from '../../machines/flock/types.js'
import { chunks, HB, info, leaderWith, memberCtx, node, OUR_FLOCK, pulls, SELF, selfAs } from '../fixtures/flock-fixtures.js'

const L = node('L')

/** Leader `L` of `_m` with members `self`, a, b, c (list versions 2–5, each logged). */
function leader(set: Partial<FlockContext> = {}, config: Record<string, number> = {}): FlockContext {
  return leaderWith([SELF, 'a', 'b', 'c'], 0, set, { self: selfAs('L'), config: { hbMs: HB, ...config } })
}

function answer(ldr: FlockContext, since: number, from = node(SELF)): ListChunk[] {
  const out: Effect[] = []
  answerListPull(ldr, { flock: ldr.flock, me: from, since }, out)
  return chunks(out)
}

function ids(es: MemberEntry[]): string[] {
  return es.map((e) => e.id)
}

// ---- the leader's answer ----

test('answer: since within the log → one delta chunk with the changes since', (t) => {
  const ldr = leader()
  const cs = answer(ldr, 3)
  t.is(cs.length, 1)
  t.like(cs[0], { flock: OUR_FLOCK, leader: L, full: false, since: 3, version: 5, digest: digestOf(ldr.list), index: 0, count: 1, removed: [] })
  t.deepEqual(ids(cs[0]!.added), ['b', 'c'])
})

test('answer: a delta carries removals (pruned members) as ids', (t) => {
  const ldr = leader()
  ldr.mems['a']!.expires = -1
  onPrune(ldr, 0, []) // suspected
  onPrune(ldr, HB, []) // confirmed after the window
  const cs = answer(ldr, 5)
  t.like(cs[0], { full: false, since: 5, version: 6, added: [], removed: ['a'] })
})

test('answer: a delta nets out changes (added then removed → only the removal)', (t) => {
  const ldr = leader()
  ldr.mems['c']!.expires = -1
  onPrune(ldr, 0, [])
  onPrune(ldr, HB, [])
  const cs = answer(ldr, 4)
  t.deepEqual(cs[0]!.added, [])
  t.deepEqual(cs[0]!.removed, ['c'])
})

test('answer: since = the current version → an empty delta (count 1)', (t) => {
  const cs = answer(leader(), 5)
  t.like(cs[0], { full: false, count: 1, added: [], removed: [] })
})

test('answer: since 0 → the full list (the leader included), sorted by id', (t) => {
  const cs = answer(leader(), 0)
  t.true(cs.every((c) => c.full && c.since === 0 && c.version === 5))
  t.deepEqual(cs.flatMap((c) => ids(c.added)), ['L', 'a', 'b', 'c', SELF].sort())
})

test('answer: since older than the log → the full list', (t) => {
  const ldr = leader({}, { listLogSize: 2 }) // log keeps versions 4 and 5
  t.true(answer(ldr, 2).every((c) => c.full))
  t.false(answer(ldr, 3)[0]!.full, 'since 3 = oldest − 1 is still a delta')
})

test('answer: since newer than the list (another incarnation) → the full list', (t) => {
  t.true(answer(leader(), 9).every((c) => c.full))
})

test('answer: every chunk fits the byte budget (and 64 items); indices 0…count−1 cover the whole list', (t) => {
  const ldr = leaderWith(
    Array.from({ length: 200 }, (_, k) => `member-${k}`),
    0,
    {},
    { self: selfAs('L'), config: { hbMs: HB, listChunkBytes: 200 } },
  )
  ldr.mems[SELF] = { node: node(SELF), expires: 1e9, suspect: null }
  const cs = answer(ldr, 0)
  t.true(cs.length > 1)
  for (const [k, c] of cs.entries()) {
    t.is(c.index, k)
    t.is(c.count, cs.length)
    t.true(c.added.length <= 64)
    t.true(c.added.reduce((s, e) => s + entryBytes(e), 0) <= 200)
  }
  t.is(new Set(cs.flatMap((c) => ids(c.added))).size, ldr.list.size)
})

test('answer: a pull from a non-member is ignored', (t) => {
  const out: Effect[] = []
  t.false(answerListPull(leader(), { flock: OUR_FLOCK, me: node('stranger'), since: 0 }, out))
  t.deepEqual(out, [])
})

test('answer: a pull for another flock is ignored', (t) => {
  const out: Effect[] = []
  t.false(answerListPull(leader(), { flock: '_other', me: node(SELF), since: 0 }, out))
  t.deepEqual(out, [])
})

test('answer: a member (not the leader) ignores pulls', (t) => {
  const out: Effect[] = []
  t.false(answerListPull(memberCtx(L), { flock: OUR_FLOCK, me: node('a'), since: 0 }, out))
  t.deepEqual(out, [])
})

test('answer: chunks go to the puller’s address', (t) => {
  const out: Effect[] = []
  answerListPull(leader(), { flock: OUR_FLOCK, me: node('a'), since: 0 }, out)
  t.true(out.length > 0)
  t.true(out.every((e) => e.type === 'send' && e.to === 'addr-a' && e.event.type === 'list.chunk'))
})

// ---- the member applies ----

function smallChunks(): { ldr: FlockContext; cs: ListChunk[] } {
  const ldr = leader({}, { listChunkBytes: 40 })
  return { ldr, cs: answer(ldr, 0) }
}

test('apply: a full answer in order gives the leader’s list (entries, version, digest)', (t) => {
  const { ldr, cs } = smallChunks()
  t.true(cs.length >= 3)
  const m = memberCtx(L, { pulling: 0 })
  const got = cs.map((c) => applyListChunk(m, c, 0))
  t.deepEqual(got, [...cs.slice(1).map(() => false), true])
  t.deepEqual(m.list, ldr.list)
  t.is(m.pulling, null)
  t.is(m.pending, null)
})

test('apply: full chunks out of order and duplicated still give the leader’s list, once', (t) => {
  const { ldr, cs } = smallChunks()
  const m = memberCtx(L)
  const last = cs.length - 1
  const order = [cs[last]!, cs[0]!, cs[last]!, ...cs.slice(1, last).reverse(), cs[0]!]
  const got = order.map((c) => applyListChunk(m, c, 0))
  t.is(got.filter((g) => g).length, 1)
  t.true(got[order.length - 2]!, 'complete when the last missing index arrives')
  t.is(digestOf(m.list), digestOf(ldr.list))
  t.is(m.list.version, ldr.list.version)
})

test('apply: a delta (several chunks, out of order, duplicated) moves the copy to the leader’s version', (t) => {
  const ldr = leader({}, { listChunkBytes: 20 })
  const m = memberCtx(L)
  for (const c of answer(ldr, 0)) applyListChunk(m, c, 0) // synced at version 5
  for (const id of ['d', 'e', 'f']) receive(ldr, info({ kind: 'beat', me: node(id), leader: L, vote: 1, lvote: 500 }), HB, [])
  ldr.mems['a']!.expires = -1
  onPrune(ldr, HB, [])
  const cs = answer(ldr, 5)
  t.true(cs.length >= 3 && cs.every((c) => !c.full))
  const got = [...cs].reverse().flatMap((c) => [applyListChunk(m, c, 0), applyListChunk(m, c, 0)])
  t.is(got.filter((g) => g).length, 1)
  t.deepEqual(m.list, ldr.list)
})

test('apply: a delta for another base version is ignored', (t) => {
  const ldr = leader()
  const m = memberCtx(L)
  for (const c of answer(ldr, 0)) applyListChunk(m, c, 0)
  const before = structuredClone(m.list)
  const c = answer(ldr, 3)[0]!
  t.false(applyListChunk(m, c, 0))
  t.deepEqual(m.list, before)
})

test('apply: a digest mismatch resets the copy to empty (the next check-in pulls it all)', (t) => {
  const { cs } = smallChunks()
  const m = memberCtx(L, { pulling: 0 })
  const bad = cs.map((c) => ({ ...c, digest: '0123456789abcdef' }))
  const got = bad.map((c) => applyListChunk(m, c, 0))
  t.false(got.some((g) => g))
  t.deepEqual(m.list, emptyList())
  t.is(m.pulling, null)
  const out: Effect[] = []
  receive(m, info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, listVersion: 5, listDigest: cs[0]!.digest }), 3 * HB, out)
  t.is(pulls(out)[0]!.pull.since, 0)
})

test('apply: chunks from another leader or another flock are ignored', (t) => {
  const { cs } = smallChunks()
  const m = memberCtx(node('other'))
  t.false(cs.map((c) => applyListChunk(m, c, 0)).some((g) => g))
  t.is(m.list.size, 0)
  const m2 = memberCtx(L, { flock: '_zz' })
  t.false(cs.map((c) => applyListChunk(m2, c, 0)).some((g) => g))
  t.is(m2.list.size, 0)
})

test('apply: a leader ignores chunks', (t) => {
  const { cs } = smallChunks()
  const l2 = leaderWith(['x'])
  const before = structuredClone(l2.list)
  t.false(cs.map((c) => applyListChunk(l2, c, 0)).some((g) => g))
  t.deepEqual(l2.list, before)
})

test('round trip: check-in → pull → answer → apply; the next check-in does not pull', (t) => {
  const ldr = leader()
  const m = memberCtx(L)
  const beat = (now: number) => {
    const out: Effect[] = []
    receive(m, info({ me: L, leader: L, kind: 'leader-beat', vote: 500, lvote: 500, sent: now, listVersion: ldr.list.version, listDigest: digestOf(ldr.list) }), now, out)
    return out
  }
  const [p] = pulls(beat(HB))
  t.is(p!.to, 'addr-L')
  const out: Effect[] = []
  t.true(answerListPull(ldr, p!.pull, out))
  for (const c of chunks(out)) applyListChunk(m, c, 0)
  t.deepEqual(pulls(beat(2 * HB)), [])
  t.is(roleOf(m as never), 'member.following')
})

test('apply: a duplicated full chunk arriving after the copy is complete does not reopen a pending answer', (t) => {
  // Was a bug (fixed): list-sync.ts applyListChunk: after a full answer completes (pending = null), a late duplicate of
  // one of its chunks opens a new `pending` for the version we already hold. It is never completed
  // (the other chunks were consumed), so roleOf() reports member.syncing until another answer lands.
  const { ldr, cs } = smallChunks()
  const m = memberCtx(L)
  for (const c of cs) applyListChunk(m, c, 0)
  t.is(roleOf(m as never), 'member.following')
  applyListChunk(m, cs[0]!, 0)
  t.is(m.pending, null)
  t.is(roleOf(m as never), 'member.following')
  t.deepEqual(m.list, ldr.list)
})

// ---- the digest ----

// Any string is an id, Object.prototype keys (`constructor`, `__proto__`) included.
const entry = fc.record({
  id: fc.string({ minLength: 1, maxLength: 12 }),
  addr: fc.string({ maxLength: 20 }),
  horde: fc.string({ maxLength: 6 }),
})
const entries = fc.uniqueArray(entry, { selector: (e) => e.id, maxLength: 40 })

test('digest: any insertion order of the same entries gives the same digest (property)', (t) => {
  fc.assert(
    fc.property(
      entries.chain((es) => fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length, maxLength: es.length }))),
      ([a, b]) => {
        const x = emptyList()
        const y = emptyList()
        for (const e of a) listPut(x, e)
        for (const e of b) listPut(y, e)
        return digestOf(x) === digestOf(y) && x.size === y.size
      },
    ),
  )
  t.pass()
})

test('digest: adding then removing every entry (any order) returns to the empty digest (property)', (t) => {
  const empty = digestOf(emptyList())
  t.is(empty, '0000000000000000')
  fc.assert(
    fc.property(
      entries.chain((es) => fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length, maxLength: es.length }))),
      ([add, remove]) => {
        const l = emptyList()
        for (const e of add) listPut(l, e)
        for (const e of remove) listRemove(l, e.id)
        return digestOf(l) === empty && l.size === 0
      },
    ),
  )
  t.pass()
})

test('digest: replacing an entry equals building with the new entry directly (property)', (t) => {
  fc.assert(
    fc.property(entries, fc.string({ maxLength: 20 }), (es, addr) => {
      fc.pre(es.length > 0)
      const a = emptyList()
      for (const e of es) listPut(a, e)
      listPut(a, { ...es[0]!, addr: es[0]!.addr + addr + 'x' })
      const b = emptyList()
      listPut(b, { ...es[0]!, addr: es[0]!.addr + addr + 'x' })
      for (const e of es.slice(1)) listPut(b, e)
      return digestOf(a) === digestOf(b)
    }),
  )
  t.pass()
})

test('digest: an entry whose id is an Object.prototype key is an ordinary entry', (t) => {
  // Was a bug (fixed): member-list.ts listPut/listRemove: `list.entries` is a plain object, so `entries['constructor']`
  // (or 'toString', '__proto__', …) is found on the prototype: listPut treats it as an existing entry
  // (size stays 0, the digest XORs in a hash of undefined fields) and listRemove drives size to −1.
  for (const id of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    const l = emptyList()
    t.true(listPut(l, { id, addr: 'a:1', horde: '' }), id)
    t.is(l.size, 1, id)
    t.deepEqual(listRemove(l, id), { id, addr: 'a:1', horde: '' }, id)
    t.is(l.size, 0, id)
    t.is(digestOf(l), '0000000000000000', id)
  }
})

test('digest: re-putting an identical entry changes nothing', (t) => {
  const l = emptyList()
  listPut(l, entryOf(node('a')))
  const d = digestOf(l)
  t.false(listPut(l, entryOf(node('a'))))
  t.is(digestOf(l), d)
  t.is(l.size, 1)
})

test('digest: different entries give different digests (one field differs)', (t) => {
  const a = emptyList()
  const b = emptyList()
  listPut(a, { id: 'x', addr: 'h:1', horde: '' })
  listPut(b, { id: 'x', addr: 'h:1', horde: 'g' })
  t.not(digestOf(a), digestOf(b))
})

test('answerPull is pure over its inputs (same list → same chunks)', (t) => {
  const ldr = leader()
  t.deepEqual(answerPull(ldr.list, ldr.changes, 0, 900, OUR_FLOCK, L), answerPull(ldr.list, ldr.changes, 0, 900, OUR_FLOCK, L))
})

test('member: a pull unanswered for most of a heartbeat is asked again at its own heartbeat, keeping the chunks it has', (t) => {
  const m = memberCtx(L)
  m.pulling = 0
  m.pending = { version: 5, since: 0, full: true, count: 2, got: 1, seen: [0], entries: {}, removed: [] }
  const early: Effect[] = []
  pullAgain(m, 0.5 * HB, early)
  t.deepEqual(pulls(early), [])
  const out: Effect[] = []
  pullAgain(m, 0.75 * HB, out)
  t.deepEqual(pulls(out), [{ to: 'addr-L', pull: { flock: OUR_FLOCK, me: node(SELF), since: 0 } }])
  t.is(m.pulling, 0.75 * HB)
  t.is(m.pending!.got, 1)
})

test('member: a synced copy is checkpointed within 2 HB, so a restart without any seed finds its members', (t) => {
  const ldr = leader()
  const m = memberCtx(L)
  for (const c of answer(ldr, 0)) applyListChunk(m, c, HB)
  t.is(m.knownDirty, HB)
  const early: Effect[] = []
  onHeartbeat(m, 2 * HB, early)
  t.false(early.some((e) => e.type === 'persist'))
  const out: Effect[] = []
  onHeartbeat(m, 3 * HB, out)
  const p = out.find((e): e is PersistEffect => e.type === 'persist')!
  t.deepEqual((p.value as { known: NodeId[] }).known.map((n) => n.id).sort(), ['L', 'a', 'b', 'c'])
})
