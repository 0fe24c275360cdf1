/**
 * The flock view a follower gets: the member list whenever this node holds one (the leader, or a
 * member copying it), so its reeve serves only listed nodes; a new view when a member's copy changes.
 */
import test from 'ava'
import { createFlockViewFeed, flockViewOf } from '../../../actors/strew/flock-view.js'
import { listPut } from '../../../machines/flock/member-list.js'
import { memberCtx, node } from '../../fixtures/flock-fixtures.js'

test('a member that copies the list gets it in its view, and a new view when the copy changes; one that copies none does not', (t) => {
  const ctx = memberCtx(node('L'))
  listPut(ctx.list, { id: 'L', addr: '127.78.1.1:7000', horde: '' })
  listPut(ctx.list, { id: ctx.me.id, addr: '127.78.1.2:7000', horde: '' })
  ctx.list.version = 2
  const feed = createFlockViewFeed()
  const v = feed.next(ctx)!
  t.deepEqual([v.leading, v.listHeld, v.members.map((m) => m.node).sort()], [false, true, ['L', ctx.me.id].sort()])
  t.deepEqual(v.members.find((m) => m.node === 'L'), { node: 'L', host: '127.78.1.1' })
  t.is(feed.next(ctx), null, 'nothing changed')
  listPut(ctx.list, { id: 'x', addr: '127.78.1.3:7000', horde: '' })
  ctx.list.version = 3
  t.deepEqual(feed.next(ctx)?.members.map((m) => m.node).sort(), ['L', ctx.me.id, 'x'].sort())
  ctx.cfg = { ...ctx.cfg, listSync: false }
  const none = flockViewOf(ctx)
  t.deepEqual([none.listHeld, none.members], [false, []])
})

test('the view names the leader the node gave up on, until it speaks again; a new view when that changes', (t) => {
  const ctx = memberCtx(node('M'))
  const feed = createFlockViewFeed()
  t.is(feed.next(ctx)!.lost, undefined)
  ctx.lost = { id: 'L', until: 9_000 }
  t.deepEqual(feed.next(ctx)?.lost, { node: 'L', until: 9_000 })
  t.is(feed.next(ctx), null, 'nothing changed')
  ctx.lost = { id: '', until: 0 }
  t.is(feed.next(ctx)!.lost, undefined)
})
