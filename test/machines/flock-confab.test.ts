import test from 'ava'
import type { Effect } from '../../machines/effects.js'
import { answerConfab } from '../../machines/flock/confab.js'
import type { ConfabAnswer, ConfabQuery, FlockContext } from '../../machines/flock/types.js'
import { HB, leaderWith, memberCtx, node } from '../fixtures/flock-fixtures.js'

/** A query to `ctx`, sent at HB and padded to a full envelope payload (flock-confab-replay tests the checks). */
const q = (ctx: FlockContext, f: Partial<ConfabQuery> & Pick<ConfabQuery, 'nonce' | 'ask'>): ConfabQuery => ({
  introduce: '',
  time: HB,
  target: ctx.me.id,
  page: 0,
  pad: 0,
  size: 1370,
  ...f,
})

const answers = (out: Effect[]): ConfabAnswer[] =>
  out.flatMap((e) => (e.type === 'send' && e.event.type === 'confab.answer' ? [e.event.answer as ConfabAnswer] : []))

test('names: the flock, leader, member count and epoch, sent back to the asker with its nonce', (t) => {
  const ctx = leaderWith(['a', 'b'])
  const out: Effect[] = []
  t.is(answerConfab(ctx, q(ctx, { nonce: 9, ask: 'names' }), 'asker:1', HB, 'leader.forming', out), 'confab-names')
  const sent = out.filter((e) => e.type === 'send')
  t.is(sent.length, 1)
  t.is(sent[0]!.type === 'send' ? sent[0]!.to : '', 'asker:1')
  t.like(answers(out)[0], { nonce: 9, flock: ctx.flock, members: 3, epoch: ctx.epoch, role: 'leader.forming', count: 1, ok: true })
})

test('members: the whole list in pages, one per query, each naming its index and the page count', (t) => {
  const ids = Array.from({ length: 100 }, (_, i) => `member-${String(i).padStart(3, '0')}`)
  const ctx = leaderWith(ids)
  const page = (n: number): ConfabAnswer[] => {
    const out: Effect[] = []
    answerConfab(ctx, q(ctx, { nonce: 1, ask: 'members', page: n }), 'asker:1', HB, 'leader.forming', out)
    return answers(out)
  }
  const [first] = page(0)
  const pages = Array.from({ length: first!.count }, (_, i) => page(i)[0]!)
  t.true(pages.length > 1)
  t.true(pages.every((p, i) => p.index === i && p.count === pages.length && p.entries.length <= 64))
  t.is(pages.flatMap((p) => p.entries).length, 101)
})

test('reboot: answered, then the node reboots; a second reboot is refused while rebooting', (t) => {
  const ctx = memberCtx(node('L'))
  const out: Effect[] = []
  answerConfab(ctx, q(ctx, { nonce: 1, ask: 'reboot' }), 'asker:1', HB, 'member.following', out)
  t.true(answers(out)[0]!.ok)
  t.not(ctx.rebootUntil, null)
  const again: Effect[] = []
  answerConfab(ctx, q(ctx, { nonce: 2, ask: 'reboot' }), 'asker:1', HB, 'rebooting', again)
  t.false(answers(again)[0]!.ok)
})

test('candidate: the node pings the introduced address; without one it refuses', (t) => {
  const ctx = memberCtx(node('L'))
  const out: Effect[] = []
  answerConfab(ctx, q(ctx, { nonce: 1, ask: 'candidate', introduce: '127.78.0.1:23123' }), 'asker:1', HB, 'member.following', out)
  t.true(out.some((e) => e.type === 'send' && e.to === '127.78.0.1:23123' && e.event.type === 'info'))
  t.true(answers(out)[0]!.ok)
  const none: Effect[] = []
  answerConfab(ctx, q(ctx, { nonce: 2, ask: 'candidate' }), 'asker:1', HB, 'member.following', none)
  t.false(answers(none)[0]!.ok)
})
