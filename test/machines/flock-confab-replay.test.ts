/**
 * Confab replay and amplification (issue 13): a captured query moves no other node, nothing after a
 * restart or past the skew, and runs once; no answer is larger than its query. Queries are built as
 * the client builds them (padded, encoded) and decoded as a fulcrum decodes them.
 */
import test from 'ava'
import { paddedQuery } from '../../actors/flock/confab-client.js'
import type { Effect } from '../../machines/effects.js'
import { answerConfab } from '../../machines/flock/confab.js'
import { DEFAULT_FLOCK_CONFIG } from '../../machines/flock/constants.js'
import { createContext } from '../../machines/flock/context.js'
import type { ConfabAnswer, ConfabQuery, FlockContext } from '../../machines/flock/types.js'
import { MAX_ENVELOPE_PLAINTEXT } from '../../runtime/envelope.js'
import { decodeWire, encodeWire } from '../../actors/flock/wire-codec.js'
import { input, leaderWith, memberCtx, node, selfAs } from '../fixtures/flock-fixtures.js'

/** A wall-clock time, as the real fulcrum's clock and the client's Date.now() give. */
const T0 = 1_796_000_000_000

/** The query as a fulcrum's machine receives it, from the client's padded bytes. */
function wire(fields: Partial<ConfabQuery> & Pick<ConfabQuery, 'ask' | 'target'>): { q: ConfabQuery; bytes: number } {
  const bytes = paddedQuery({ nonce: 7, introduce: '', page: 0, time: T0, ...fields })
  const ev = decodeWire(bytes)
  if (ev.type !== 'confab.query') throw new Error('not a query')
  return { q: ev.query, bytes: bytes.length }
}

function ask(ctx: FlockContext, q: ConfabQuery, now = T0): { rule: string; out: Effect[]; answers: ConfabAnswer[] } {
  const out: Effect[] = []
  const rule = answerConfab(ctx, q, 'asker:1', now, 'member.following', out)
  const answers = out.flatMap((e) => (e.type === 'send' && e.event.type === 'confab.answer' ? [e.event.answer as ConfabAnswer] : []))
  return { rule, out, answers }
}

const nodeCtx = (id: string) => memberCtx(node('L'), {}, { self: selfAs(id) })

test('a reboot query captured for one node is refused by another: the query names its node', (t) => {
  const { q } = wire({ ask: 'reboot', target: 'n1' })
  const other = nodeCtx('n2')
  const r = ask(other, q)
  t.is(r.rule, 'confab-other-node')
  t.is(other.rebootUntil, null)
  t.like(r.answers[0], { ok: false, reason: 'names another node, not n2' })
  // An admin query naming no node is refused too; the one it names takes it.
  t.is(ask(other, wire({ ask: 'reboot', target: '' }).q).rule, 'confab-other-node')
  const mine = nodeCtx('n1')
  t.is(ask(mine, q).rule, 'confab-reboot')
  t.not(mine.rebootUntil, null)
})

test('after a restart the node refuses an admin query sent before it started, without remembering it', (t) => {
  const { q } = wire({ ask: 'candidate', target: 'n1', introduce: '127.78.0.1:23123', time: T0 + 1000 })
  const before = createContext({ ...input({ self: selfAs('n1') }), now: T0 })
  t.is(ask(before, q, T0 + 1000).rule, 'confab-candidate')
  // The same node started again 5 s later: a new machine, nothing carried over.
  const after = createContext({ ...input({ self: selfAs('n1') }), now: T0 + 5000 })
  const r = ask(after, q, T0 + 6000)
  t.is(r.rule, 'confab-before-start')
  t.false(r.out.some((e) => e.type === 'send' && e.event.type === 'info'))
  t.like(r.answers[0], { ok: false, reason: "query is older than this node's start" })
})

test('a query older or newer than the allowed skew is refused with the offset in its reason', (t) => {
  const ctx = nodeCtx('n1')
  const old = ask(ctx, wire({ ask: 'reboot', target: 'n1', time: T0 - 45_000 }).q)
  t.is(old.rule, 'confab-stale')
  t.is(old.answers[0]!.reason, "query time is 45 s behind this node's clock (allowed 30 s)")
  t.is(ask(ctx, wire({ ask: 'names', target: '', time: T0 + 31_000 }).q).rule, 'confab-stale')
  t.is(ctx.rebootUntil, null)
  t.is(ask(ctx, wire({ ask: 'reboot', target: 'n1', time: T0 - 29_000 }).q).rule, 'confab-reboot')
})

