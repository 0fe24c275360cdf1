/**
 * `/readyz`'s judgement on flock contexts built by hand: in a flock with a leader and on its list,
 * and, with gRPC on, registered with the steward the flock names now.
 */
import test from 'ava'
import { readiness } from '../../../actors/fulcrum/readiness.js'
import { suspectedMembers } from '../../../actors/fulcrum/series.js'
import { createContext, leadList } from '../../../machines/flock/context.js'
import { emptyList, entryOf, listPut } from '../../../machines/flock/member-list.js'
import type { FlockContext } from '../../../machines/flock/types.js'

const ME = { id: 'nme', addr: '10.0.0.2:23123', horde: '' }
const LEADER = { id: 'nlead', addr: '10.0.0.1:23123', horde: '' }

/** A member of flock `_f` led by LEADER, holding a list of `onList`, its leader announcing steward `steward`. */
function member(onList: Array<typeof ME>, steward = '10.0.0.1:50059'): FlockContext {
  const f = createContext({ self: { addr: ME.addr, id: ME.id }, config: {}, probe: { seeds: [], ranges: [], density: 1 }, seed: 1 })
  f.flock = '_f'
  f.leader = LEADER
  f.steward = steward
  f.list = emptyList()
  for (const n of onList) listPut(f.list, entryOf(n))
  return f
}

test('a member on its leader\'s list is ready without gRPC; one not on it yet is not', (t) => {
  t.deepEqual(readiness({ flock: member([LEADER, ME]), role: 'member' }), { ready: true })
  const r = readiness({ flock: member([LEADER]), role: 'member' })
  t.false(r.ready)
  t.regex((r as { reason: string }).reason, /not on the member list of flock _f \(leader nlead\)/)
})

test('with gRPC on, ready only once the reeve is registered with the steward the flock names now', (t) => {
  const f = member([LEADER, ME])
  t.regex((readiness({ flock: f, role: 'member', following: null }) as { reason: string }).reason, /not registered with the steward 10\.0\.0\.1:50059/)
  t.regex((readiness({ flock: f, role: 'member', following: { address: '10.0.0.7:50059' } }) as { reason: string }).reason, /registered with 10\.0\.0\.7:50059, not yet with the flock's steward 10\.0\.0\.1:50059/)
  t.deepEqual(readiness({ flock: f, role: 'member', following: { address: '10.0.0.1:50059' } }), { ready: true })
  t.regex((readiness({ flock: member([LEADER, ME], ''), role: 'member', following: null }) as { reason: string }).reason, /names no steward/)
})

test('a node that left or failed is never ready; a lone leader of its own flock is', (t) => {
  const f = member([LEADER, ME])
  t.false(readiness({ flock: f, role: 'left' }).ready)
  t.false(readiness({ flock: f, role: 'failed' }).ready)
  const alone = createContext({ self: { addr: ME.addr, id: ME.id }, config: {}, probe: { seeds: [], ranges: [], density: 1 }, seed: 1 })
  alone.flock = '_alone'
  leadList(alone, [], 0)
  t.deepEqual(readiness({ flock: alone, role: 'leader.alone' }), { ready: true })
  alone.flock = ''
  t.deepEqual(readiness({ flock: alone, role: 'leader.alone' }), { ready: false, reason: 'not in a flock yet' })
})

test('suspected members: late members on the leader, a late leader on a member', (t) => {
  const f = member([LEADER, ME])
  t.is(suspectedMembers(f), 0)
  f.leaderSuspect = 100
  t.is(suspectedMembers(f), 1)
  const lead = member([ME])
  lead.leader = ME
  lead.mems = { a: { node: LEADER, expires: 0, suspect: 5 }, b: { node: { ...LEADER, id: 'b' }, expires: 0, suspect: null } }
  t.is(suspectedMembers(lead), 1)
})
