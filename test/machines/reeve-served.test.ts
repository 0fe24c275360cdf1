/**
 * What a reeve serves: the pushed catalog without the endpoints of nodes its own flock no longer lists
 * (liveness is the local flock view's), the same for lookups, watches and the simulator's checker;
 * nothing left out before the flock's list is known; the follower tells the reeve the node set.
 */
import test from 'ava'
import { followerLogic } from '../../machines/follower.machine.js'
import { reeveLogic } from '../../machines/reeve.machine.js'
import { isServed, listedOf, nodeOfEndpoint, servedCatalog, servedChanges } from '../../machines/reeve/served.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import type { Member } from '../../machines/strew/events.js'
import { strewViewOf } from '../../actors/sim/strew-views.js'
import { visibleIn } from '../../actors/strew/reads.js'
import { sent, stepper } from './strew-harness.js'

const FP = 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99'
const KEY = `/Reeve1_0/r1/keys/${FP}`
const STEWARD = `/Steward1_0/s1/keys/${FP}`
const ep = (node: string, svc: string): CatalogEndpoint => ({
  nodeId: `/b/h1/${node}/${svc}/${svc}1`, netId: `/${svc}1_0/${node}/net/${node}:5000`, horde: 'h1', api: `${svc}1`, instance: svc, address: `${node}:5000`, state: 'up', keyId: '/Pastiche1_0/*/keys/*',
})
const ids = (es: CatalogEndpoint[]) => es.map((e) => e.nodeId.split('/')[3] + '.' + e.instance).sort()

test('the filter: nothing left out while unknown; a node not listed has its endpoints left out; the term and version stay', (t) => {
  const cat = { term: 7, version: 3, rules: [], endpoints: Object.fromEntries([ep('r1', 'A'), ep('n2', 'B'), ep('n3', 'C')].map((e) => [e.nodeId, e])) }
  t.is(servedCatalog(cat, null), cat)
  const s = servedCatalog(cat, listedOf(['r1', 'n3']))
  t.deepEqual([s.term, s.version, ids(Object.values(s.endpoints))], [7, 3, ['n3.C', 'r1.A']])
  t.deepEqual(Object.keys(cat.endpoints).length, 3, 'the held catalog is left as pushed')
  t.deepEqual(servedChanges(cat, listedOf(['r1', 'n2', 'n3']), listedOf(['r1', 'n3'])), [ep('n2', 'B').nodeId])
  t.deepEqual(servedChanges(cat, null, listedOf(['r1'])), [ep('n2', 'B').nodeId, ep('n3', 'C').nodeId].sort())
  t.true(isServed(listedOf([]), 'not a NodeID'), 'an endpoint that names no node is not left out')
})

function reeve() {
  const s = stepper(reeveLogic, { node: 'r1', reeve: '/b/h1/r1/Reeve/Reeve1', address: 'r1:50059', horde: 'h1', keyId: KEY, now: 0 })
  s.send({ type: 'reeve.steward', address: 's1:50059', term: 1, keyId: STEWARD, key: 'a2V5' })
  s.send({ type: 'catalog.push', id: 1, from: 'reply:1', caller: STEWARD, term: 1, version: 4, full: true, base: 0, endpoints: [ep('r1', 'A'), ep('n2', 'B'), ep('n3', 'C')], remove: [], rules: [] })
  return s
}