test('a repeated admin query id runs once and gets the same answer again', (t) => {
  const ctx = nodeCtx('n1')
  const { q } = wire({ ask: 'candidate', target: 'n1', introduce: '127.78.0.1:23123' })
  const pings = (out: Effect[]) => out.filter((e) => e.type === 'send' && e.event.type === 'info').length
  const first = ask(ctx, q)
  t.is(pings(first.out), 1)
  const again = ask(ctx, q, T0 + 20_000)
  t.is(again.rule, 'confab-repeat')
  t.is(pings(again.out), 0)
  t.deepEqual(again.answers, first.answers)
  // A reboot resent while the node reboots is answered ok, as the first copy was.
  const boot = wire({ ask: 'reboot', target: 'n1', nonce: 8 }).q
  t.true(ask(ctx, boot).answers[0]!.ok)
  t.true(ask(ctx, boot, T0 + 1).answers[0]!.ok)
})

test('when the admin id memory is full, new admin queries are refused until ids expire', (t) => {
  const ctx = memberCtx(node('L'), {}, { self: selfAs('n1'), config: { confabIdsMax: 3 } })
  const cand = (nonce: number, time: number) => wire({ ask: 'candidate', target: 'n1', introduce: '127.78.0.1:23123', nonce, time }).q
  for (let i = 0; i < 3; i++) t.is(ask(ctx, cand(i, T0)).rule, 'confab-candidate')
  t.is(ask(ctx, cand(9, T0)).rule, 'confab-busy')
  t.is(ask(ctx, wire({ ask: 'names', target: '' }).q).rule, 'confab-names')
  t.is(ask(ctx, cand(9, T0 + 61_000), T0 + 61_000).rule, 'confab-candidate')
})

test('an unpadded query gets no answer at all', (t) => {
  const bytes = encodeWire({ type: 'confab.query', query: { nonce: 1, ask: 'members', introduce: '', time: T0, target: '', page: 0, pad: 0 } })
  const ev = decodeWire(bytes)
  if (ev.type !== 'confab.query') return t.fail()
  const r = ask(leaderWith(['a', 'b']), ev.query)
  t.is(r.rule, 'confab-unpadded')
  t.deepEqual(r.out, [])
  // The machine cannot import the runtime: its threshold is a copy of the envelope's payload size.
  t.is(DEFAULT_FLOCK_CONFIG.confabMinBytes, MAX_ENVELOPE_PLAINTEXT)
})

test('every ask gets one answer no larger than its query, a member list of 300 page by page', (t) => {
  // Long ids, flock name and epoch: the page packing must hold near the field limits too.
  const ids = Array.from({ length: 300 }, (_, i) => `member-with-a-long-id-${'x'.repeat(38)}-${String(i).padStart(3, '0')}`)
  const ctx = leaderWith(ids, 0, { flock: 'f'.repeat(64), epoch: 'e'.repeat(64) }, { self: selfAs('n1'), steward: `127.0.0.1:${'5'.repeat(80)}` })
  const check = (fields: Parameters<typeof wire>[0]): ConfabAnswer => {
    const { q, bytes } = wire(fields)
    const r = ask(ctx, q)
    t.is(r.answers.length, 1, fields.ask)
    const size = encodeWire({ type: 'confab.answer', answer: r.answers[0]! }).length
    t.true(size <= bytes, `${fields.ask}: ${size} > ${bytes}`)
    return r.answers[0]!
  }
  const first = check({ ask: 'members', target: '' })
  t.true(first.count > 1)
  const entries = [first, ...Array.from({ length: first.count - 1 }, (_, i) => check({ ask: 'members', target: 'n1', page: i + 1 }))].flatMap((a) => a.entries)
  t.is(new Set(entries.map((e) => e.id)).size, 301)
  check({ ask: 'names', target: '' })
  check({ ask: 'dump', target: 'n1', introduce: '127.0.0.1:28351', nonce: 1 })
  check({ ask: 'candidate', target: 'n1', introduce: '127.78.0.1:23123', nonce: 2 })
  check({ ask: 'reboot', target: 'n2', nonce: 3 })
  check({ ask: 'reboot', target: 'n1', time: 0, nonce: 4 })
})
