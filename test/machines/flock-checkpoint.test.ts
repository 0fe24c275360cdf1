/**
 * The checkpoint (original bug 2: never persisted): what a node persists, and that a node restarted
 * from it keeps its identity and probes the nodes it knew first, so it rejoins its flock fast.
 */
import test from 'ava'
import { checkpoint, createContext } from '../../machines/flock/context.js'
import { onProbe } from '../../machines/flock/ticks.js'
import type { Effect } from '../../machines/effects.js'
import type { FlockCheckpoint } from '../../machines/flock/types.js'
import { HB, input, memberCtx, node } from '../fixtures/flock-fixtures.js'

test('the persisted checkpoint names the node, its flock, its leader and recent history', (t) => {
  const ctx = memberCtx(node('L'))
  ctx.history['h1'] = node('h1')
  ctx.historyOrder.push('h1')
  const out: Effect[] = []
  checkpoint(ctx, out)
  const p = out.find((e) => e.type === 'persist')
  t.truthy(p)
  if (p?.type !== 'persist') return
  t.is(p.key, 'checkpoint')
  const v = p.value as FlockCheckpoint
  t.is(v.id, ctx.me.id)
  t.is(v.flock, ctx.flock)
  t.is(v.leader?.id, 'L')
  t.deepEqual(v.history.map((h) => h.id), ['h1'])
})

test('a node restarted from its checkpoint keeps its id and remembers the nodes it knew', (t) => {
  const cp: FlockCheckpoint = { id: 'kept-id', flock: '_old', leader: node('L'), history: [node('a'), node('b')] }
  const ctx = createContext({ ...input(), checkpoint: cp })
  t.is(ctx.me.id, 'kept-id')
  t.deepEqual(Object.keys(ctx.history).sort(), ['L', 'a', 'b'])
})

test('its first probe round goes to a node from the checkpoint', (t) => {
  const cp: FlockCheckpoint = { id: 'kept-id', flock: '_old', leader: node('L'), history: [node('a')] }
  const ctx = createContext({ ...input({ probe: { seeds: [], ranges: [], density: 1 } }), checkpoint: cp })
  const out: Effect[] = []
  onProbe(ctx, 5 * HB, out)
  const targets = out.filter((e) => e.type === 'send').map((e) => (e.type === 'send' ? e.to : ''))
  t.true(targets.length >= 1)
  t.true(targets.every((to) => to === 'addr-a' || to === 'addr-L'), targets.join(','))
})