test('the reeve: a node the flock drops stops being served — lookups, watches and the checker alike — and is served again when listed', (t) => {
  const r = reeve()
  r.send({ type: 'catalog.watch', id: 5, from: 'reply:5', caller: KEY })
  const drop = r.send({ type: 'reeve.members', nodes: ['n3', 'r1'] })
  t.deepEqual(sent(drop, 'catalog.delta', 'reply:5'), [{ type: 'catalog.delta', id: 5, endpoints: [], removed: [ep('n2', 'B').nodeId], version: 4 }])
  const c = r.context()
  t.deepEqual([c.catalog.version, Object.keys(c.catalog.endpoints).length], [4, 3], 'the pushed catalog is unchanged')
  t.deepEqual(ids(visibleIn(servedCatalog(c.catalog, c.listed), { nodeId: '', api: '' })), ['n3.C', 'r1.A'])
  t.deepEqual(ids(visibleIn(c.catalog, { nodeId: '', api: '' }, c.listed)), ['n3.C', 'r1.A'], 'as GetCatalog reads it')
  t.deepEqual(visibleIn(c.catalog, { nodeId: '', api: '', endpoint: ep('n2', 'B').nodeId }, c.listed), [], 'a lookup of a dropped node\'s endpoint finds nothing')
  t.deepEqual(ids(visibleIn(c.catalog, { nodeId: '', api: '', endpoint: ep('n3', 'C').nodeId }, c.listed)), ['n3.C'])
  const view = strewViewOf('r1', c, undefined, undefined)
  const shown = Object.keys(view.catalog!.endpoints).filter((id) => view.catalog!.hides?.(id) !== true)
  t.deepEqual([shown.length, view.catalog!.version, view.catalog!.served, view.listed], [2, 4, 1, true])
  // A new watch gets a snapshot of what is served.
  const snap = sent(r.send({ type: 'catalog.watch', id: 6, from: 'reply:6', caller: KEY }), 'catalog.snapshot')
  t.deepEqual(ids(snap[0]!.endpoints), ['n3.C', 'r1.A'])
  // A push while n2 is not listed: its endpoints stay out of the watchers' deltas.
  const push = r.send({ type: 'catalog.push', id: 2, from: 'reply:2', caller: STEWARD, term: 1, version: 5, full: false, base: 4, endpoints: [{ ...ep('n2', 'B'), state: 'down' }], remove: [], rules: [] })
  t.deepEqual(sent(push, 'catalog.delta', 'reply:5').map((d) => [d.endpoints.length, d.removed]), [[0, [ep('n2', 'B').nodeId]]])
  const back = r.send({ type: 'reeve.members', nodes: ['n2', 'n3', 'r1'] })
  t.deepEqual(sent(back, 'catalog.delta', 'reply:5').map((d) => [ids(d.endpoints), d.removed, d.version]), [[['n2.B'], [], 5]])
  t.deepEqual(sent(r.send({ type: 'reeve.members', nodes: ['n2', 'n3', 'r1', 'n9'] }), 'catalog.delta'), [], 'a node with no endpoints changes nothing served')
})

test('the reeve: before the flock list is known, and when it is not held, nothing is left out', (t) => {
  const r = reeve()
  const c = r.context()
  t.is(c.listed, null)
  t.is(Object.keys(servedCatalog(c.catalog, c.listed).endpoints).length, 3)
  r.send({ type: 'reeve.members', nodes: ['r1'] })
  r.send({ type: 'reeve.members', nodes: null })
  t.is(Object.keys(servedCatalog(r.context().catalog, r.context().listed).endpoints).length, 3)
})

test('the follower: tells the reeve the node set when it changes; a list without itself (being copied) keeps the last; no list held: null', (t) => {
  const f = stepper(followerLogic, { node: 'me', nodeId: '/b/h1/me/Reeve/Reeve1', netId: '/Reeve1_0/me/net/10.0.0.5:50059', publicKey: 'a2V5', hbMs: 500, now: 0 })
  const m = (...nodes: string[]): Member[] => nodes.map((node) => ({ node, host: node }))
  const view = (members: Member[], o: { leading?: boolean; listHeld?: boolean } = {}) =>
    sent(f.send({ type: 'flock.view', leading: o.leading ?? false, leader: 'L', steward: 'L:50059', members, ...('listHeld' in o ? (o.listHeld === undefined ? {} : { listHeld: o.listHeld }) : { listHeld: true }) }), 'reeve.members', 'me/reeve').map((e) => e.nodes)
  t.deepEqual(view(m('L', 'me', 'x')), [['L', 'me', 'x']])
  t.deepEqual(view(m('x', 'me', 'L')), [], 'the same set')
  t.deepEqual(view(m('L', 'me')), [['L', 'me']])
  t.deepEqual(view([]), [], 'a copy started afresh: the last set stays')
  t.deepEqual(view(m('y')), [])
  t.deepEqual(view(m('me', 'y')), [['me', 'y']])
  t.deepEqual(view([], { listHeld: false }), [null], 'a member that copies no list')
  t.deepEqual(view(m('me', 'z'), { leading: true, listHeld: undefined }), [['me', 'z']], 'an older view without listHeld: the leader holds its list')
})

test('the node of an endpoint: the third field of a five-field NodeID, else none', (t) => {
  t.is(nodeOfEndpoint('/b/h1/n2/Svc/Api'), 'n2')
  t.is(nodeOfEndpoint('/b/h1/n2//'), 'n2')
  for (const bad of ['', 'b/h1/n2/S/A', '/b/h1/n2/S', '/b/h1/n2/S/A/x', '/b/h1//S/A']) t.is(nodeOfEndpoint(bad), null, bad)
})
