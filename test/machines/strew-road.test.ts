/**
 * The strew machines of three nodes together on actor hosts and a virtual clock (test/machines/
 * strew-testnet.ts stands in for the road): the leader's steward starts after the settle window, every
 * node registers with it (two factors) and its services reach every catalog; a node the flock drops
 * has its services retired at once, and they come back; a steward change keeps every live service;
 * heartbeat-kept registrations survive a restart.
 */
import test from 'ava'
import { strewNet } from './strew-testnet.js'

const HB = 500
const ep = (node: string, svc = 'Pastiche') => ({
  nodeId: `/b/h1/${node}/${svc}/${svc}1`, netId: `/${svc}1_0/${node}/net/${node}:5000`, horde: 'h1', api: `${svc}1`, instance: node, address: `${node}:5000`, state: 'up' as const, keyId: '',
})

function formed() {
  const net = strewNet(['n1', 'n2', 'n3'], { hbMs: HB })
  net.flock('n1', ['n1', 'n2', 'n3'])
  return net
}

test('the steward starts after the settle window, not before; every node registers with it and follows it', (t) => {
  const net = formed()
  net.clock.advance(2 * HB - 10)
  t.is(net.state('n1', 'steward').value, 'idle', 'not before the window')
  const took = net.until(() => ['n1', 'n2', 'n3'].every((n) => JSON.stringify(net.state(n, 'follower').value).includes('following')), 2 * HB)
  t.not(took, null)
  t.is(net.state('n1', 'steward').value, 'active')
  t.is(net.state('n1', 'registry').value, 'active')
  for (const n of ['n1', 'n2', 'n3']) t.is(net.state(n, 'reeve').value, 'idle', `${n}'s reeve forwarded everything`)
  t.deepEqual([...net.node('n1').store.keys()].filter((k) => k.includes('whitelist/')).length, 3, 'three keys on the steward’s whitelist')
})

test('a service registered at one node is in every catalog within 2 HB', (t) => {
  const net = formed()
  net.until(() => net.state('n3', 'reeve').value === 'idle' && net.state('n2', 'reeve').value === 'idle', 4 * HB)
  net.local('n2', 'reeve', { type: 'reeve.register', endpoint: ep('n2') })
  const took = net.until(() => ['n1', 'n2', 'n3'].every((n) => net.catalog(n).includes(ep('n2').nodeId)), 2 * HB)
  t.not(took, null)
  t.log(`visible everywhere after ${took} ms`)
  t.deepEqual(net.node('n2').edge.map((e) => e.type), ['reeve.registered'])
  t.is(net.node('n2').health.get(ep('n2').nodeId), 'SERVING')
})

test("a node the flock drops has its services retired from every catalog at once; once it is back, they return", (t) => {
  const net = formed()
  net.until(() => net.state('n2', 'reeve').value === 'idle', 4 * HB)
  net.local('n2', 'reeve', { type: 'reeve.register', endpoint: ep('n2') })
  net.until(() => net.catalog('n3').includes(ep('n2').nodeId), 2 * HB)
  // n2 becomes unreachable; the flock drops it.
  net.down('n2')
  net.flock('n1', ['n1', 'n3'])
  const retired = net.until(() => !net.catalog('n1').includes(ep('n2').nodeId) && !net.catalog('n3').includes(ep('n2').nodeId), HB)
  t.not(retired, null, 'within 1 HB of the flock dropping it')
  t.log(`retired after ${retired} ms`)
  // It was only unreachable: back in the flock, its quiet reeve is told (the whole catalog lacks its
  // services) and sends everything again.
  net.up('n2')
  net.flock('n1', ['n1', 'n2', 'n3'])
  const back = net.until(() => net.catalog('n3').includes(ep('n2').nodeId), 4 * HB)
  t.not(back, null)
  t.log(`back after ${back} ms`)
})

test('a steward change: the new leader’s steward is rebuilt from the reeves’ full re-sends, under a higher term; no live service is lost', (t) => {
  const net = formed()
  net.until(() => net.state('n3', 'reeve').value === 'idle', 4 * HB)
  for (const n of ['n1', 'n2', 'n3']) net.local(n, 'reeve', { type: 'reeve.register', endpoint: ep(n) })
  net.until(() => net.catalog('n3').length === 3, 2 * HB)
  const oldTerm = (net.state('n1', 'steward').context as { term: number }).term
  net.down('n1')
  net.flock('n2', ['n2', 'n3'])
  const took = net.until(() => net.state('n2', 'steward').value === 'active' && net.catalog('n3').length === 2 && (net.state('n3', 'reeve').context as { catalog: { term: number } }).catalog.term > oldTerm, 6 * HB)
  t.not(took, null)
  t.deepEqual(net.catalog('n3'), [ep('n2').nodeId, ep('n3').nodeId])
  t.true((net.state('n2', 'steward').context as { term: number }).term > oldTerm)
})

test('a heartbeat-kept registration survives a restart: restored, kept up for one more hold, then judged by its beats', (t) => {
  const net = strewNet(['n1'], { hbMs: HB })
  net.flock('n1', ['n1'])
  net.until(() => net.state('n1', 'reeve').value === 'idle' && net.state('n1', 'steward').value === 'active', 4 * HB)
  net.local('n1', 'reeve', { type: 'reeve.register', endpoint: ep('n1'), heartbeat: { uuid: 'u1', holdMs: 3_000 } })
  net.until(() => net.catalog('n1').length === 1, 2 * HB)
  t.deepEqual([...net.node('n1').store.keys()].filter((k) => k.includes('beat/')), ['n1/heartbeater beat/u1'])
  net.restart('n1')
  net.flock('n1', ['n1'])
  net.clock.advance(10)
  t.deepEqual(Object.keys((net.state('n1', 'heartbeater').context as { services: object }).services), ['u1'], 'restored from what was persisted')
  t.is(net.node('n1').health.get(ep('n1').nodeId), 'SERVING')
  net.clock.advance(2_000)
  net.local('n1', 'heartbeater', { type: 'heartbeat.beats', beats: [{ uuid: 'u1', state: 'up', netId: '', atMs: 0, expiresMs: 3_000, various: '' }] })
  net.clock.advance(10)
  t.deepEqual(net.node('n1').edge.map((e) => e.type).slice(-1), ['heartbeat.ok'])
  net.clock.advance(2_900)
  t.is(net.node('n1').health.get(ep('n1').nodeId), 'SERVING', 'the beat held it')
  const down = net.until(() => net.node('n1').health.get(ep('n1').nodeId) === 'NOT_SERVING', 200, 1)
  t.not(down, null, 'down when the beat lapses')
  net.until(() => (net.state('n1', 'reeve').context as { catalog: { endpoints: Record<string, { state: string }> } }).catalog.endpoints[ep('n1').nodeId]?.state === 'down', 2 * HB)
  t.is((net.state('n1', 'reeve').context as { catalog: { endpoints: Record<string, { state: string }> } }).catalog.endpoints[ep('n1').nodeId]!.state, 'down', 'and in the catalog')
})
