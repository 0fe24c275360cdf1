/**
 * The flock's steward, registry and yurt (original-crux.md §2.4's Info fields): a member announces its
 * leader's; a leader announces its own — also a member that comes to lead (the original went on
 * naming the old leader's steward).
 */
import test from 'ava'
import { makeInfo, servicesOf, startOver } from '../../machines/flock/context.js'
import { receive } from '../../machines/flock/receive.js'
import { BIGGER, info, leaderWith, node } from '../fixtures/flock-fixtures.js'

const NOW = 10_000
const OWN = { steward: 'me:7001', registry: 'me:7002', yurt: '' }

test('a leader announces its own steward and registry', (t) => {
  const ctx = leaderWith(['a'], 0, {}, { steward: OWN.steward, registry: OWN.registry })
  t.deepEqual(servicesOf(ctx), OWN)
  const i = makeInfo(ctx, 'leader-beat', node('a'), NOW)
  t.is(i.steward, OWN.steward)
  t.is(i.registry, OWN.registry)
})

test('a member announces its leader’s steward, and its own again once it leads', (t) => {
  const ctx = leaderWith(['a'], 0, {}, { steward: OWN.steward, registry: OWN.registry })
  receive(ctx, info({ flock: BIGGER, leader: node('L'), lvote: 600, vote: 100, steward: 'L:7001', registry: 'L:7002' }), NOW, [])
  t.is(ctx.leader.id, 'L')
  t.deepEqual(servicesOf(ctx), { steward: 'L:7001', registry: 'L:7002', yurt: '' })
  t.is(makeInfo(ctx, 'beat', node('L'), NOW).steward, 'L:7001')
  startOver(ctx, [], NOW + 1, 'leader-lapsed')
  t.deepEqual(servicesOf(ctx), OWN)
  t.is(makeInfo(ctx, 'leader-beat', node('a'), NOW + 1).steward, OWN.steward)
})
