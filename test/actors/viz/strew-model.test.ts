/**
 * The visualiser's model of strew, from journals of real fulcrums (test/fixtures/strew-journals.ts):
 * the leader's steward active under a term, the member following it under that term, the service
 * registered at the member counted in both reeves' catalogs and in the member's heartbeater, one
 * change kept only when something shown changed; strew actors named by the node's id are joined to
 * the node whose flock has that id; a simulator trace without strew has none.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildTimeline, type VizNode } from '../../../actors/viz/model.js'
import type { StrewTimeline } from '../../../actors/viz/strew-model.js'
import { readLines } from '../../../runtime/replayer.js'
import { strewJournals } from '../../fixtures/strew-journals.js'

type Row = Array<string | number>
/** The change of machine `m` of `n` in force at `t` (as the page finds it). */
const at = (n: VizNode, m: keyof StrewTimeline, t: number): Row => (n.strew![m]! as Row[]).filter((c) => (c[0] as number) <= t).at(-1)!
/** When `n`'s reeve first held the registered service in its catalog, beside both nodes' pastiche and picket (muster) entries. */
const held = (n: VizNode): number => (n.strew!.reeve!.find((c) => c[4] === 5) ?? [NaN])[0]

test("fulcrum journals: the leader's steward active with a term, the member following it, the registered service in both reeves' catalogs", async (t) => {
  t.timeout(120_000)
  const j = await strewJournals(t, ['127.77.242.1', '127.77.242.2'], 23241, '127.77.242.0/29')
  const leader = buildTimeline(readLines(j.leader))
  const member = buildTimeline(readLines(j.member))
  t.false(leader.diverged)
  t.false(member.diverged)
  t.is(leader.nodes.length, 1)
  t.is(member.nodes.length, 1)
  const L = leader.nodes[0]!
  const M = member.nodes[0]!
  t.truthy(L.changes.length, 'the flock is still drawn')
  for (const n of [L, M]) t.deepEqual(Object.keys(n.strew!).sort(), ['follower', 'heartbeater', 'reeve', 'registry', 'steward'])
  // Looked at when each reeve got the service (when the fulcrums stop, the member leaves first and
  // the leader's steward retires its endpoints, as it should).
  const tL = held(L)
  const tM = held(M)
  t.true(tL > 0 && tM > 0, 'both reeves held the service in their catalogs')

  // The leader: its steward started idle, then active under a term, with the service and both reeves.
  t.is(L.strew!.steward![0]![2], 'idle')
  const [, , state, term, version, endpoints, reeves] = at(L, 'steward', tL)
  t.is(state, 'active')
  t.true(typeof term === 'number' && term >= leader.t0 && term <= leader.t1, `term ${term} is a time of the run`)
  t.true((version as number) >= 1)
  t.is(endpoints, 5, "the registered service and both nodes' pastiche and picket entries are in the catalog")
  t.is(reeves, 2, 'both nodes forward to it')
  t.deepEqual(at(L, 'follower', tL).slice(2, 6), ['leading', 'following', j.grpc[0], term])
  t.deepEqual(at(L, 'registry', tL).slice(2, 4), ['active', term])
  t.true((at(L, 'registry', tL)[4] as number) >= 2, 'both nodes whitelisted')

  // The member: its steward idle (it may have led alone for a moment while the flock formed, under a
  // term of its own), and it follows the leader's steward under the leader's term.
  t.is(at(M, 'steward', tM)[2], 'idle')
  t.is(at(M, 'registry', tM)[2], 'idle')
  t.true(M.strew!.steward!.every((c) => c[3] !== term))
  const follows = at(M, 'follower', tM)
  t.deepEqual(follows.slice(2, 6), ['notLeading', 'following', j.grpc[0], term])
  t.true(M.strew!.follower!.some((c) => c[3].startsWith('registering')), 'it registered before following')
  t.is(member.strewCauses![follows[6] as number], 'registry.done')

  // Both reeves hold the service in their pushed catalogs; it is local to the member, kept by beats.
  for (const [n, when] of [[L, tL], [M, tM]] as const) t.true((at(n, 'reeve', when)[3] as number) >= 1, `${n.node}: catalog v${at(n, 'reeve', when)[3]}`)
  t.is(at(M, 'reeve', tM)[5], 3, 'the service, its pastiche and its picket')
  t.is(at(L, 'reeve', tL)[5], 2, 'its pastiche and its picket')
  t.deepEqual(at(M, 'heartbeater', tM).slice(2, 4), [1, 1])
  t.deepEqual(at(L, 'heartbeater', tL).slice(2, 4), [0, 0])

  // Compact: a change only when something shown changed, in time order.
  for (const n of [L, M])
    for (const list of Object.values(n.strew!) as Row[][])
      for (let i = 1; i < list.length; i++) {
        t.notDeepEqual(list[i]!.slice(2, -1), list[i - 1]!.slice(2, -1))
        t.true(list[i]![0]! >= list[i - 1]![0]!)
      }
  t.deepEqual([...new Set(leader.strewCauses)], leader.strewCauses, 'each cause written once')
  t.true(leader.strewCauses!.includes('steward.lead') && leader.strewCauses!.includes('endpoints.update'))
  t.true(JSON.stringify(L.strew).length < 4000, `the leader's strew is ${JSON.stringify(L.strew).length} characters`)

  // Named as the simulator names them (n0/flock beside <id>/reeve): the strew is joined to the node by its id.
  const renamed = readFileSync(j.member, 'utf8').split('\n').map((line) => line.replace(`"actor":"${M.node}/flock"`, '"actor":"n0/flock"'))
  const sim = buildTimeline(renamed.filter((l) => l !== ''))
  t.false(sim.diverged)
  t.deepEqual(sim.nodes.map((n) => [n.node, n.id]), [['n0', M.id]])
  t.deepEqual(sim.nodes[0]!.strew, M.strew)
})

test('a simulator trace without strew actors has no strew timeline', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-viz-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const trace = join(dir, 'run.ndjson')
  const sim = spawnSync(process.execPath, ['dist/bin/crux.js', 'sim', '--nodes', '4', '--seed', '3', '--until-hb', '10', '--trace', trace], { encoding: 'utf8' })
  t.is(sim.status, 0, sim.stderr)
  const tl = buildTimeline(readLines(trace))
  t.is(tl.nodes.length, 4)
  t.true(tl.nodes.every((n) => n.strew === undefined && n.changes.length > 0))
  t.false('strewCauses' in tl)
})
