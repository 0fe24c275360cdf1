import test from 'ava'
import type { Effect } from '../../machines/effects.js'
import { answerConfab } from '../../machines/flock/confab.js'
import type { ConfabAnswer } from '../../machines/flock/types.js'
import { HB, leaderWith, memberCtx, node } from '../fixtures/flock-fixtures.js'

const answers = (out: Effect[]): ConfabAnswer[] =>
  out.flatMap((e) => (e.type === 'send' && e.event.type === 'confab.answer' ? [e.event.answer as ConfabAnswer] : []))

test('names: the flock, leader, member count and epoch, sent back to the asker with its nonce', (t) => {
  const ctx = leaderWith(['a', 'b'])
  const out: Effect[] = []
  t.is(answerConfab(ctx, { nonce: 9, ask: 'names', introduce: '' }, 'asker:1', HB, 'leader.forming', out), 'confab-names')
  const sent = out.filter((e) => e.type === 'send')
  t.is(sent.length, 1)
  t.is(sent[0]!.type === 'send' ? sent[0]!.to : '', 'asker:1')
  t.like(answers(out)[0], { nonce: 9, flock: ctx.flock, members: 3, epoch: ctx.epoch, role: 'leader.forming', count: 1, ok: true })
})

test('members: the whole list in pages, each naming its index and the page count', (t) => {
  const ids = Array.from({ length: 100 }, (_, i) => `member-${String(i).padStart(3, '0')}`)
  const ctx = leaderWith(ids)
  const out: Effect[] = []
  answerConfab(ctx, { nonce: 1, ask: 'members', introduce: '' }, 'asker:1', HB, 'leader.forming', out)
  const pages = answers(out)
  t.true(pages.length > 1)
  t.true(pages.every((p, i) => p.index === i && p.count === pages.length && p.entries.length <= 64))
  t.is(pages.flatMap((p) => p.entries).length, 101)
})

test('reboot: answered, then the node reboots; a second reboot is refused while rebooting', (t) => {
  const ctx = memberCtx(node('L'))
  const out: Effect[] = []
  answerConfab(ctx, { nonce: 1, ask: 'reboot', introduce: '' }, 'asker:1', HB, 'member.following', out)
  t.true(answers(out)[0]!.ok)
  t.not(ctx.rebootUntil, null)
  const again: Effect[] = []
  answerConfab(ctx, { nonce: 2, ask: 'reboot', introduce: '' }, 'asker:1', HB, 'rebooting', again)
  t.false(answers(again)[0]!.ok)
})

test('candidate: the node pings the introduced address; without one it refuses', (t) => {
  const ctx = memberCtx(node('L'))
  const out: Effect[] = []
  answerConfab(ctx, { nonce: 1, ask: 'candidate', introduce: '127.78.0.1:23123' }, 'asker:1', HB, 'member.following', out)
  t.true(out.some((e) => e.type === 'send' && e.to === '127.78.0.1:23123' && e.event.type === 'info'))
  t.true(answers(out)[0]!.ok)
  const none: Effect[] = []
  answerConfab(ctx, { nonce: 1, ask: 'candidate', introduce: '' }, 'asker:1', HB, 'member.following', none)
  t.false(answers(none)[0]!.ok)
})
